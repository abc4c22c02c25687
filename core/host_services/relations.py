"""``ctx.issues.relations``: read and edit the issues blocking an issue."""

from __future__ import annotations

from core import records
from core.host_services.binding import Binding
from core.host_services.params import EditBlockers, IssueRef, SetBlockedBy
from core.ids import as_uuid
from core.issue_relations import relation_summary
from core.issues import update_issue


class IssueRelationServices:
    """Blocked-by sets; every edit is logged as ``issue.relations.updated``."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    async def get(self, params: IssueRef) -> records.RelationSummary:
        """The issues blocking this one and the issues it blocks."""
        async with self._binding.reading_issue(params) as (unit, issue):
            return await relation_summary(unit, params.company_id, issue["id"])

    async def set_blocked_by(self, params: SetBlockedBy) -> records.RelationSummary:
        """Make exactly these issues block this one (an empty list clears them)."""
        return await self._edit(params, "set", params.blocked_by_issue_ids)

    async def add_blockers(self, params: EditBlockers) -> records.RelationSummary:
        """Add blockers, keeping the existing ones."""
        return await self._edit(params, "add", params.blocker_issue_ids)

    async def remove_blockers(self, params: EditBlockers) -> records.RelationSummary:
        """Remove blockers, keeping all others."""
        return await self._edit(params, "remove", params.blocker_issue_ids)

    async def _edit(
        self, params: SetBlockedBy | EditBlockers, mutation: str, ids: list[str]
    ) -> records.RelationSummary:
        company = params.company_id
        async with self._binding.writing_issue(params, actor=params.actor) as call:
            unit, issue, actor = call.unit, call.issue, call.actor
            previous = await relation_summary(unit, company, issue["id"])
            current = [blocker.id for blocker in previous.blocked_by]
            requested = [as_uuid(value) or value for value in ids]
            if mutation == "set":
                wanted = list(ids)
            elif mutation == "add":
                wanted = list(dict.fromkeys([*current, *requested]))
            else:
                wanted = [blocker for blocker in current if blocker not in set(requested)]
            await update_issue(
                unit,
                issue,
                {"blocked_by_issue_ids": wanted},
                actor_agent_id=actor.agent_id,
                actor_user_id=actor.user_id,
            )
            summary = await relation_summary(unit, company, issue["id"])
            await self._binding.log(
                unit,
                "issue.relations.updated",
                company_id=company,
                issue_id=issue["id"],
                actor=actor,
                details={
                    "identifier": issue["identifier"],
                    "mutation": mutation,
                    "blockedByIssueIds": wanted,
                    "previousBlockedByIssueIds": current,
                },
            )
        return summary
