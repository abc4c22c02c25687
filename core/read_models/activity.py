"""The activity log as a viewer reads it: filtered, newest first, with what each row concerns.

Plugin attribution is upstream's: a plugin's row has ``actor_type = 'plugin'`` and the plugin's
record id as ``actor_id``; its details carry ``sourcePluginKey`` and, when the plugin acted for
someone, ``initiatingActorType``/``initiatingActorId`` ("on behalf of").

Rows are small slotted objects holding their details as canonical JSON text (keys sorted, so
both backends give the same text; PostgreSQL's jsonb does not keep key order): a viewer keeps
tens of thousands of them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from core.ids import as_uuid
from core.read_models.pages import DEFAULT_PAGE_ROWS, Cursor, Page, read_page
from core.read_models.runs import RunRow, runs_by_id
from db import Database, tables

#: Rows of the same entity shown next to a row.
SAME_ENTITY_ROWS = 20


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One activity row, ready to show and export."""

    id: str
    company_id: str
    created_at: datetime
    actor_type: str
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    agent_id: str | None
    run_id: str | None
    #: The plugin's key for plugin rows (from the details), else None.
    plugin_key: str | None
    #: ``agent:<id>`` or ``user:<id>`` when a plugin acted for someone, else None.
    on_behalf_of: str | None
    #: The issue's identifier (``ACM-12``) on issue rows, from the details.
    identifier: str | None
    #: The details as canonical JSON text (``null`` when there are none).
    details_json: str

    @property
    def plugin_id(self) -> str | None:
        """The plugin record id of a plugin's row."""
        return self.actor_id if self.actor_type == "plugin" else None

    @property
    def details(self) -> Any:
        """The details, parsed."""
        return json.loads(self.details_json)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.created_at, self.id)

    def to_json(self) -> dict[str, Any]:
        """The row as one JSON object (camelCase, as upstream's API names the fields)."""
        return {
            "id": self.id,
            "companyId": self.company_id,
            "createdAt": self.created_at.isoformat(),
            "actorType": self.actor_type,
            "actorId": self.actor_id,
            "action": self.action,
            "entityType": self.entity_type,
            "entityId": self.entity_id,
            "agentId": self.agent_id,
            "runId": self.run_id,
            "pluginKey": self.plugin_key,
            "onBehalfOf": self.on_behalf_of,
            "identifier": self.identifier,
            "details": self.details,
        }


def activity_row(row: Mapping[str, Any]) -> ActivityRow:
    """An ``activity_log`` row (a mapping of its columns) as an ``ActivityRow``."""
    details = row["details"]
    plugin_key = on_behalf_of = identifier = None
    if isinstance(details, Mapping):
        found = details.get("identifier")
        if row["entity_type"] == "issue" and isinstance(found, str):
            identifier = found
        if row["actor_type"] == "plugin":
            key = details.get("sourcePluginKey") or details.get("pluginKey")
            plugin_key = sys.intern(key) if isinstance(key, str) else None
        initiator_type = details.get("initiatingActorType")
        initiator_id = details.get("initiatingActorId")
        if initiator_type and initiator_id:
            on_behalf_of = f"{initiator_type}:{initiator_id}"
    return ActivityRow(
        id=str(row["id"]),
        company_id=sys.intern(str(row["company_id"])),
        created_at=row["created_at"],
        actor_type=sys.intern(row["actor_type"]),
        actor_id=sys.intern(str(row["actor_id"])),
        action=sys.intern(row["action"]),
        entity_type=sys.intern(row["entity_type"]),
        entity_id=str(row["entity_id"]),
        agent_id=_text(row["agent_id"]),
        run_id=_text(row["run_id"]),
        plugin_key=plugin_key,
        on_behalf_of=on_behalf_of,
        identifier=identifier,
        details_json=json.dumps(details, sort_keys=True, separators=(",", ":"), default=str),
    )


