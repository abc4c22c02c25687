"""The ``sandbox serve`` processes sharing one database, and whether each is still alive.

A host registers once, then beats (``heartbeat_at``) while it runs and stamps ``stopped_at``
when it shuts down. A host whose last beat is older than the bound the caller gives is dead:
the runs it held are recovered by the live ones (``core.heartbeat_runs.recover_lost_runs``).
Every time comes from the caller's ``now``, so tests drive time without sleeping.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from db import Database, tables


@dataclass(frozen=True)
class Host:
    """One ``sandbox serve`` process, as registered."""

    id: str
    hostname: str
    pid: int
    url: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None


def _host(row: sa.RowMapping) -> Host:
    return Host(
        id=str(row["id"]),
        hostname=row["hostname"],
        pid=row["pid"],
        url=row["url"],
        started_at=row["started_at"],
        heartbeat_at=row["heartbeat_at"],
        stopped_at=row["stopped_at"],
    )


async def register_host(db: Database, *, hostname: str, pid: int, url: str, now: datetime) -> Host:
    """Register a starting host; its first beat is ``now``."""
    host = Host(
        id=str(uuid.uuid4()),
        hostname=hostname,
        pid=pid,
        url=url,
        started_at=now,
        heartbeat_at=now,
        stopped_at=None,
    )
    async with db.transaction() as session:
        await session.execute(
            sa.insert(tables.sandbox_hosts).values(
                id=host.id,
                hostname=hostname,
                pid=pid,
                url=url,
                started_at=now,
                heartbeat_at=now,
                stopped_at=None,
            )
        )
    return host


async def beat(db: Database, host_id: str, *, now: datetime) -> bool:
    """Record that the host is alive at ``now``; False when it is unknown or stopped."""
    hosts = tables.sandbox_hosts
    async with db.transaction() as session:
        result = await session.execute(
            sa.update(hosts)
            .where(hosts.c.id == host_id, hosts.c.stopped_at.is_(None))
            .values(heartbeat_at=now)
        )
    return result.rowcount > 0


async def stop_host(db: Database, host_id: str, *, now: datetime) -> bool:
    """Mark the host stopped (runs it still holds become recoverable at once)."""
    hosts = tables.sandbox_hosts
    async with db.transaction() as session:
        result = await session.execute(
            sa.update(hosts)
            .where(hosts.c.id == host_id, hosts.c.stopped_at.is_(None))
            .values(stopped_at=now, heartbeat_at=now)
        )
    return result.rowcount > 0


async def get_host(db: Database, host_id: str) -> Host | None:
    """The host, or None."""
    hosts = tables.sandbox_hosts
    async with db.read() as session:
        row = (
            (await session.execute(sa.select(hosts).where(hosts.c.id == host_id)))
            .mappings()
            .first()
        )
    return None if row is None else _host(row)


def dead_condition(now: datetime, dead_after: timedelta) -> sa.ColumnElement[bool]:
    """Hosts that stopped, or whose last beat is older than ``now - dead_after``."""
    hosts = tables.sandbox_hosts
    return sa.or_(hosts.c.stopped_at.is_not(None), hosts.c.heartbeat_at < now - dead_after)


async def list_live_hosts(db: Database, *, now: datetime, dead_after: timedelta) -> list[Host]:
    """Hosts not stopped whose last beat is newer than ``now - dead_after``, oldest first."""
    hosts = tables.sandbox_hosts
    query = (
        sa.select(hosts)
        .where(sa.not_(dead_condition(now, dead_after)))
        .order_by(hosts.c.started_at, hosts.c.id)
    )
    async with db.read() as session:
        return [_host(row) for row in (await session.execute(query)).mappings()]


async def find_dead_hosts(db: Database, *, now: datetime, dead_after: timedelta) -> list[Host]:
    """Hosts not stopped whose last beat is older than ``now - dead_after`` (crashed or hung)."""
    hosts = tables.sandbox_hosts
    query = (
        sa.select(hosts)
        .where(hosts.c.stopped_at.is_(None), hosts.c.heartbeat_at < now - dead_after)
        .order_by(hosts.c.heartbeat_at, hosts.c.id)
    )
    async with db.read() as session:
        return [_host(row) for row in (await session.execute(query)).mappings()]
