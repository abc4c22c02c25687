"""Upstream's value sets for text columns (packages/shared/src/constants.ts at 9c6f551595).

Upstream enforces these in application code only: the columns are plain ``text`` with no CHECK
constraints and no database enums, and so are ours. Order follows upstream.
"""

from __future__ import annotations

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

ISSUE_STATUSES = ("backlog", "todo", "in_progress", "in_review", "done", "blocked", "cancelled")
ISSUE_PRIORITIES = ("critical", "high", "medium", "low")

HEARTBEAT_RUN_ACTIVE_STATUSES = ("queued", "running")

DOCUMENT_FORMATS = ("markdown",)

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
