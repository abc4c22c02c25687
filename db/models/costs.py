"""Money: cost events (integer cents and token counts), budget policies and incidents."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Index

from db.models.base import (
    Base,
    bool_field,
    fk_field,
    id_field,
    int_field,
    text_field,
    timestamp_field,
    uuid_field,
)


class CostEvent(Base, table=True):
    """One billed model call, attributed to an agent and optionally an issue and billing code."""

    __tablename__ = "cost_events"
    __table_args__ = (
        Index("cost_events_company_occurred_idx", "company_id", "occurred_at"),
        Index("cost_events_company_agent_occurred_idx", "company_id", "agent_id", "occurred_at"),
        Index("cost_events_company_provider_occurred_idx", "company_id", "provider", "occurred_at"),
        Index("cost_events_company_biller_occurred_idx", "company_id", "biller", "occurred_at"),
        Index("cost_events_company_heartbeat_run_idx", "company_id", "heartbeat_run_id"),
        # Ours: live viewers follow new rows by time (db.change_feed).
        Index("cost_events_created_idx", "created_at"),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    agent_id: uuid.UUID = fk_field("agents.id", nullable=False)
    issue_id: uuid.UUID | None = fk_field("issues.id")
    project_id: uuid.UUID | None = fk_field("projects.id")
    goal_id: uuid.UUID | None = fk_field("goals.id")
    heartbeat_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id")
    billing_code: str | None = text_field(nullable=True)
    provider: str = text_field()
    biller: str = text_field("unknown")
    billing_type: str = text_field("unknown")
    model: str = text_field()
    input_tokens: int = int_field(0)
    cached_input_tokens: int = int_field(0)
    output_tokens: int = int_field(0)
    cost_cents: int = int_field(nullable=False)
    #: Paperclip 2026.916.1: ``reported`` or ``unpriced``.
    cost_status: str = text_field("reported")
    occurred_at: datetime = timestamp_field(nullable=False)
    created_at: datetime = timestamp_field(now=True)


class BudgetPolicy(Base, table=True):
    """A spending limit on a company, agent or project over a window."""

    __tablename__ = "budget_policies"
    __table_args__ = (
        Index(
            "budget_policies_company_scope_active_idx",
            "company_id",
            "scope_type",
            "scope_id",
            "is_active",
        ),
        Index("budget_policies_company_window_idx", "company_id", "window_kind", "metric"),
        Index(
            "budget_policies_company_scope_metric_unique_idx",
            "company_id",
            "scope_type",
            "scope_id",
            "metric",
            "window_kind",
            unique=True,
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    scope_type: str = text_field()
    scope_id: uuid.UUID = uuid_field(nullable=False)
    metric: str = text_field("billed_cents")
    window_kind: str = text_field()
    amount: int = int_field(0)
    warn_percent: int = int_field(80)
    hard_stop_enabled: bool = bool_field(True)
    notify_enabled: bool = bool_field(True)
    is_active: bool = bool_field(True)
    created_by_user_id: str | None = text_field(nullable=True)
    updated_by_user_id: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class BudgetIncident(Base, table=True):
    """A crossed budget threshold (soft or hard) within one policy window."""

    __tablename__ = "budget_incidents"
    __table_args__ = (
        Index("budget_incidents_company_status_idx", "company_id", "status"),
        Index(
            "budget_incidents_company_scope_idx", "company_id", "scope_type", "scope_id", "status"
        ),
        Index(
            "budget_incidents_policy_window_threshold_idx",
            "policy_id",
            "window_start",
            "threshold_type",
            unique=True,
            postgresql_where=sa.text("status <> 'dismissed'"),
            sqlite_where=sa.text("status <> 'dismissed'"),
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    policy_id: uuid.UUID = fk_field("budget_policies.id", nullable=False)
    scope_type: str = text_field()
    scope_id: uuid.UUID = uuid_field(nullable=False)
    metric: str = text_field()
    window_kind: str = text_field()
    window_start: datetime = timestamp_field(nullable=False)
    window_end: datetime = timestamp_field(nullable=False)
    threshold_type: str = text_field()
    amount_limit: int = int_field(nullable=False)
    amount_observed: int = int_field(nullable=False)
    status: str = text_field("open")
    approval_id: uuid.UUID | None = fk_field("approvals.id")
    resolved_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)
