"""The records of Paperclip's plugin API: what the host hands plugins, with upstream's JSON shape.

Fields are snake_case in Python and camelCase on the wire (``record.model_dump(mode="json",
by_alias=True)``), exactly as the published SDK's types name them. Ids are canonical lowercase
strings, as plugins see them; timestamps are aware UTC datetimes (ISO-8601 on the wire).

The host (``core``) builds these records and the plugin SDK (``sandbox.sdk``) parses them, so
they live here, in a package that imports nothing of ours but pydantic: a plugin worker imports
the SDK without loading the host, and a plugin may have its own ``core`` or ``db`` module.
Unknown fields from newer hosts are ignored when parsing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


#: An id as plugins see it: canonical lowercase text (database UUIDs are converted).
Id = Annotated[str, BeforeValidator(_id_text)]


class Record(BaseModel):
    """Base of every record: camelCase aliases, immutable.

    Validators are built on a record type's first use, not at import (``defer_build``): a
    worker imports every record type and uses a few, and building them all would double the
    SDK's import time. A worker builds them while it waits for its first message
    (``unbuilt_record_types``), so a worker started ahead does not build them in a test.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object a plugin receives."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def trusted(cls, values: Any) -> Any:
        """Build a record from a database row the host itself wrote, without re-validating.

        Summaries build thousands of records per call; validation would dominate their cost.
        Only the id conversion that validation would do (UUID to text) is applied.
        """
        fields = cls.model_fields
        return cls.model_construct(
            **{name: _id_text(value) for name, value in dict(values).items() if name in fields}
        )


def unbuilt_record_types() -> list[type[Record]]:
    """The record types (every subclass of ``Record``) whose validators are not built yet,
    ``Issue`` first (what plugins read most); ``model_rebuild()`` builds one."""
    found: list[type[Record]] = []
    pending = Record.__subclasses__()
    while pending:
        record_type = pending.pop(0)
        if record_type not in found:
            found.append(record_type)
            pending.extend(record_type.__subclasses__())
    unbuilt = [record_type for record_type in found if not record_type.__pydantic_complete__]
    return sorted(unbuilt, key=lambda record_type: record_type is not Issue)


class Label(Record):
    """A label on an issue."""

    id: Id
    company_id: Id
    name: str
    color: str
    created_at: datetime
    updated_at: datetime


class IssueRow(Record):
    """An issue's plain row, without labels (what upstream's ``getSubtree`` returns)."""

    id: Id
    company_id: Id
    project_id: Id | None = None
    project_workspace_id: Id | None = None
    goal_id: Id | None = None
    parent_id: Id | None = None
    title: str
    description: str | None = None
    status: str
    priority: str
    assignee_agent_id: Id | None = None
    assignee_user_id: Id | None = None
    checkout_run_id: Id | None = None
    execution_run_id: Id | None = None
    execution_agent_name_key: str | None = None
    execution_locked_at: datetime | None = None
    created_by_agent_id: Id | None = None
    created_by_user_id: Id | None = None
    issue_number: int | None = None
    identifier: str | None = None
    origin_kind: str
    origin_id: Id | None = None
    origin_run_id: Id | None = None
    request_depth: int = 0
    billing_code: str | None = None
    assignee_adapter_overrides: dict[str, Any] | None = None
    execution_policy: dict[str, Any] | None = None
    execution_state: dict[str, Any] | None = None
    execution_workspace_id: Id | None = None
    execution_workspace_preference: str | None = None
    execution_workspace_settings: dict[str, Any] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    hidden_at: datetime | None = None
    conversation_agent_id: Id | None = None
    conversation_user_id: str | None = None
    conversation_state: str | None = None
    conversation_session_generation: int = 0
    conversation_boundary_comment_id: Id | None = None
    #: How many times the status changed (Paperclip 2026.916.1).
    status_version: int = 0
    last_status_decision_id: Id | None = None
    harness_kind: str | None = None
    review_policy: str | None = None
    origin_identity_context_id: Id | None = None
    continuation_identity_context_id: Id | None = None
    unblock_descriptor: dict[str, Any] | None = None
    blocked_transition_at: datetime | None = None
    blocked_owner_notified_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class Issue(IssueRow):
    """An issue row with its labels (upstream's ``Issue``)."""

    labels: list[Label] = Field(default_factory=list)
    label_ids: list[Id] = Field(default_factory=list)


class IssueUpdate(Issue):
    """What ``issues.update`` answers (2026.916.1): the issue, the blockers when the patch set
    them, and ``changes``: ``{field: {from, to}}`` for every column that changed (``updated``
    marks text cut to 200 characters), plus ``labelIds`` and ``blockedByIssueIds`` when the
    patch changed them."""

    blocked_by_issue_ids: list[Id] | None = None
    changes: dict[str, Any] = Field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        wire = super().to_wire()
        if wire["blockedByIssueIds"] is None:
            del wire["blockedByIssueIds"]
        return wire


class IssueAttachment(Record):
    """A file attached to an issue: the attachment and its stored asset, in one object."""

    id: Id
    company_id: Id
    issue_id: Id
    issue_comment_id: Id | None = None
    originating_run_id: Id | None = None
    asset_id: Id
    provider: str
    object_key: str
    content_type: str
    byte_size: int
    sha256: str
    original_filename: str | None = None
    created_by_agent_id: Id | None = None
    created_by_user_id: str | None = None
    created_at: datetime
    updated_at: datetime


