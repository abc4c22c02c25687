"""Paperclip's plugin host services, bound to one plugin: ``build_host_services``.

Every call names a company and only ever sees that company's records (others behave exactly as
if they did not exist). Every mutation runs in ONE transaction together with its plugin-attributed
activity row (upstream writes the audit row afterwards), and publishes its events only after the
commit. Beyond upstream:

- the actor a plugin names (agent, user, run) is checked before anything is written: the agent
  and run must belong to the company, and the run to the agent;
- inputs are allowlisted and enum values validated; issue identifiers are resolved once;
- relation edits, checkout adoption and wakeups run under the issue's row lock;
- a wakeup's idempotency key returns the earlier outcome; a batch wakeup is all or nothing;
- document upserts of an existing key write a new revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from core import records
from core.activity import Actor, plugin_attribution, record_activity
from core.budgets import load_budget_context
from core.checkout import assert_checkout_owner
from core.comments import SNIPPET_CHARS, create_comment, list_comments
from core.documents import (
    delete_document,
    get_document,
    list_documents,
    normalize_key,
    upsert_document,
)
from core.errors import Conflict, InvalidInput, NotFound, Unprocessable
from core.event_bus import EventBus
from core.heartbeat import IssueWakeup, enqueue_issue_wakeup, load_agent, replay_idempotent_wakeup
from core.ids import as_uuid, optional_uuid, require_company
from core.issue_relations import blocker_statuses, relation_summary
from core.issues import (
    IssueCreate,
    IssueFilter,
    IssuePatch,
    create_issue,
    find_issue,
    list_issues,
    load_issue,
    require_issue,
    update_issue,
)
from core.summaries import issue_subtree, orchestration_summary
from core.unit_of_work import UnitOfWork, write
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

#: Statuses from which an assigned agent may be woken.
WAKEABLE_STATUSES = ("todo", "in_progress", "in_review", "blocked")


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


class _Bound:
    """Shared plumbing: the database, the bus, and the plugin identity."""

    def __init__(self, db: Database, identity: PluginIdentity, bus: EventBus | None) -> None:
        self._db = db
        self._identity = identity
        self._bus = bus

    async def _actor(
        self,
        unit: UnitOfWork,
        company_id: str,
        *,
        agent_id: Any = None,
        user_id: Any = None,
        run_id: Any = None,
    ) -> Actor:
        """Check the initiating actor a plugin names, in one query (upstream trusts it blindly)."""
        agent = optional_uuid(agent_id, "actorAgentId")
        run = optional_uuid(run_id, "actorRunId")
        user = str(user_id) if user_id else None
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

    async def _log(
        self,
        unit: UnitOfWork,
        *,
        company_id: str,
        action: str,
        issue_id: Any,
        actor: Actor,
        details: dict[str, Any],
        event_type: str | None = None,
    ) -> None:
        identity = self._identity
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


class IssueRelationServices(_Bound):
    """``ctx.issues.relations``: read and edit blocked-by sets."""

    async def get(self, *, issue_id: Any, company_id: Any) -> records.RelationSummary:
        """The issues blocking this one and the issues it blocks."""
        company = require_company(company_id)
        async with self._db.read() as session:
            issue = await require_issue(session, company, issue_id)
            return await relation_summary(session, company, issue["id"])

    async def set_blocked_by(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        blocked_by_issue_ids: Sequence[Any],
        actor_agent_id: Any = None,
        actor_user_id: Any = None,
        actor_run_id: Any = None,
    ) -> records.RelationSummary:
        """Make exactly these issues block this one (an empty list clears them)."""
        return await self._mutate(
            "set",
            issue_id,
            company_id,
            blocked_by_issue_ids,
            Actor(actor_agent_id, actor_user_id, actor_run_id),
        )

    async def add_blockers(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        blocker_issue_ids: Sequence[Any],
        actor_agent_id: Any = None,
        actor_user_id: Any = None,
        actor_run_id: Any = None,
    ) -> records.RelationSummary:
        """Add blockers, keeping the existing ones."""
        return await self._mutate(
            "add",
            issue_id,
            company_id,
            blocker_issue_ids,
            Actor(actor_agent_id, actor_user_id, actor_run_id),
        )

    async def remove_blockers(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        blocker_issue_ids: Sequence[Any],
        actor_agent_id: Any = None,
        actor_user_id: Any = None,
        actor_run_id: Any = None,
    ) -> records.RelationSummary:
        """Remove blockers, keeping all others."""
        return await self._mutate(
            "remove",
            issue_id,
            company_id,
            blocker_issue_ids,
            Actor(actor_agent_id, actor_user_id, actor_run_id),
        )

    async def _mutate(
        self, mutation: str, issue_id: Any, company_id: Any, ids: Sequence[Any], named: Actor
    ) -> records.RelationSummary:
        company = require_company(company_id)
        if isinstance(ids, str) or not isinstance(ids, Sequence):
            raise InvalidInput("blocker issue ids must be a list of issue ids")
        async with write(self._db, self._bus) as unit:
            issue = await require_issue(unit.session, company, issue_id, lock=True)
            actor = await self._actor(
                unit, company, agent_id=named.agent_id, user_id=named.user_id, run_id=named.run_id
            )
            previous = await relation_summary(unit.session, company, issue["id"])
            current = [blocker.id for blocker in previous.blocked_by]
            requested = [as_uuid(value) or str(value) for value in ids]
            if mutation == "set":
                wanted: list[str] = list(ids)
            elif mutation == "add":
                wanted = list(dict.fromkeys([*current, *requested]))
            else:
                wanted = [blocker for blocker in current if blocker not in set(requested)]
            await update_issue(
                unit.session,
                issue,
                {"blocked_by_issue_ids": wanted},
                actor_agent_id=actor.agent_id,
                actor_user_id=actor.user_id,
            )
            summary = await relation_summary(unit.session, company, issue["id"])
            await self._log(
                unit,
                company_id=company,
                action="issue.relations.updated",
                issue_id=issue["id"],
                actor=actor,
                details={
                    "identifier": issue["identifier"],
                    "mutation": mutation,
                    "blockedByIssueIds": [str(value) for value in wanted],
                    "previousBlockedByIssueIds": current,
                },
            )
        return summary


class IssueSummaryServices(_Bound):
    """``ctx.issues.summaries``."""

    async def get_orchestration(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        include_subtree: bool = False,
        billing_code: str | None = None,
    ) -> records.OrchestrationSummary:
        """Relations, approvals, runs, costs, incidents and invocation blocks of an issue tree.

        Costs are narrowed to ``billing_code``, or to the root issue's billing code by default.
        """
        company = require_company(company_id)
        async with self._db.read() as session:
            root = await require_issue(session, company, issue_id)
            return await orchestration_summary(
                session, root, include_subtree=bool(include_subtree), billing_code=billing_code
            )


class IssueDocumentServices(_Bound):
    """``ctx.issues.documents`` (upstream's ``issueDocuments``)."""

    async def list(self, *, issue_id: Any, company_id: Any) -> list[records.Document]:
        """The issue's documents, with bodies, by key."""
        company = require_company(company_id)
        async with self._db.read() as session:
            issue = await require_issue(session, company, issue_id)
            return await list_documents(session, issue)

    async def get(self, *, issue_id: Any, company_id: Any, key: Any) -> records.Document | None:
        """The document under ``key``, or None."""
        company = require_company(company_id)
        async with self._db.read() as session:
            issue = await require_issue(session, company, issue_id)
            return await get_document(session, issue, normalize_key(key))

    async def upsert(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        key: Any,
        body: Any,
        title: str | None = None,
        format: str | None = None,
        change_summary: str | None = None,
        base_revision_id: str | None = None,
    ) -> records.Document:
        """Create the document under ``key``, or write its next revision.

        ``base_revision_id`` makes the write conditional: it must be the current revision.
        """
        company = require_company(company_id)
        document_key = normalize_key(key)
        async with write(self._db, self._bus) as unit:
            issue = await require_issue(unit.session, company, issue_id, lock=True)
            written = await upsert_document(
                unit.session,
                issue,
                key=document_key,
                body=body,
                title=title,
                format_=format or "markdown",
                change_summary=change_summary,
                base_revision_id=base_revision_id,
            )
            document = written.document
            await self._log(
                unit,
                company_id=company,
                action="issue.document_upserted",
                issue_id=issue["id"],
                actor=Actor(),
                details={
                    "identifier": issue["identifier"],
                    "documentKey": document_key,
                    "title": document.title,
                    "format": document.format,
                    "revisionNumber": document.latest_revision_number,
                },
                event_type="issue.document.created"
                if written.created
                else "issue.document.updated",
            )
        return document

    async def delete(self, *, issue_id: Any, company_id: Any, key: Any) -> None:
        """Delete the document under ``key`` with its revisions; without one, nothing happens."""
        company = require_company(company_id)
        document_key = normalize_key(key)
        async with write(self._db, self._bus) as unit:
            issue = await require_issue(unit.session, company, issue_id, lock=True)
            if await delete_document(unit.session, issue, document_key):
                await self._log(
                    unit,
                    company_id=company,
                    action="issue.document_deleted",
                    issue_id=issue["id"],
                    actor=Actor(),
                    details={"identifier": issue["identifier"], "documentKey": document_key},
                )


class IssueServices(_Bound):
    """``ctx.issues``: issues, checkout, subtrees, wakeups and comments."""

    def __init__(self, db: Database, identity: PluginIdentity, bus: EventBus | None) -> None:
        super().__init__(db, identity, bus)
        self.relations = IssueRelationServices(db, identity, bus)
        self.summaries = IssueSummaryServices(db, identity, bus)
        self.documents = IssueDocumentServices(db, identity, bus)
        # upstream's host names for the same operations
        self.get_relations = self.relations.get
        self.set_blocked_by = self.relations.set_blocked_by
        self.add_blockers = self.relations.add_blockers
        self.remove_blockers = self.relations.remove_blockers
        self.get_orchestration_summary = self.summaries.get_orchestration

    async def list(self, *, company_id: Any, **filters: Any) -> list[records.IssueListItem]:
        """The company's visible issues (filters: ``project_id``, ``assignee_agent_id``,
        ``origin_kind``, ``origin_id``, ``status`` (comma-separated), ``parent_id``, ``label_id``,
        ``q``, ``limit``, ``offset``)."""
        company = require_company(company_id)
        parsed = IssueFilter.model_validate(filters)
        if isinstance(parsed.origin_kind, str) and parsed.origin_kind.startswith("plugin:"):
            parsed.origin_kind = self._identity.normalize_origin_kind(parsed.origin_kind)
        async with self._db.read() as session:
            return await list_issues(session, company, parsed)

    async def get(self, *, issue_id: Any, company_id: Any) -> records.Issue | None:
        """The issue (by UUID or identifier), or None when missing or of another company."""
        company = require_company(company_id)
        async with self._db.read() as session:
            row = await find_issue(session, company, issue_id)
            return None if row is None else await load_issue(session, row["id"])

    async def create(
        self,
        *,
        company_id: Any,
        title: str,
        actor_agent_id: Any = None,
        actor_user_id: Any = None,
        actor_run_id: Any = None,
        **fields: Any,
    ) -> records.Issue:
        """Create an issue of ``plugin:<key>`` origin (see ``core.issues.IssueCreate`` fields)."""
        company = require_company(company_id)
        values = IssueCreate.model_validate({**fields, "title": title})
        origin_kind = self._identity.normalize_origin_kind(values.origin_kind)
        async with write(self._db, self._bus) as unit:
            actor = await self._actor(
                unit, company, agent_id=actor_agent_id, user_id=actor_user_id, run_id=actor_run_id
            )
            values.origin_run_id = values.origin_run_id or actor.run_id
            issue, blockers = await create_issue(
                unit.session,
                company_id=company,
                values=values,
                origin_kind=origin_kind,
                created_by_agent_id=actor.agent_id,
                created_by_user_id=actor.user_id,
            )
            await self._log(
                unit,
                company_id=company,
                action="issue.created",
                issue_id=issue.id,
                actor=actor,
                details={
                    "title": issue.title,
                    "identifier": issue.identifier,
                    "originKind": issue.origin_kind,
                    "originId": issue.origin_id,
                    "billingCode": issue.billing_code,
                    "blockedByIssueIds": blockers,
                },
            )
        return issue

    async def update(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        patch: IssuePatch | dict[str, Any],
        actor_agent_id: Any = None,
        actor_user_id: Any = None,
        actor_run_id: Any = None,
    ) -> records.Issue:
        """Change allowlisted fields of an issue (see ``core.issues.IssuePatch``)."""
        company = require_company(company_id)
        parsed = patch if isinstance(patch, IssuePatch) else IssuePatch.model_validate(patch)
        changes = parsed.given()
        if "origin_kind" in changes:
            changes["origin_kind"] = self._identity.normalize_origin_kind(changes["origin_kind"])
        async with write(self._db, self._bus) as unit:
            current = await require_issue(unit.session, company, issue_id, lock=True)
            actor = await self._actor(
                unit, company, agent_id=actor_agent_id, user_id=actor_user_id, run_id=actor_run_id
            )
            issue = await update_issue(
                unit.session,
                current,
                changes,
                actor_agent_id=actor.agent_id,
                actor_user_id=actor.user_id,
            )
            await self._log(
                unit,
                company_id=company,
                action="issue.updated",
                issue_id=issue.id,
                actor=actor,
                details={
                    "identifier": issue.identifier,
                    "patch": parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
                    | ({"originKind": changes["origin_kind"]} if "origin_kind" in changes else {}),
                    "_previous": {
                        "status": current["status"],
                        "assigneeAgentId": _text(current["assignee_agent_id"]),
                        "assigneeUserId": current["assignee_user_id"],
                    },
                },
            )
        return issue

    async def assert_checkout_owner(
        self, *, issue_id: Any, company_id: Any, actor_agent_id: Any, actor_run_id: Any
    ) -> records.CheckoutOwnership:
        """Confirm the acting agent run holds the issue's checkout (or adopt a stale one)."""
        company = require_company(company_id)
        async with write(self._db, self._bus) as unit:
            issue = await require_issue(unit.session, company, issue_id, lock=True)
            result = await assert_checkout_owner(
                unit.session,
                issue,
                actor_agent_id=actor_agent_id,
                actor_run_id=actor_run_id,
            )
            if result.adopted_from_run_id is not None:
                await self._log(
                    unit,
                    company_id=company,
                    action="issue.checkout_lock_adopted",
                    issue_id=issue["id"],
                    actor=Actor(agent_id=str(actor_agent_id), run_id=result.checkout_run_id),
                    details={
                        "previousCheckoutRunId": result.adopted_from_run_id,
                        "checkoutRunId": result.checkout_run_id,
                        "reason": "stale_checkout_run",
                    },
                )
        return result

    async def get_subtree(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        include_root: bool = True,
        include_relations: bool = False,
        include_documents: bool = False,
        include_active_runs: bool = False,
        include_assignees: bool = False,
    ) -> records.Subtree:
        """An issue and its descendants, with the optional parts asked for."""
        company = require_company(company_id)
        async with self._db.read() as session:
            root = await require_issue(session, company, issue_id)
            return await issue_subtree(
                session,
                root,
                include_root=include_root is not False,
                include_relations=bool(include_relations),
                include_documents=bool(include_documents),
                include_active_runs=bool(include_active_runs),
                include_assignees=bool(include_assignees),
            )

    async def request_wakeup(
        self,
        *,
        issue_id: Any,
        company_id: Any,
        reason: str | None = None,
        context_source: str | None = None,
        idempotency_key: str | None = None,
        actor_agent_id: Any = None,
        actor_user_id: Any = None,
        actor_run_id: Any = None,
    ) -> records.WakeupResult:
        """Wake the issue's assigned agent through the heartbeat queue."""
        company = require_company(company_id)
        async with write(self._db, self._bus) as unit:
            actor = await self._actor(
                unit, company, agent_id=actor_agent_id, user_id=actor_user_id, run_id=actor_run_id
            )
            result = await self._wake(
                unit,
                company,
                issue_id,
                reason=reason,
                context_source=context_source or "plugin.issue.requestWakeup",
                idempotency_key=idempotency_key or None,
                actor=actor,
            )
        return records.WakeupResult(queued=result.queued, run_id=result.run_id)

    async def request_wakeups(
        self,
        *,
        issue_ids: Sequence[Any],
        company_id: Any,
        reason: str | None = None,
        context_source: str | None = None,
        idempotency_key_prefix: str | None = None,
        actor_agent_id: Any = None,
        actor_user_id: Any = None,
        actor_run_id: Any = None,
    ) -> list[records.BatchWakeupResult]:
        """Wake several issues' agents, all or nothing: one failing issue wakes none."""
        company = require_company(company_id)
        if isinstance(issue_ids, str) or not isinstance(issue_ids, Sequence):
            raise InvalidInput("issueIds must be a list of issue ids")
        results = []
        async with write(self._db, self._bus) as unit:
            actor = await self._actor(
                unit, company, agent_id=actor_agent_id, user_id=actor_user_id, run_id=actor_run_id
            )
            for reference in dict.fromkeys(str(value) for value in issue_ids):
                issue = await require_issue(unit.session, company, reference)
                key = f"{idempotency_key_prefix}:{issue['id']}" if idempotency_key_prefix else None
                result = await self._wake(
                    unit,
                    company,
                    issue["id"],
                    reason=reason,
                    context_source=context_source or "plugin.issue.requestWakeups",
                    idempotency_key=key,
                    actor=actor,
                )
                results.append(
                    records.BatchWakeupResult(
                        issue_id=str(issue["id"]), queued=result.queued, run_id=result.run_id
                    )
                )
        return results

    async def _wake(
        self,
        unit: UnitOfWork,
        company: str,
        issue_id: Any,
        *,
        reason: str | None,
        context_source: str,
        idempotency_key: str | None,
        actor: Actor,
    ) -> Any:
        """Upstream's checks in order, then the heartbeat; the idempotency replay comes first."""
        issue = await require_issue(unit.session, company, issue_id, lock=True)
        if issue["assignee_agent_id"] is None:
            raise Conflict("Issue has no assigned agent to wake")
        agent_id = str(issue["assignee_agent_id"])
        replay = await replay_idempotent_wakeup(unit, company, agent_id, idempotency_key)
        if replay is not None:
            return replay
        if issue["status"] not in WAKEABLE_STATUSES:
            raise Conflict(f"Issue is not wakeable in status: {issue['status']}")
        blockers = await blocker_statuses(unit.session, company, issue["id"])
        unresolved = sorted(blocker for blocker, status in blockers.items() if status != "done")
        if unresolved:
            raise Conflict(
                "Issue is blocked by unresolved blockers",
                details={"unresolvedBlockerIssueIds": unresolved},
            )
        project_id = str(issue["project_id"]) if issue["project_id"] else None
        budget = await load_budget_context(unit.session, company, [agent_id], [project_id])
        block = budget.invocation_block(agent_id, project_id)
        if block is not None:
            raise Conflict(
                block.reason, details={"scopeType": block.scope_type, "scopeId": block.scope_id}
            )
        identity = self._identity
        wake_reason = reason or "plugin_issue_wakeup_requested"
        outcome = await enqueue_issue_wakeup(
            unit,
            IssueWakeup(
                company_id=company,
                agent_id=agent_id,
                issue_id=str(issue["id"]),
                source="assignment",
                trigger_detail="system",
                reason=wake_reason,
                payload={
                    "issueId": str(issue["id"]),
                    "mutation": "plugin_wakeup",
                    "pluginId": identity.plugin_id,
                    "pluginKey": identity.plugin_key,
                    "contextSource": context_source,
                },
                context_snapshot={
                    "issueId": str(issue["id"]),
                    "taskId": str(issue["id"]),
                    "wakeReason": wake_reason,
                    "source": context_source,
                    "pluginId": identity.plugin_id,
                    "pluginKey": identity.plugin_key,
                },
                requested_by_actor_type="system",
                requested_by_actor_id=identity.plugin_id,
                idempotency_key=idempotency_key,
            ),
            agent=await load_agent(unit, company, agent_id),
            issue=issue,
        )
        await self._log(
            unit,
            company_id=company,
            action="issue.assignment_wakeup_requested",
            issue_id=issue["id"],
            actor=actor,
            details={
                "identifier": issue["identifier"],
                "assigneeAgentId": agent_id,
                "runId": outcome.run_id,
                "reason": wake_reason,
                "contextSource": context_source,
            },
        )
        return outcome

    async def list_comments(self, *, issue_id: Any, company_id: Any) -> list[records.Comment]:
        """The issue's comments, newest first; ``[]`` for a missing or foreign issue."""
        company = require_company(company_id)
        async with self._db.read() as session:
            issue = await find_issue(session, company, issue_id)
            return [] if issue is None else await list_comments(session, issue)

    async def create_comment(
        self, *, issue_id: Any, company_id: Any, body: Any, author_agent_id: Any = None
    ) -> records.Comment:
        """Comment on an issue, optionally as one of the company's agents."""
        company = require_company(company_id)
        async with write(self._db, self._bus) as unit:
            issue = await require_issue(unit.session, company, issue_id)
            actor = await self._actor(unit, company, agent_id=author_agent_id)
            comment = await create_comment(
                unit.session, issue, body=body, author_agent_id=actor.agent_id
            )
            await self._log(
                unit,
                company_id=company,
                action="issue.comment.created",
                issue_id=issue["id"],
                actor=Actor(agent_id=actor.agent_id),
                details={
                    "identifier": issue["identifier"],
                    "commentId": comment.id,
                    "bodySnippet": comment.body[:SNIPPET_CHARS],
                },
            )
        return comment


class ActivityServices(_Bound):
    """``ctx.activity``."""

    async def log(
        self,
        *,
        company_id: Any,
        message: Any,
        entity_type: str | None = None,
        entity_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Write a free-form plugin activity row.

        ``message`` becomes the action. Unlike upstream it never announces a domain event, even
        when it names one (``issue.created``): plugins cannot forge host events.
        """
        company = require_company(company_id)
        if not isinstance(message, str) or not message.strip():
            raise InvalidInput("activity message must be a non-empty string")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInput("activity metadata must be an object")
        identity = self._identity
        async with write(self._db, self._bus) as unit:
            await record_activity(
                unit,
                company_id=company,
                actor_type="plugin",
                actor_id=identity.plugin_id,
                action=message,
                entity_type=entity_type or "plugin",
                entity_id=entity_id or identity.plugin_id,
                details={
                    **(metadata or {}),
                    **plugin_attribution(identity.plugin_id, identity.plugin_key, Actor()),
                },
                emit_domain_event=False,
            )


class HostServices:
    """The host services of one plugin, grouped as upstream groups them."""

    def __init__(self, db: Database, identity: PluginIdentity, bus: EventBus | None) -> None:
        self.identity = identity
        self.issues = IssueServices(db, identity, bus)
        self.issue_documents = self.issues.documents
        self.activity = ActivityServices(db, identity, bus)


def build_host_services(
    db: Database, plugin_id: str, plugin_key: str, event_bus: EventBus | None = None
) -> HostServices:
    """Bind the host services to a plugin (its record id and its key), like upstream's
    ``buildHostServices``. Without an event bus, nothing is published."""
    return HostServices(db, PluginIdentity(str(plugin_id), plugin_key), event_bus)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
