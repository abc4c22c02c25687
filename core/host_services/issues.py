"""``ctx.issues``: issues of ``plugin:<key>`` origin, checkout, subtrees, wakeups and comments."""

from __future__ import annotations

from typing import Any

from core import records
from core.activity import Actor
from core.checkout import assert_checkout_owner
from core.host_services.attachments import IssueAttachmentServices
from core.host_services.binding import Binding
from core.host_services.comments import IssueCommentServices
from core.host_services.documents import IssueDocumentServices
from core.host_services.params import (
    CheckoutOwner,
    CreateIssue,
    GetSubtree,
    IssueRef,
    ListIssues,
    UpdateIssue,
)
from core.host_services.relations import IssueRelationServices
from core.host_services.summaries import IssueSummaryServices
from core.host_services.wakeups import IssueWakeupServices
from core.issues import (
    create_issue,
    find_issue,
    issue_record,
    labels_by_issue,
    list_issues,
    update_issue,
)
from core.summaries import issue_subtree
from core.unit_of_work import read


class IssueServices(IssueWakeupServices, IssueCommentServices, IssueAttachmentServices):
    """``ctx.issues``, with ``relations``, ``summaries`` and ``documents`` nested as upstream."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding
        self.relations = IssueRelationServices(binding)
        self.summaries = IssueSummaryServices(binding)
        self.documents = IssueDocumentServices(binding)

    async def list(self, params: ListIssues) -> list[records.IssueListItem]:
        """The company's visible issues; a ``plugin:`` origin filter must be this plugin's."""
        if isinstance(params.origin_kind, str) and params.origin_kind.startswith("plugin:"):
            params = params.model_copy(
                update={
                    "origin_kind": self._binding.identity.normalize_origin_kind(params.origin_kind)
                }
            )
        async with read(self._binding.db) as unit:
            return await list_issues(unit, params.company_id, params)

    async def get(self, params: IssueRef) -> records.Issue | None:
        """The issue (by UUID or identifier), or None when missing or of another company."""
        async with read(self._binding.db) as unit:
            row = await find_issue(unit, params.company_id, params.issue_id)
            if row is None:
                return None
            labels = await labels_by_issue(unit, [row["id"]])
            return issue_record(row, labels.get(str(row["id"]), []))

    async def create(self, params: CreateIssue) -> records.Issue:
        """Create an issue of ``plugin:<key>`` origin (``originRunId`` defaults to the actor's
        run, ``createdBy*`` comes from the actor)."""
        binding = self._binding
        company = params.company_id
        origin_kind = binding.identity.normalize_origin_kind(params.origin_kind)
        async with binding.writing() as unit:
            actor = await binding.check_actor(unit, company, params.actor)
            issue, blockers = await create_issue(
                unit,
                company_id=company,
                values=params.model_copy(
                    update={"origin_run_id": params.origin_run_id or actor.run_id}
                ),
                origin_kind=origin_kind,
                created_by_agent_id=actor.agent_id,
                created_by_user_id=actor.user_id,
            )
            await binding.log(
                unit,
                "issue.created",
                company_id=company,
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

    async def update(self, params: UpdateIssue) -> records.IssueUpdate:
        """Change allowlisted fields of an issue (see ``core.issues.IssuePatch``)."""
        binding = self._binding
        patch = params.patch
        changes = patch.given()
        if "origin_kind" in changes:
            changes["origin_kind"] = binding.identity.normalize_origin_kind(changes["origin_kind"])
        async with binding.writing_issue(params, actor=params.actor) as call:
            current = call.issue
            issue = await update_issue(
                call.unit,
                current,
                changes,
                actor_agent_id=call.actor.agent_id,
                actor_user_id=call.actor.user_id,
            )
            await binding.log(
                call.unit,
                "issue.updated",
                company_id=params.company_id,
                issue_id=issue.id,
                actor=call.actor,
                details={
                    "identifier": issue.identifier,
                    "patch": patch.model_dump(mode="json", by_alias=True, exclude_unset=True)
                    | ({"originKind": changes["origin_kind"]} if "origin_kind" in changes else {}),
                    "_previous": {
                        "status": current["status"],
                        "assigneeAgentId": _text(current["assignee_agent_id"]),
                        "assigneeUserId": current["assignee_user_id"],
                    },
                },
            )
        return issue

    async def assert_checkout_owner(self, params: CheckoutOwner) -> records.CheckoutOwnership:
        """Confirm the acting agent run holds the issue's checkout (or adopt a stale one)."""
        async with self._binding.writing_issue(params) as call:
            result = await assert_checkout_owner(
                call.unit,
                call.issue,
                actor_agent_id=params.actor_agent_id,
                actor_run_id=params.actor_run_id,
            )
            if result.adopted_from_run_id is not None:
                await self._binding.log(
                    call.unit,
                    "issue.checkout_lock_adopted",
                    company_id=params.company_id,
                    issue_id=call.issue["id"],
                    actor=Actor(agent_id=str(params.actor_agent_id), run_id=result.checkout_run_id),
                    details={
                        "previousCheckoutRunId": result.adopted_from_run_id,
                        "checkoutRunId": result.checkout_run_id,
                        "reason": "stale_checkout_run",
                    },
                )
        return result

    async def get_subtree(self, params: GetSubtree) -> records.Subtree:
        """An issue and its descendants, with the optional parts asked for."""
        async with self._binding.reading_issue(params) as (unit, root):
            return await issue_subtree(
                unit,
                root,
                include_root=params.include_root is not False,
                include_relations=bool(params.include_relations),
                include_documents=bool(params.include_documents),
                include_active_runs=bool(params.include_active_runs),
                include_assignees=bool(params.include_assignees),
            )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
