"""What every host service shares: the plugin it acts for, and the steps around each call.

A call about an issue opens a transaction, loads the company's issue (``Issue not found`` for a
missing or foreign one), checks the actor the plugin names, and, for a write, records the
plugin-attributed activity row in the same transaction. ``Binding`` does those steps once for
every service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from core.activity import Actor, plugin_attribution, record_activity
from core.errors import InvalidInput, NotFound, Unprocessable
from core.event_bus import EventBus
from core.host_services.params import IssueRef
from core.ids import optional_uuid
from core.issues import require_issue
from core.unit_of_work import UnitOfWork, read, write
from db import Database, tables
from db.types import UUID

#: The company of a named agent, and the company and agent of a named run, in one query.
_ACTOR_LOOKUP = sa.select(
    sa.select(tables.agents.c.company_id)
    .where(tables.agents.c.id == sa.bindparam("agent", type_=UUID()))
    .scalar_subquery()
    .label("a"),
    sa.select(tables.heartbeat_runs.c.company_id)
    .where(tables.heartbeat_runs.c.id == sa.bindparam("run", type_=UUID()))
    .scalar_subquery()
    .label("rc"),
    sa.select(tables.heartbeat_runs.c.agent_id)
    .where(tables.heartbeat_runs.c.id == sa.bindparam("run", type_=UUID()))
    .scalar_subquery()
    .label("ra"),
)


@dataclass(frozen=True)
class PluginIdentity:
    """The plugin a set of services acts for: its record id and its key (manifest id)."""

    plugin_id: str
    plugin_key: str

    @property
    def origin_kind(self) -> str:
        """The origin kind of issues this plugin creates: ``plugin:<key>``."""
        return f"plugin:{self.plugin_key}"

    def normalize_origin_kind(self, value: Any) -> str:
        """Upstream's namespace rule: ``plugin:<key>`` or ``plugin:<key>:<anything>`` only."""
        if value is None or value == "":
            return self.origin_kind
        if not isinstance(value, str):
            raise InvalidInput("Plugin issue originKind must be a string")
        if value == self.origin_kind or value.startswith(f"{self.origin_kind}:"):
            return value
        raise InvalidInput(f"Plugin may only use originKind values under {self.origin_kind}")


@dataclass(frozen=True)
class IssueWrite:
    """A write transaction about one issue: the unit, the issue row (locked) and the actor."""

    unit: UnitOfWork
    issue: Mapping[str, Any]
    actor: Actor


class Binding:
    """One plugin's host: its database, its event bus (None publishes nothing) and identity."""

    def __init__(self, db: Database, identity: PluginIdentity, bus: EventBus | None) -> None:
        self.db = db
        self.identity = identity
        self.bus = bus

    @asynccontextmanager
    async def reading_issue(
        self, params: IssueRef
    ) -> AsyncIterator[tuple[UnitOfWork, Mapping[str, Any]]]:
        """A read transaction with the company's issue loaded."""
        async with read(self.db) as unit:
            yield unit, await require_issue(unit, params.company_id, params.issue_id)

    @asynccontextmanager
    async def writing_issue(
        self, params: IssueRef, *, actor: Actor | None = None, lock: bool = True
    ) -> AsyncIterator[IssueWrite]:
        """A write transaction with the company's issue loaded (and row-locked), then the actor
        the plugin names checked, in upstream's order."""
        async with write(self.db, self.bus) as unit:
            issue = await require_issue(unit, params.company_id, params.issue_id, lock=lock)
            company = str(issue["company_id"])
            checked = Actor() if actor is None else await self.check_actor(unit, company, actor)
            yield IssueWrite(unit, issue, checked)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[UnitOfWork]:
        """A write transaction whose events are published after its commit."""
        async with write(self.db, self.bus) as unit:
            yield unit

    async def check_actor(self, unit: UnitOfWork, company_id: str, named: Actor) -> Actor:
        """Check the initiating actor a plugin names, in one query (upstream trusts it blindly):
        the agent and the run must belong to the company, and the run to the agent."""
        agent = optional_uuid(named.agent_id, "actorAgentId")
        run = optional_uuid(named.run_id, "actorRunId")
        user = str(named.user_id) if named.user_id else None
        if agent is None and run is None:
            return Actor(user_id=user)
        found = (await unit.session.execute(_ACTOR_LOOKUP, {"agent": agent, "run": run})).one()
        if agent is not None and (found.a is None or str(found.a) != company_id):
            raise NotFound("Actor agent not found")
        if run is not None:
            if found.rc is None or str(found.rc) != company_id:
                raise NotFound("Actor run not found")
            if agent is not None and str(found.ra) != agent:
                raise Unprocessable("Actor run belongs to another agent")
        return Actor(agent_id=agent, user_id=user, run_id=run)

    async def log(
        self,
        unit: UnitOfWork,
        action: str,
        *,
        company_id: str,
        issue_id: Any,
        actor: Actor,
        details: dict[str, Any],
        event_type: str | None = None,
    ) -> None:
        """Record the plugin-attributed activity row of a change to an issue."""
        identity = self.identity
        await record_activity(
            unit,
            company_id=company_id,
            actor_type="plugin",
            actor_id=identity.plugin_id,
            action=action,
            entity_type="issue",
            entity_id=str(issue_id),
            agent_id=actor.agent_id,
            run_id=actor.run_id,
            details={
                **details,
                **plugin_attribution(identity.plugin_id, identity.plugin_key, actor),
            },
            event_type=event_type,
        )