@dataclass(frozen=True)
class ActivityFilter:
    """Which rows to read; every field set must match (None matches anything).

    ``action`` ending in ``*`` matches by prefix (``issue.*``).
    """

    company_id: str | None = None
    plugin_id: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        # Ids in their canonical form, so a row read back compares equal (``PAP-1``-style
        # or malformed values stay as given and match nothing).
        for name in ("company_id", "plugin_id", "agent_id", "run_id"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_uuid(value) or value)

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """The filter as SQL conditions on ``activity_log``."""
        log = tables.activity_log
        found: list[sa.ColumnElement[bool]] = []
        if self.company_id is not None:
            found.append(log.c.company_id == _uuid_or_none(self.company_id))
        if self.plugin_id is not None:
            found += [log.c.actor_type == "plugin", log.c.actor_id == self.plugin_id]
        if self.action is not None:
            if self.action.endswith("*"):
                prefix = self.action[:-1]
                found.append(sa.func.substr(log.c.action, 1, len(prefix)) == prefix)
            else:
                found.append(log.c.action == self.action)
        if self.entity_type is not None:
            found.append(log.c.entity_type == self.entity_type)
        if self.entity_id is not None:
            found.append(log.c.entity_id == self.entity_id)
        if self.agent_id is not None:
            found.append(log.c.agent_id == _uuid_or_none(self.agent_id))
        if self.run_id is not None:
            found.append(log.c.run_id == _uuid_or_none(self.run_id))
        if self.since is not None:
            found.append(log.c.created_at >= self.since)
        if self.until is not None:
            found.append(log.c.created_at < self.until)
        return found

    def matches(self, row: ActivityRow) -> bool:
        """The same filter on a row already read (rows that arrive live)."""
        if self.company_id is not None and row.company_id != self.company_id:
            return False
        if self.plugin_id is not None and row.plugin_id != self.plugin_id:
            return False
        if self.action is not None:
            if self.action.endswith("*"):
                if not row.action.startswith(self.action[:-1]):
                    return False
            elif row.action != self.action:
                return False
        checks = (
            (self.entity_type, row.entity_type),
            (self.entity_id, row.entity_id),
            (self.agent_id, row.agent_id),
            (self.run_id, row.run_id),
        )
        if any(wanted is not None and wanted != actual for wanted, actual in checks):
            return False
        if self.since is not None and row.created_at < self.since:
            return False
        return self.until is None or row.created_at < self.until


async def list_activity(
    db: Database,
    activity_filter: ActivityFilter = ActivityFilter(),
    *,
    before: Cursor | None = None,
    limit: int = DEFAULT_PAGE_ROWS,
) -> Page[ActivityRow]:
    """Rows matching the filter, newest first, starting below ``before``."""
    log = tables.activity_log
    return await read_page(
        db,
        sa.select(log).where(*activity_filter.conditions()),
        newest_first=(log.c.created_at, log.c.id),
        before=before,
        limit=limit,
        item=activity_row,
        cursor=lambda row: row.cursor,
    )


@dataclass(frozen=True)
class IssueBrief:
    """What a viewer shows of the issue an activity row concerns."""

    id: str
    identifier: str | None
    title: str
    status: str
    priority: str
    origin_kind: str
    parent_id: str | None
    assignee_agent_id: str | None


@dataclass(frozen=True)
class ActivityContext:
    """What an activity row concerns: its issue, run and agent, and the entity's other rows."""

    issue: IssueBrief | None
    run: RunRow | None
    agent_name: str | None
    same_entity: list[ActivityRow]


async def activity_context(db: Database, row: ActivityRow) -> ActivityContext:
    """The issue (for issue rows), run and agent of ``row``, and newer or older rows of the
    same entity (at most ``SAME_ENTITY_ROWS``, newest first)."""
    log, issues, agents = tables.activity_log, tables.issues, tables.agents
    issue = agent_name = None
    async with db.read() as session:
        issue_id = as_uuid(row.entity_id) if row.entity_type == "issue" else None
        if issue_id is not None:
            found = (
                (
                    await session.execute(
                        sa.select(issues).where(
                            issues.c.id == issue_id, issues.c.company_id == row.company_id
                        )
                    )
                )
                .mappings()
                .first()
            )
            if found is not None:
                issue = IssueBrief(
                    id=str(found["id"]),
                    identifier=found["identifier"],
                    title=found["title"],
                    status=found["status"],
                    priority=found["priority"],
                    origin_kind=found["origin_kind"],
                    parent_id=_text(found["parent_id"]),
                    assignee_agent_id=_text(found["assignee_agent_id"]),
                )
        if row.agent_id is not None:
            agent_name = await session.scalar(
                sa.select(agents.c.name).where(agents.c.id == row.agent_id)
            )
        same = (
            (
                await session.execute(
                    sa.select(log)
                    .where(
                        log.c.company_id == row.company_id,
                        log.c.entity_type == row.entity_type,
                        log.c.entity_id == row.entity_id,
                        log.c.id != row.id,
                    )
                    .order_by(log.c.created_at.desc(), log.c.id.desc())
                    .limit(SAME_ENTITY_ROWS)
                )
            )
            .mappings()
            .all()
        )
    runs = await runs_by_id(db, [row.run_id]) if row.run_id else []
    return ActivityContext(
        issue=issue,
        run=runs[0] if runs else None,
        agent_name=agent_name,
        same_entity=[activity_row(found) for found in same],
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _uuid_or_none(value: str) -> str | None:
    """A filter id as the column compares it; a malformed id matches nothing."""
    return as_uuid(value)
