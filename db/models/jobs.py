"""Plugin jobs: a manifest's scheduled jobs and each run of one."""

from __future__ import annotations

import uuid
from datetime import datetime

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


class PluginJob(Base, table=True):
    """A job a plugin's manifest declares, with its cron schedule and next due time."""

    __tablename__ = "plugin_jobs"
    __table_args__ = (
        Index("plugin_jobs_plugin_idx", "plugin_id"),
        Index("plugin_jobs_next_run_idx", "next_run_at"),
        Index("plugin_jobs_unique_idx", "plugin_id", "job_key", unique=True),
    )

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    job_key: str = text_field()
    schedule: str = text_field()
    status: str = text_field("active")
    last_run_at: datetime | None = timestamp_field()
    next_run_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class PluginJobRun(Base, table=True):
    """One run of a plugin job (scheduled, manual or retry)."""

    __tablename__ = "plugin_job_runs"
    __table_args__ = (
        Index("plugin_job_runs_job_idx", "job_id"),
        Index("plugin_job_runs_plugin_idx", "plugin_id"),
        Index("plugin_job_runs_status_idx", "status"),
    )

    id: uuid.UUID = id_field()
    job_id: uuid.UUID = fk_field("plugin_jobs.id", ondelete="CASCADE", nullable=False)
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    company_id: uuid.UUID | None = fk_field("companies.id", ondelete="CASCADE")
    trigger: str = text_field()
    status: str = text_field("pending")
    duration_ms: int | None = int_field()
    error: str | None = text_field(nullable=True)
    logs: list[str] = json_field([])
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
