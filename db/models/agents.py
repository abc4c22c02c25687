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
