"""Upstream's value sets for text columns (packages/shared/src/constants.ts at 9c6f551595).

Upstream enforces these in application code only: the columns are plain ``text`` with no CHECK
constraints and no database enums, and so are ours. Order follows upstream.
"""

from __future__ import annotations

COMPANY_STATUSES = ("active", "paused", "archived")
PAUSE_REASONS = ("manual", "budget", "system")

PRINCIPAL_TYPES = ("user", "agent")
MEMBERSHIP_STATUSES = ("pending", "active", "suspended", "archived")
COMPANY_MEMBERSHIP_ROLES = ("owner", "admin", "operator", "viewer", "member")

AGENT_STATUSES = ("active", "paused", "idle", "running", "error", "pending_approval", "terminated")
AGENT_ROLES = (
    "ceo",
    "cto",
    "cmo",
    "cfo",
    "engineer",
    "designer",
    "pm",
    "qa",
    "devops",
    "researcher",
    "general",
)
#: Known adapter types; upstream accepts other strings too.
AGENT_ADAPTER_TYPES = (
    "process",
    "http",
    "claude_local",
    "codex_local",
    "gemini_local",
    "opencode_local",
    "pi_local",
    "cursor",
    "openclaw_gateway",
)

ISSUE_STATUSES = ("backlog", "todo", "in_progress", "in_review", "done", "blocked", "cancelled")
ISSUE_OPEN_STATUSES = ("backlog", "todo", "in_progress", "in_review", "blocked")
ISSUE_TERMINAL_STATUSES = ("done", "cancelled")
ISSUE_PRIORITIES = ("critical", "high", "medium", "low")
#: Built-in origin kinds; plugins use ``plugin:<pluginKey>`` and sub-kinds below it.
ISSUE_ORIGIN_KINDS = ("manual", "routine_execution")
ISSUE_RELATION_TYPES = ("blocks",)
ISSUE_EXECUTION_POLICY_MODES = ("normal", "auto")
ISSUE_EXECUTION_STAGE_TYPES = ("review", "approval")
ISSUE_EXECUTION_STATE_STATUSES = ("idle", "pending", "changes_requested", "completed")

GOAL_LEVELS = ("company", "team", "agent", "task")
GOAL_STATUSES = ("planned", "active", "achieved", "cancelled")
PROJECT_STATUSES = ("backlog", "planned", "in_progress", "completed", "cancelled")

HEARTBEAT_INVOCATION_SOURCES = ("timer", "assignment", "on_demand", "automation")
WAKEUP_TRIGGER_DETAILS = ("manual", "ping", "callback", "system")
WAKEUP_REQUEST_STATUSES = (
    "queued",
    "deferred_issue_execution",
    "claimed",
    "coalesced",
    "skipped",
    "completed",
    "failed",
    "cancelled",
)
HEARTBEAT_RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "timed_out")
HEARTBEAT_RUN_ACTIVE_STATUSES = ("queued", "running")
HEARTBEAT_RUN_TERMINAL_STATUSES = ("succeeded", "failed", "cancelled", "timed_out")
RUN_LIVENESS_STATES = (
    "completed",
    "advanced",
    "plan_only",
    "empty_response",
    "blocked",
    "failed",
    "needs_followup",
)

BILLING_TYPES = (
    "metered_api",
    "subscription_included",
    "subscription_overage",
    "credits",
    "fixed",
    "unknown",
)
BUDGET_SCOPE_TYPES = ("company", "agent", "project")
BUDGET_METRICS = ("billed_cents",)
BUDGET_WINDOW_KINDS = ("calendar_month_utc", "lifetime")
BUDGET_THRESHOLD_TYPES = ("soft", "hard")
BUDGET_INCIDENT_STATUSES = ("open", "resolved", "dismissed")

APPROVAL_TYPES = (
    "hire_agent",
    "approve_ceo_strategy",
    "budget_override_required",
    "request_board_approval",
)
APPROVAL_STATUSES = ("pending", "revision_requested", "approved", "rejected", "cancelled")

ACTIVITY_ACTOR_TYPES = ("agent", "user", "system", "plugin")
DOCUMENT_FORMATS = ("markdown",)

PLUGIN_STATUSES = ("installed", "ready", "disabled", "error", "upgrade_pending", "uninstalled")
PLUGIN_CATEGORIES = ("connector", "workspace", "automation", "ui")
PLUGIN_STATE_SCOPE_KINDS = (
    "instance",
    "company",
    "project",
    "project_workspace",
    "agent",
    "issue",
    "goal",
    "run",
)
#: Levels the SDK logger writes; upstream has no shared constant for them.
PLUGIN_LOG_LEVELS = ("debug", "info", "warn", "error")
PLUGIN_DATABASE_NAMESPACE_MODES = ("schema",)
PLUGIN_DATABASE_NAMESPACE_STATUSES = ("active", "migration_failed")
PLUGIN_DATABASE_MIGRATION_STATUSES = ("applied", "failed")
PLUGIN_DATABASE_CORE_READ_TABLES = (
    "companies",
    "projects",
    "goals",
    "agents",
    "issues",
    "issue_documents",
    "issue_relations",
    "issue_comments",
    "heartbeat_runs",
    "cost_events",
    "approvals",
    "issue_approvals",
    "budget_incidents",
)
