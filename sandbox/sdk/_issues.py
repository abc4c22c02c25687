"""``ctx.issues``: issues, their relations, documents, comments, wakeups and summaries.

Parameters are snake_case; they are sent in the published SDK's camelCase shape, with options
left unset omitted and the actor flattened into ``actorAgentId``/``actorUserId``/``actorRunId``.
"""

from __future__ import annotations

import builtins  # methods named "list" shadow the builtin in their classes
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic.alias_generators import to_camel

from paperclip_records import (
    AttachmentContent,
    BatchWakeupResult,
    CheckoutOwnership,
    Comment,
    Document,
    DocumentSummary,
    Issue,
    IssueAttachment,
    IssueListItem,
    IssueUpdate,
    OrchestrationSummary,
    RelationSummary,
    Subtree,
    WakeupResult,
)
from sandbox.sdk._host import HostChannel, actor_fields, compact, many, one, optional
from sandbox.sdk._types import Actor


class IssueRelationsClient:
    """``ctx.issues.relations``: the issues blocking an issue."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def get(self, issue_id: str, company_id: str) -> RelationSummary:
        """The issues that block the issue, and the issues it blocks."""
        params = {"issueId": issue_id, "companyId": company_id}
        return one(RelationSummary, await self._host.call("issues.relations.get", params))

    async def set_blocked_by(
        self,
        issue_id: str,
        blocked_by_issue_ids: Sequence[str],
        company_id: str,
        *,
        actor: Actor | None = None,
    ) -> RelationSummary:
        """Replace the issue's blockers."""
        return await self._change(
            "setBlockedBy", "blockedByIssueIds", issue_id, blocked_by_issue_ids, company_id, actor
        )

    async def add_blockers(
        self,
        issue_id: str,
        blocker_issue_ids: Sequence[str],
        company_id: str,
        *,
        actor: Actor | None = None,
    ) -> RelationSummary:
        """Add blockers to the issue; the ones it has stay."""
        return await self._change(
            "addBlockers", "blockerIssueIds", issue_id, blocker_issue_ids, company_id, actor
        )

    async def remove_blockers(
        self,
        issue_id: str,
        blocker_issue_ids: Sequence[str],
        company_id: str,
        *,
        actor: Actor | None = None,
    ) -> RelationSummary:
        """Remove blockers from the issue."""
        return await self._change(
            "removeBlockers", "blockerIssueIds", issue_id, blocker_issue_ids, company_id, actor
        )

    async def _change(
        self,
        verb: str,
        ids_field: str,
        issue_id: str,
        issue_ids: Sequence[str],
        company_id: str,
        actor: Actor | None,
    ) -> RelationSummary:
        params = {"issueId": issue_id, "companyId": company_id, ids_field: list(issue_ids)}
        result = await self._host.call(f"issues.relations.{verb}", params | actor_fields(actor))
        return one(RelationSummary, result)


class IssueDocumentsClient:
    """``ctx.issues.documents``: keyed markdown documents on an issue."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def list(self, issue_id: str, company_id: str) -> list[DocumentSummary]:
        """The issue's documents, without their bodies."""
        params = {"issueId": issue_id, "companyId": company_id}
        return many(DocumentSummary, await self._host.call("issues.documents.list", params))

    async def get(self, issue_id: str, key: str, company_id: str) -> Document | None:
        """The issue's document under ``key``, with its latest body, or None."""
        params = {"issueId": issue_id, "key": key, "companyId": company_id}
        return optional(Document, await self._host.call("issues.documents.get", params))

    async def upsert(
        self,
        *,
        issue_id: str,
        key: str,
        body: str,
        company_id: str,
        title: str | None = None,
        format: str | None = None,
        change_summary: str | None = None,
    ) -> Document:
        """Create the issue's document under ``key``, or write a new revision of it."""
        params = compact(
            {
                "issueId": issue_id,
                "key": key,
                "body": body,
                "companyId": company_id,
                "title": title,
                "format": format,
                "changeSummary": change_summary,
            }
        )
        return one(Document, await self._host.call("issues.documents.upsert", params))

    async def delete(self, issue_id: str, key: str, company_id: str) -> None:
        """Delete the issue's document under ``key``."""
        params = {"issueId": issue_id, "key": key, "companyId": company_id}
        await self._host.call("issues.documents.delete", params)


