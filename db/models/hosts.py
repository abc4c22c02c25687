"""Ours: the ``sandbox serve`` processes sharing a database, and the runs each one holds.

Upstream runs one server per database and keeps the runs it executes in memory. Several hosts on
one database need that in a table: a host that stops beating is dead, and the runs it held are
recovered by the others.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from db.models.base import Base, fk_field, id_field, int_field, text_field, timestamp_field
from db.types import UUID


class SandboxHost(Base, table=True):
    """A running (or stopped) ``sandbox serve`` process."""

    __tablename__ = "sandbox_hosts"
    __table_args__ = (Index("sandbox_hosts_heartbeat_idx", "stopped_at", "heartbeat_at"),)

    id: uuid.UUID = id_field()
    hostname: str = text_field()
    pid: int = int_field(nullable=False)
    #: Where its HTTP server listens (``http://127.0.0.1:3100``).
    url: str = text_field()
    started_at: datetime = timestamp_field(now=True)
    heartbeat_at: datetime = timestamp_field(now=True)
    stopped_at: datetime | None = timestamp_field()


class SandboxRunLease(Base, table=True):
    """The host executing a heartbeat run (one row while the run is ``running``)."""

    __tablename__ = "sandbox_run_leases"
    __table_args__ = (Index("sandbox_run_leases_host_idx", "host_id"),)

    run_id: uuid.UUID = Field(
        sa_type=UUID, foreign_key="heartbeat_runs.id", ondelete="CASCADE", primary_key=True
    )
    host_id: uuid.UUID = fk_field("sandbox_hosts.id", ondelete="CASCADE", nullable=False)
    leased_at: datetime = timestamp_field(now=True)
