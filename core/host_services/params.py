"""The params of each host service call, as the published SDK sends them.

One model per ``ctx.issues.*`` and ``ctx.activity.*`` method. The bridge validates a worker's
params with it once; Python callers build it with snake_case names. Values whose rule needs the
database or the plugin (issue references, actor ids, document keys and bodies, origin kinds)
are checked by the service with upstream's messages and error kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from core.activity import Actor
from core.errors import InvalidInput
from core.issues import IssueCreate, IssueFilter, IssuePatch
from core.params import CompanyId, WireParams

_BLOCKER_IDS = "blocker issue ids must be a list of issue ids"


class IssueRef(WireParams):
    """A call about one issue of a company (by UUID or identifier)."""

    company_id: CompanyId = None  # type: ignore[assignment]
    issue_id: str | None = None


class ActorFields(WireParams):
    """The initiating actor a plugin may name; the service checks it belongs to the company."""

    actor_agent_id: str | None = None
    actor_user_id: str | None = None
    actor_run_id: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_agent_id, self.actor_user_id, self.actor_run_id)


class ListIssues(IssueFilter):
    """``issues.list``: the company and the filters of ``core.issues.IssueFilter``."""

    company_id: CompanyId = None  # type: ignore[assignment]


class CreateIssue(ActorFields, IssueCreate):
    """``issues.create``: the fields of ``core.issues.IssueCreate``, the company and the actor."""

    company_id: CompanyId = None  # type: ignore[assignment]


def _patch_object(value: Any) -> Any:
    if not isinstance(value, Mapping | IssuePatch):
        raise InvalidInput("patch must be an object")
    return value


class UpdateIssue(ActorFields, IssueRef):
    """``issues.update``: a patch of ``core.issues.IssuePatch`` fields."""

    patch: Annotated[IssuePatch, BeforeValidator(_patch_object), Field(validate_default=True)] = (
        None  # type: ignore[assignment]
    )


class SetBlockedBy(ActorFields, IssueRef):
    """``issues.relations.setBlockedBy``: exactly these blockers (an empty list clears them)."""

    messages: ClassVar[Mapping[str, str]] = {"blocked_by_issue_ids": _BLOCKER_IDS}

    blocked_by_issue_ids: list[str]


class EditBlockers(ActorFields, IssueRef):
    """``issues.relations.addBlockers`` and ``removeBlockers``."""

    messages: ClassVar[Mapping[str, str]] = {"blocker_issue_ids": _BLOCKER_IDS}

    blocker_issue_ids: list[str]


class CheckoutOwner(IssueRef):
    """``issues.assertCheckoutOwner``: the agent run that claims the checkout."""

    actor_agent_id: str | None = None
    actor_run_id: str | None = None


class GetSubtree(IssueRef):
    """``issues.getSubtree``: the root is included unless ``includeRoot`` is false."""

    include_root: bool | None = None
    include_relations: bool | None = None
    include_documents: bool | None = None
    include_active_runs: bool | None = None
    include_assignees: bool | None = None


class GetOrchestration(IssueRef):
    """``issues.summaries.getOrchestration``."""

    include_subtree: bool | None = None
    billing_code: str | None = None


class RequestWakeup(ActorFields, IssueRef):
    """``issues.requestWakeup``."""

    reason: str | None = None
    context_source: str | None = None
    idempotency_key: str | None = None


class RequestWakeups(ActorFields):
    """``issues.requestWakeups``: all or nothing; keys are ``<prefix>:<issueId>``."""

    messages: ClassVar[Mapping[str, str]] = {"issue_ids": "issueIds must be a list of issue ids"}

    company_id: CompanyId = None  # type: ignore[assignment]
    issue_ids: list[str]
    reason: str | None = None
    context_source: str | None = None
    idempotency_key_prefix: str | None = None


class CreateComment(IssueRef):
    """``issues.createComment``, optionally as one of the company's agents."""

    messages: ClassVar[Mapping[str, str]] = {"body": "Comment body must be a non-empty string"}

    body: str = ""
    author_agent_id: str | None = None
    #: 2026.916.1: a board user the comment is written for (the author agent is then ignored).
    actor_user_id: str | None = None


class AttachmentRef(WireParams):
    """``issues.getAttachmentContent``: ``maxBytes`` caps what is read when it is above 0."""

    company_id: CompanyId = None  # type: ignore[assignment]
    attachment_id: str | None = None
    max_bytes: Any = None


class DocumentRef(IssueRef):
    """``issues.documents.get`` and ``delete``."""

    # normalized by core.documents (422 "Invalid document key", as upstream)
    key: Any = None


class UpsertDocument(DocumentRef):
    """``issues.documents.upsert``; ``baseRevisionId`` makes the write conditional."""

    # checked by core.documents (422 "Document body must be a string", as upstream)
    body: Any = None
    title: str | None = None
    format: str | None = None
    change_summary: str | None = None
    base_revision_id: str | None = None


class LogActivity(WireParams):
    """``activity.log``: a free-form plugin activity row."""

    messages: ClassVar[Mapping[str, str]] = {
        "message": "activity message must be a non-empty string",
        "metadata": "activity metadata must be an object",
    }

    company_id: CompanyId = None  # type: ignore[assignment]
    message: str = ""
    entity_type: str | None = None
    entity_id: str | None = None
    metadata: dict[str, Any] | None = None
