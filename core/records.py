"""The host's records: what host services return, with upstream's JSON shape.

The records plugins receive (issues, relations, documents, comments, wakeups, summaries) and
their ``Record`` base are defined in ``paperclip_records``, which the plugin SDK shares without
loading the host; they are re-exported here so the host imports every record from one place.
The records below are the host's own (companies, agents, costs, activity, plugins); plugins
read companies and agents as wire JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from paperclip_records import (
    ActiveRun,
    ApprovalSummary,
    AssigneeSummary,
    AttachmentContent,
    BatchWakeupResult,
    BudgetIncidentSummary,
    CheckoutOwnership,
    Comment,
    CostSummary,
    Document,
    DocumentSummary,
    Id,
    InvocationBlock,
    Issue,
    IssueAttachment,
    IssueListItem,
    IssueRow,
    IssueUpdate,
    Label,
    OrchestrationSummary,
    Record,
    RelatedIssue,
    RelationSummary,
    RunSummary,
    Subtree,
    WakeupResult,
)

__all__ = [
    "ActiveRun",
    "ActivityEntry",
    "Agent",
    "Approval",
    "ApprovalSummary",
    "AssigneeSummary",
    "AttachmentContent",
    "BatchWakeupResult",
    "BudgetIncidentSummary",
    "CheckoutOwnership",
    "Comment",
    "Company",
    "CompanyMembership",
    "CostEvent",
    "CostSummary",
    "Document",
    "DocumentSummary",
    "Goal",
    "Id",
    "InvocationBlock",
    "Issue",
    "IssueAttachment",
    "IssueListItem",
    "IssueRow",
    "IssueUpdate",
    "Label",
    "OrchestrationSummary",
    "PluginEntity",
    "PluginLogRecord",
    "PluginRecord",
    "Record",
    "RelatedIssue",
    "RelationSummary",
    "RunSummary",
    "Subtree",
    "WakeupResult",
]


class Company(Record):
    """A company."""

    id: Id
    name: str
    description: str | None = None
    status: str
    pause_reason: str | None = None
    paused_at: datetime | None = None
    issue_prefix: str
    issue_counter: int
    budget_monthly_cents: int
    spent_monthly_cents: int
    require_board_approval_for_new_agents: bool
    interaction_resolver_governance: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class Approval(Record):
    """A request for a board decision (an ``approvals`` row)."""

    id: Id
    company_id: Id
    type: str
    requested_by_agent_id: Id | None = None
    requested_by_user_id: str | None = None
    status: str
    payload: dict[str, Any] = Field(default_factory=dict)
    decision_note: str | None = None
    decided_by_user_id: str | None = None
    decided_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class Goal(Record):
    """A company goal (a ``goals`` row)."""

    id: Id
    company_id: Id
    title: str
    description: str | None = None
    level: str
    status: str
    parent_id: Id | None = None
    owner_agent_id: Id | None = None
    created_at: datetime
    updated_at: datetime


class PluginEntity(Record):
    """A plugin's record of something outside Paperclip (a ``plugin_entities`` row)."""

    id: Id
    plugin_id: Id
    company_id: Id | None = None
    entity_type: str
    scope_kind: str
    scope_id: str | None = None
    external_id: str | None = None
    title: str | None = None
    status: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class CompanyMembership(Record):
    """A user's or an agent's membership of a company (``company_memberships``)."""

    id: Id
    company_id: Id
    principal_type: str
    principal_id: str
    status: str
    membership_role: str | None = None
    created_at: datetime
    updated_at: datetime


class Agent(Record):
    """An agent of a company."""

    id: Id
    company_id: Id
    name: str
    role: str
    title: str | None = None
    icon: str | None = None
    status: str
    reports_to: Id | None = None
    capabilities: str | None = None
    adapter_type: str
    adapter_config: dict[str, Any] = Field(default_factory=dict)
    runtime_config: dict[str, Any] = Field(default_factory=dict)
    budget_monthly_cents: int = 0
    spent_monthly_cents: int = 0
    pause_reason: str | None = None
    paused_at: datetime | None = None
    permissions: dict[str, Any] = Field(default_factory=dict)
    last_heartbeat_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class CostEvent(Record):
    """One billed model call of an agent (a ``cost_events`` row)."""

    id: Id
    company_id: Id
    agent_id: Id
    issue_id: Id | None = None
    project_id: Id | None = None
    heartbeat_run_id: Id | None = None
    billing_code: str | None = None
    provider: str
    biller: str
    billing_type: str
    model: str
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_cents: int
    occurred_at: datetime
    created_at: datetime


class ActivityEntry(Record):
    """A row of the activity log."""

    id: Id
    company_id: Id
    actor_type: str
    actor_id: Id
    action: str
    entity_type: str
    entity_id: Id
    agent_id: Id | None = None
    run_id: Id | None = None
    details: dict[str, Any] | None = None
    #: Paperclip 2026.916.1: the user answerable for the change (see ``core.activity``).
    responsible_user_id: str | None = None
    created_at: datetime


class PluginRecord(Record):
    """An installed plugin (a ``plugins`` row)."""

    id: Id
    plugin_key: str
    package_name: str
    version: str
    api_version: int
    categories: list[str]
    manifest_json: dict[str, Any]
    status: str
    install_order: int | None = None
    package_path: str | None = None
    last_error: str | None = None
    installed_at: datetime
    updated_at: datetime


class PluginLogRecord(Record):
    """A stored log line of a plugin."""

    id: Id
    plugin_id: Id
    level: str
    message: str
    meta: dict[str, Any] | None = None
    created_at: datetime
