"""``ctx.issues.requestWakeup(s)``: wake an issue's assigned agent through the heartbeat queue.

Upstream's checks run in its order (assignee, wakeable status, blockers done, no budget block);
an idempotency key that was used before returns the earlier outcome first.
"""

from __future__ import annotations

from typing import Any

from core import records
from core.activity import Actor
from core.budgets import load_budget_context
from core.errors import Conflict
from core.host_services.binding import Binding
from core.host_services.params import RequestWakeup, RequestWakeups
from core.issue_relations import blocker_statuses
from core.issues import require_issue
from core.unit_of_work import UnitOfWork
from core.wakeups import (
    IssueWakeup,
    WakeupOutcome,
    enqueue_issue_wakeup,
    load_agent,
    replay_idempotent_wakeup,
)

#: Statuses from which an assigned agent may be woken.
WAKEABLE_STATUSES = ("todo", "in_progress", "in_review", "blocked")


class IssueWakeupServices:
    """The wakeup methods of ``ctx.issues``."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    async def request_wakeup(self, params: RequestWakeup) -> records.WakeupResult:
        """Wake the issue's assigned agent."""
        async with self._binding.writing() as unit:
            actor = await self._binding.check_actor(unit, params.company_id, params.actor)
            outcome = await self._wake(
                unit,
                params.company_id,
                params.issue_id,
                reason=params.reason,
                context_source=params.context_source or "plugin.issue.requestWakeup",
                idempotency_key=params.idempotency_key or None,
                actor=actor,
            )
        return records.WakeupResult(queued=outcome.queued, run_id=outcome.run_id)

    async def request_wakeups(self, params: RequestWakeups) -> list[records.BatchWakeupResult]:
        """Wake several issues' agents, all or nothing: one failing issue wakes none."""
        company = params.company_id
        prefix = params.idempotency_key_prefix
        results = []
        async with self._binding.writing() as unit:
            actor = await self._binding.check_actor(unit, company, params.actor)
            for reference in dict.fromkeys(params.issue_ids):
                issue = await require_issue(unit, company, reference)
                outcome = await self._wake(
                    unit,
                    company,
                    issue["id"],
                    reason=params.reason,
                    context_source=params.context_source or "plugin.issue.requestWakeups",
                    idempotency_key=f"{prefix}:{issue['id']}" if prefix else None,
                    actor=actor,
                )
                results.append(
                    records.BatchWakeupResult(
                        issue_id=str(issue["id"]), queued=outcome.queued, run_id=outcome.run_id
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
    ) -> WakeupOutcome:
        issue = await require_issue(unit, company, issue_id, lock=True)
        if issue["assignee_agent_id"] is None:
            raise Conflict("Issue has no assigned agent to wake")
        agent_id = str(issue["assignee_agent_id"])
        replay = await replay_idempotent_wakeup(unit, company, agent_id, idempotency_key)
        if replay is not None:
            return replay
        await _check_wakeable(unit, company, issue, agent_id)
        identity = self._binding.identity
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
        await self._binding.log(
            unit,
            "issue.assignment_wakeup_requested",
            company_id=company,
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


async def _check_wakeable(unit: UnitOfWork, company: str, issue: Any, agent_id: str) -> None:
    """Upstream's checks after the assignee: status, then blockers, then the budget."""
    if issue["status"] not in WAKEABLE_STATUSES:
        raise Conflict(f"Issue is not wakeable in status: {issue['status']}")
    blockers = await blocker_statuses(unit, company, issue["id"])
    unresolved = sorted(blocker for blocker, status in blockers.items() if status != "done")
    if unresolved:
        raise Conflict(
            "Issue is blocked by unresolved blockers",
            details={"unresolvedBlockerIssueIds": unresolved},
        )
    project_id = str(issue["project_id"]) if issue["project_id"] else None
    budget = await load_budget_context(unit, company, [agent_id], [project_id])
    block = budget.invocation_block(agent_id, project_id)
    if block is not None:
        raise Conflict(
            block.reason, details={"scopeType": block.scope_type, "scopeId": block.scope_id}
        )