class AttachmentContent(Record):
    """The bytes of an attachment (``contentBase64``) with what describes them."""

    attachment_id: Id
    content_type: str
    byte_size: int
    sha256: str
    original_filename: str | None = None
    content_base64: str


class ActiveRun(Record):
    """The queued or running execution run shown on an issue list row."""

    id: Id
    status: str
    agent_id: Id
    invocation_source: str
    trigger_detail: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_at: datetime


class IssueListItem(Issue):
    """A row of ``issues.list``: the description cut to 1,200 characters, execution JSON omitted."""

    active_run: ActiveRun | None = None
    last_activity_at: datetime | None = None
    #: 2026.916.1: the description was longer than what the row carries.
    description_truncated: bool = False


class RelatedIssue(Record):
    """An issue on the other end of a ``blocks`` edge (upstream's ``IssueRelationIssueSummary``)."""

    id: Id
    identifier: str | None = None
    title: str
    status: str
    priority: str
    assignee_agent_id: Id | None = None
    assignee_user_id: Id | None = None
    #: 2026.916.1: the issue's scheduled retry run. Always null here: the sandbox schedules no
    #: retries (the key is present, as upstream's).
    scheduled_retry: dict[str, Any] | None = None


class RelationSummary(Record):
    """The issues that block an issue, and the issues it blocks; each sorted by title."""

    blocked_by: tuple[RelatedIssue, ...] = ()
    blocks: tuple[RelatedIssue, ...] = ()


class CheckoutOwnership(Record):
    """The outcome of ``assert_checkout_owner``."""

    issue_id: Id
    status: str
    assignee_agent_id: Id | None = None
    checkout_run_id: Id | None = None
    adopted_from_run_id: Id | None = None


class WakeupResult(Record):
    """Whether a wakeup put a run in the queue (``run_id`` is the new or coalesced run)."""

    queued: bool
    run_id: Id | None = None


class BatchWakeupResult(WakeupResult):
    """One issue's outcome in ``request_wakeups``."""

    issue_id: Id


class RunSummary(Record):
    """A heartbeat run working on an issue."""

    id: Id
    issue_id: Id | None = None
    agent_id: Id
    status: str
    invocation_source: str
    trigger_detail: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    created_at: datetime


class ApprovalSummary(Record):
    """An approval linked to an issue of the subtree."""

    issue_id: Id
    id: Id
    type: str
    status: str
    requested_by_agent_id: Id | None = None
    requested_by_user_id: Id | None = None
    decided_by_user_id: Id | None = None
    decided_at: datetime | None = None
    created_at: datetime


class CostSummary(Record):
    """Summed cost events of a subtree, narrowed by billing code when one applies."""

    cost_cents: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    billing_code: str | None = None


class BudgetIncidentSummary(Record):
    """An open budget incident of the company."""

    id: Id
    scope_type: str
    scope_id: Id
    metric: str
    window_kind: str
    threshold_type: str
    amount_limit: int
    amount_observed: int
    status: str
    approval_id: Id | None = None
    created_at: datetime


class InvocationBlock(Record):
    """Why an issue's assignee cannot be started now (a budget or pause stop)."""

    issue_id: Id
    agent_id: Id
    scope_type: str
    scope_id: Id
    scope_name: str
    reason: str


class OrchestrationSummary(Record):
    """Everything a workflow plugin needs to steer an issue or subtree, in one read."""

    issue_id: Id
    company_id: Id
    subtree_issue_ids: list[Id]
    relations: dict[str, RelationSummary]
    approvals: list[ApprovalSummary]
    runs: list[RunSummary]
    costs: CostSummary
    open_budget_incidents: list[BudgetIncidentSummary]
    invocation_blocks: list[InvocationBlock]


class AssigneeSummary(Record):
    """An agent assigned to an issue of a subtree."""

    id: Id
    name: str
    role: str
    title: str | None = None
    status: str


class DocumentSummary(Record):
    """An issue document without its body."""

    id: Id
    company_id: Id
    issue_id: Id
    key: str
    title: str | None = None
    format: str
    latest_revision_id: Id | None = None
    latest_revision_number: int
    created_by_agent_id: Id | None = None
    created_by_user_id: Id | None = None
    updated_by_agent_id: Id | None = None
    updated_by_user_id: Id | None = None
    created_at: datetime
    updated_at: datetime


class Document(DocumentSummary):
    """An issue document with its latest body."""

    body: str


class Subtree(Record):
    """An issue and its descendants, with the optional parts that were asked for."""

    root_issue_id: Id
    company_id: Id
    issue_ids: list[Id]
    issues: list[IssueRow]
    relations: dict[str, RelationSummary] | None = None
    documents: dict[str, list[DocumentSummary]] | None = None
    active_runs: dict[str, list[RunSummary]] | None = None
    assignees: dict[str, AssigneeSummary] | None = None

    def to_wire(self) -> dict[str, Any]:
        """As upstream: optional parts that were not asked for are absent, not null."""
        wire = self.model_dump(mode="json", by_alias=True)
        for part in ("relations", "documents", "activeRuns", "assignees"):
            if wire[part] is None:
                del wire[part]
        return wire


class Comment(Record):
    """A comment on an issue."""

    id: Id
    company_id: Id
    issue_id: Id
    author_agent_id: Id | None = None
    author_user_id: Id | None = None
    created_by_run_id: Id | None = None
    body: str
    on_behalf_of_user_id: str | None = None
    client_request_id: str | None = None
    conversation_session_generation: int | None = None
    created_at: datetime
    updated_at: datetime
