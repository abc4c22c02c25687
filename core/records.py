"""What host services return: typed records with upstream's JSON shape.

Fields are snake_case in Python and camelCase on the wire (``record.model_dump(mode="json",
by_alias=True)``), exactly as the published SDK's types name them. Ids are canonical lowercase
strings, as plugins see them; timestamps are aware UTC datetimes (ISO-8601 on the wire).

This module imports nothing but pydantic, so the plugin SDK can use these records without
loading the database layer. Unknown fields from newer hosts are ignored when parsing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Record(BaseModel):
    """Base of every record: camelCase aliases, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object a plugin receives."""
        return self.model_dump(mode="json", by_alias=True)


class Label(Record):
    """A label on an issue."""

    id: str
    company_id: str
    name: str
    color: str
    created_at: datetime
    updated_at: datetime


class Issue(Record):
    """An issue row with its labels (upstream's ``Issue``)."""

    id: str
    company_id: str
    project_id: str | None = None
    project_workspace_id: str | None = None
    goal_id: str | None = None
    parent_id: str | None = None
    title: str
    description: str | None = None
    status: str
    priority: str
    assignee_agent_id: str | None = None
    assignee_user_id: str | None = None
    checkout_run_id: str | None = None
    execution_run_id: str | None = None
    execution_agent_name_key: str | None = None
    execution_locked_at: datetime | None = None
    created_by_agent_id: str | None = None
    created_by_user_id: str | None = None
    issue_number: int | None = None
    identifier: str | None = None
    origin_kind: str
    origin_id: str | None = None
    origin_run_id: str | None = None
    request_depth: int = 0
    billing_code: str | None = None
    assignee_adapter_overrides: dict[str, Any] | None = None
    execution_policy: dict[str, Any] | None = None
    execution_state: dict[str, Any] | None = None
    execution_workspace_id: str | None = None
    execution_workspace_preference: str | None = None
    execution_workspace_settings: dict[str, Any] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    hidden_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    labels: list[Label] = []
    label_ids: list[str] = []


class ActiveRun(Record):
    """The queued or running execution run shown on an issue list row."""

    id: str
    status: str
    agent_id: str
    invocation_source: str
    trigger_detail: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_at: datetime


class IssueListItem(Issue):
    """A row of ``issues.list``: the description cut to 1,200 characters, execution JSON omitted."""

    active_run: ActiveRun | None = None
    last_activity_at: datetime | None = None


class RelatedIssue(Record):
    """An issue on the other end of a ``blocks`` edge (upstream's ``IssueRelationIssueSummary``)."""

    id: str
    identifier: str | None = None
    title: str
    status: str
    priority: str
    assignee_agent_id: str | None = None
    assignee_user_id: str | None = None


class RelationSummary(Record):
    """The issues that block an issue, and the issues it blocks; each sorted by title."""

    blocked_by: list[RelatedIssue] = []
    blocks: list[RelatedIssue] = []


class CheckoutOwnership(Record):
    """The outcome of ``assert_checkout_owner``."""

    issue_id: str
    status: str
    assignee_agent_id: str | None = None
    checkout_run_id: str | None = None
    adopted_from_run_id: str | None = None


class WakeupResult(Record):
    """Whether a wakeup put a run in the queue (``run_id`` is the new or coalesced run)."""

    queued: bool
    run_id: str | None = None


class BatchWakeupResult(WakeupResult):
    """One issue's outcome in ``request_wakeups``."""

    issue_id: str


class RunSummary(Record):
    """A heartbeat run working on an issue."""

    id: str
    issue_id: str | None = None
    agent_id: str
    status: str
    invocation_source: str
    trigger_detail: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    created_at: datetime


class ApprovalSummary(Record):
    """An approval linked to an issue of the subtree."""

    issue_id: str
    id: str
    type: str
    status: str
    requested_by_agent_id: str | None = None
    requested_by_user_id: str | None = None
    decided_by_user_id: str | None = None
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

    id: str
    scope_type: str
    scope_id: str
    metric: str
    window_kind: str
    threshold_type: str
    amount_limit: int
    amount_observed: int
    status: str
    approval_id: str | None = None
    created_at: datetime


class InvocationBlock(Record):
    """Why an issue's assignee cannot be started now (a budget or pause stop)."""

    issue_id: str
    agent_id: str
    scope_type: str
    scope_id: str
    scope_name: str
    reason: str


class OrchestrationSummary(Record):
    """Everything a workflow plugin needs to steer an issue or subtree, in one read."""

    issue_id: str
    company_id: str
    subtree_issue_ids: list[str]
    relations: dict[str, RelationSummary]
    approvals: list[ApprovalSummary]
    runs: list[RunSummary]
    costs: CostSummary
    open_budget_incidents: list[BudgetIncidentSummary]
    invocation_blocks: list[InvocationBlock]


class AssigneeSummary(Record):
    """An agent assigned to an issue of a subtree."""

    id: str
    name: str
    role: str
    title: str | None = None
    status: str


class DocumentSummary(Record):
    """An issue document without its body."""

    id: str
    company_id: str
    issue_id: str
    key: str
    title: str | None = None
    format: str
    latest_revision_id: str | None = None
    latest_revision_number: int
    created_by_agent_id: str | None = None
    created_by_user_id: str | None = None
    updated_by_agent_id: str | None = None
    updated_by_user_id: str | None = None
    created_at: datetime
    updated_at: datetime


class Document(DocumentSummary):
    """An issue document with its latest body."""

    body: str


class Subtree(Record):
    """An issue and its descendants, with the optional parts that were asked for."""

    root_issue_id: str
    company_id: str
    issue_ids: list[str]
    issues: list[Issue]
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

    id: str
    company_id: str
    issue_id: str
    author_agent_id: str | None = None
    author_user_id: str | None = None
    created_by_run_id: str | None = None
    body: str
    created_at: datetime
    updated_at: datetime


class ActivityEntry(Record):
    """A row of the activity log."""

    id: str
    company_id: str
    actor_type: str
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    agent_id: str | None = None
    run_id: str | None = None
    details: dict[str, Any] | None = None
    created_at: datetime
