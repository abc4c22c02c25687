"""Agents: the AI workers a company employs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index

from db.models.base import (
    Base,
    fk_field,
    id_field,
    int_field,
    json_field,
    text_field,
    timestamp_field,
)


class Agent(Base, table=True):
    """An agent of a company, woken through the heartbeat queue."""

    __tablename__ = "agents"
    __table_args__ = (
        Index("agents_company_status_idx", "company_id", "status"),
        Index("agents_company_reports_to_idx", "company_id", "reports_to"),
        Index("agents_company_id_uq", "company_id", "id", unique=True),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    name: str = text_field()
    role: str = text_field("general")
    title: str | None = text_field(nullable=True)
    icon: str | None = text_field(nullable=True)
    status: str = text_field("idle")
    reports_to: uuid.UUID | None = fk_field("agents.id")
    capabilities: str | None = text_field(nullable=True)
    adapter_type: str = text_field("process")
    adapter_config: dict[str, Any] = json_field({})
    runtime_config: dict[str, Any] = json_field({})
    budget_monthly_cents: int = int_field(0)
    spent_monthly_cents: int = int_field(0)
    pause_reason: str | None = text_field(nullable=True)
    paused_at: datetime | None = timestamp_field()
    permissions: dict[str, Any] = json_field({})
    last_heartbeat_at: datetime | None = timestamp_field()
    metadata_: dict[str, Any] | None = json_field(name="metadata")
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class AgentApiKey(Base, table=True):
    """A bearer key an agent presents to the HTTP API; only its SHA-256 hash is stored."""

    __tablename__ = "agent_api_keys"
    __table_args__ = (
        Index("agent_api_keys_key_hash_idx", "key_hash"),
        Index("agent_api_keys_company_agent_idx", "company_id", "agent_id"),
    )

    id: uuid.UUID = id_field()
    agent_id: uuid.UUID = fk_field("agents.id", nullable=False)
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    name: str = text_field()
    key_hash: str = text_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)


class AgentTaskSession(Base, table=True):
    """An agent's adapter session for one task key; plugin sessions use the key
    ``plugin:<pluginKey>:session:<uuid>``."""

    __tablename__ = "agent_task_sessions"
    __table_args__ = (
        Index(
            "agent_task_sessions_company_agent_adapter_task_uniq",
            "company_id",
            "agent_id",
            "adapter_type",
            "task_key",
            unique=True,
        ),
        Index(
            "agent_task_sessions_company_agent_updated_idx", "company_id", "agent_id", "updated_at"
        ),
        Index(
            "agent_task_sessions_company_task_updated_idx", "company_id", "task_key", "updated_at"
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    agent_id: uuid.UUID = fk_field("agents.id", nullable=False)
    adapter_type: str = text_field()
    task_key: str = text_field()
    session_params_json: dict[str, Any] | None = json_field()
    session_display_id: str | None = text_field(nullable=True)
    last_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id")
    last_error: str | None = text_field(nullable=True)
    # Paperclip 2026.916.1: the goal an agent session pursues.
    goal_capability_json: dict[str, Any] | None = json_field()
    goal_json: dict[str, Any] | None = json_field()
    goal_status: str | None = text_field(nullable=True)
    goal_desired_state: str | None = text_field(nullable=True)
    goal_source_id: str | None = text_field(nullable=True)
    goal_source_cursor: int | None = int_field(big=True)
    goal_revision: int = int_field(0)
    goal_observed_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)