class IssueSummariesClient:
    """``ctx.issues.summaries``: read models over an issue or its subtree."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def get_orchestration(
        self,
        *,
        issue_id: str,
        company_id: str,
        include_subtree: bool | None = None,
        billing_code: str | None = None,
    ) -> OrchestrationSummary:
        """Relations, approvals, runs, costs and budget stops of an issue or subtree, at once."""
        params = compact(
            {
                "issueId": issue_id,
                "companyId": company_id,
                "includeSubtree": include_subtree,
                "billingCode": billing_code,
            }
        )
        result = await self._host.call("issues.summaries.getOrchestration", params)
        return one(OrchestrationSummary, result)


class IssuesClient:
    """``ctx.issues``."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host
        self.relations = IssueRelationsClient(host)
        self.documents = IssueDocumentsClient(host)
        self.summaries = IssueSummariesClient(host)

    async def list(
        self,
        *,
        company_id: str,
        project_id: str | None = None,
        assignee_agent_id: str | None = None,
        origin_kind: str | None = None,
        origin_kind_prefix: str | None = None,
        origin_id: str | None = None,
        status: str | None = None,
        include_plugin_operations: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[IssueListItem]:
        """The company's issues, filtered and paged (descriptions cut to 1,200 characters)."""
        params = compact(
            {
                "companyId": company_id,
                "projectId": project_id,
                "assigneeAgentId": assignee_agent_id,
                "originKind": origin_kind,
                "originKindPrefix": origin_kind_prefix,
                "originId": origin_id,
                "status": status,
                "includePluginOperations": include_plugin_operations,
                "limit": limit,
                "offset": offset,
            }
        )
        return many(IssueListItem, await self._host.call("issues.list", params))

    async def get(self, issue_id: str, company_id: str) -> Issue | None:
        """An issue of the company by id, or None."""
        params = {"issueId": issue_id, "companyId": company_id}
        return optional(Issue, await self._host.call("issues.get", params))

    async def create(
        self,
        *,
        company_id: str,
        title: str,
        project_id: str | None = None,
        goal_id: str | None = None,
        parent_id: str | None = None,
        inherit_execution_workspace_from_issue_id: str | None = None,
        description: str | None = None,
        status: str | None = None,
        priority: str | None = None,
        assignee_agent_id: str | None = None,
        assignee_user_id: str | None = None,
        request_depth: int | None = None,
        billing_code: str | None = None,
        assignee_adapter_overrides: Mapping[str, Any] | None = None,
        surface_visibility: str | None = None,
        origin_kind: str | None = None,
        origin_id: str | None = None,
        origin_run_id: str | None = None,
        blocked_by_issue_ids: Sequence[str] | None = None,
        label_ids: Sequence[str] | None = None,
        execution_workspace_id: str | None = None,
        execution_workspace_preference: str | None = None,
        execution_workspace_settings: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> Issue:
        """Create an issue, optionally blocked by other issues, attributed to the plugin."""
        params = compact(
            {
                "companyId": company_id,
                "projectId": project_id,
                "goalId": goal_id,
                "parentId": parent_id,
                "inheritExecutionWorkspaceFromIssueId": inherit_execution_workspace_from_issue_id,
                "title": title,
                "description": description,
                "status": status,
                "priority": priority,
                "assigneeAgentId": assignee_agent_id,
                "assigneeUserId": assignee_user_id,
                "requestDepth": request_depth,
                "billingCode": billing_code,
                "assigneeAdapterOverrides": _plain(assignee_adapter_overrides),
                "surfaceVisibility": surface_visibility,
                "originKind": origin_kind,
                "originId": origin_id,
                "originRunId": origin_run_id,
                "blockedByIssueIds": _plain(blocked_by_issue_ids),
                "labelIds": _plain(label_ids),
                "executionWorkspaceId": execution_workspace_id,
                "executionWorkspacePreference": execution_workspace_preference,
                "executionWorkspaceSettings": _plain(execution_workspace_settings),
            }
        )
        return one(Issue, await self._host.call("issues.create", params | actor_fields(actor)))

    async def update(
        self,
        issue_id: str,
        patch: Mapping[str, Any],
        company_id: str,
        *,
        actor: Actor | None = None,
    ) -> IssueUpdate:
        """Change the fields in ``patch`` (snake_case keys; a None value clears the field);
        the answer carries upstream's ``changes`` receipt.

        The actor is folded into the patch, as the published SDK sends it.
        """
        wire_patch = {to_camel(key): value for key, value in patch.items()}
        params = {
            "issueId": issue_id,
            "patch": wire_patch | actor_fields(actor),
            "companyId": company_id,
        }
        return one(IssueUpdate, await self._host.call("issues.update", params))

    async def assert_checkout_owner(
        self, *, issue_id: str, company_id: str, actor_agent_id: str, actor_run_id: str
    ) -> CheckoutOwnership:
        """Confirm the agent run owns the issue's checkout (a stale lock may be adopted)."""
        params = {
            "issueId": issue_id,
            "companyId": company_id,
            "actorAgentId": actor_agent_id,
            "actorRunId": actor_run_id,
        }
        return one(CheckoutOwnership, await self._host.call("issues.assertCheckoutOwner", params))

    async def get_subtree(
        self,
        issue_id: str,
        company_id: str,
        *,
        include_root: bool | None = None,
        include_relations: bool | None = None,
        include_documents: bool | None = None,
        include_active_runs: bool | None = None,
        include_assignees: bool | None = None,
    ) -> Subtree:
        """An issue and its descendants; relations, documents, runs and assignees on request."""
        params = compact(
            {
                "issueId": issue_id,
                "companyId": company_id,
                "includeRoot": include_root,
                "includeRelations": include_relations,
                "includeDocuments": include_documents,
                "includeActiveRuns": include_active_runs,
                "includeAssignees": include_assignees,
            }
        )
        return one(Subtree, await self._host.call("issues.getSubtree", params))

    async def request_wakeup(
        self,
        issue_id: str,
        company_id: str,
        *,
        reason: str | None = None,
        context_source: str | None = None,
        idempotency_key: str | None = None,
        actor: Actor | None = None,
    ) -> WakeupResult:
        """Wake the issue's assignee (refused for unassigned, closed or blocked issues)."""
        params = compact(
            {
                "issueId": issue_id,
                "companyId": company_id,
                "reason": reason,
                "contextSource": context_source,
                "idempotencyKey": idempotency_key,
            }
        )
        result = await self._host.call("issues.requestWakeup", params | actor_fields(actor))
        return one(WakeupResult, result)

    async def request_wakeups(
        self,
        issue_ids: Sequence[str],
        company_id: str,
        *,
        reason: str | None = None,
        context_source: str | None = None,
        idempotency_key_prefix: str | None = None,
        actor: Actor | None = None,
    ) -> builtins.list[BatchWakeupResult]:
        """Wake the assignees of several issues; the host stops at the first refusal."""
        params = compact(
            {
                "issueIds": list(issue_ids),
                "companyId": company_id,
                "reason": reason,
                "contextSource": context_source,
                "idempotencyKeyPrefix": idempotency_key_prefix,
            }
        )
        result = await self._host.call("issues.requestWakeups", params | actor_fields(actor))
        return many(BatchWakeupResult, result)

    async def list_comments(self, issue_id: str, company_id: str) -> builtins.list[Comment]:
        """The issue's comments."""
        params = {"issueId": issue_id, "companyId": company_id}
        return many(Comment, await self._host.call("issues.listComments", params))

    async def list_attachments(self, issue_id: str, company_id: str) -> list[IssueAttachment]:
        """The issue's attachments, newest first (``[]`` for a missing issue)."""
        params = {"issueId": issue_id, "companyId": company_id}
        return many(IssueAttachment, await self._host.call("issues.listAttachments", params))

    async def get_attachment_content(
        self, attachment_id: str, company_id: str, *, max_bytes: int | None = None
    ) -> AttachmentContent | None:
        """An attachment's bytes as base64 (``content_base64``), or None; refused when they are
        over ``max_bytes``."""
        params = compact(
            {"attachmentId": attachment_id, "companyId": company_id, "maxBytes": max_bytes}
        )
        return optional(
            AttachmentContent, await self._host.call("issues.getAttachmentContent", params)
        )

    async def create_comment(
        self,
        issue_id: str,
        body: str,
        company_id: str,
        *,
        author_agent_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> Comment:
        """Add a comment to the issue, authored by an agent, or written for a board member
        (``actor_user_id``; needs ``issue.comments.create_human_attributed``)."""
        params = compact(
            {
                "issueId": issue_id,
                "body": body,
                "companyId": company_id,
                "authorAgentId": author_agent_id,
                "actorUserId": actor_user_id,
            }
        )
        return one(Comment, await self._host.call("issues.createComment", params))


def _plain(value: Any) -> Any:
    """Sequences and mappings as JSON arrays and objects."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    return list(value)
