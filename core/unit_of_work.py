"""The transaction a core step runs in: ``read`` for reads, ``write`` for changes.

Core functions take either the ``Database`` (when they open their own transaction) or a
``UnitOfWork`` (when they are one step of the caller's transaction), always as their first
parameter. A write's events are published only once it has committed.

Every row a transaction stamps gets the one time of ``UnitOfWork.now``, as PostgreSQL's
``now()`` gives one time per transaction: the issue, its blocker relation and its activity row
written by one host call carry the same ``created_at`` on both backends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.event_bus import EventBus, LiveEvent, PluginEvent
from db import Database, Dialect


@dataclass
class UnitOfWork:
    """The session of one transaction, plus the events a write will publish on commit."""

    session: AsyncSession
    dialect: Dialect
    events: list[PluginEvent | LiveEvent] = field(default_factory=list)
    #: The transaction's time: what every row it writes is stamped with.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def publish_after_commit(self, *events: PluginEvent | LiveEvent) -> None:
        """Queue events; they are dropped if the transaction rolls back."""
        self.events.extend(events)


@asynccontextmanager
async def write(db: Database, bus: EventBus | None) -> AsyncIterator[UnitOfWork]:
    """Run a write transaction; publish its events after a successful commit."""
    async with db.transaction() as session:
        unit = UnitOfWork(session, db.dialect)
        yield unit
    if bus is not None:
        for event in unit.events:
            bus.publish(event)


@asynccontextmanager
async def read(db: Database) -> AsyncIterator[UnitOfWork]:
    """Run a read-only transaction (a reader connection on SQLite)."""
    async with db.read() as session:
        yield UnitOfWork(session, db.dialect)
