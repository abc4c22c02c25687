"""The activity log: one row per mutation, attributed to an actor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index

from db.models.base import Base, fk_field, id_field, json_field, text_field, timestamp_field


class ActivityLog(Base, table=True):
    """Who did what to which entity; plugin writes carry ``actor_type = 'plugin'``."""

    __tablename__ = "activity_log"
    __table_args__ = (
        Index("activity_log_company_created_idx", "company_id", "created_at"),
        Index("activity_log_run_id_idx", "run_id"),
        Index("activity_log_entity_type_id_idx", "entity_type", "entity_id"),
        # Ours: live viewers follow new rows of every company by time (db.change_feed), and
        # read a plugin's rows newest first (core.read_models.activity).
        Index("activity_log_created_idx", "created_at"),
        Index("activity_log_actor_created_idx", "actor_type", "actor_id", "created_at"),
        Index("activity_log_company_agent_created_idx", "company_id", "agent_id", "created_at"),
        Index(
            "activity_log_company_responsible_user_created_idx",
            "company_id",
            "responsible_user_id",
            "created_at",
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    actor_type: str = text_field("system")
    actor_id: str = text_field()
    action: str = text_field()
    entity_type: str = text_field()
    entity_id: str = text_field()
    agent_id: uuid.UUID | None = fk_field("agents.id")
    run_id: uuid.UUID | None = fk_field("heartbeat_runs.id")
    details: dict[str, Any] | None = json_field()
    responsible_user_id: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
