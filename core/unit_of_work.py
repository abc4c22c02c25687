"""A write transaction whose events are published only once it has committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from core.event_bus import EventBus, LiveEvent, PluginEvent
from db import Database, Dialect


@dataclass
class UnitOfWork:
    """The session of one write transaction, plus the events it will publish on commit."""

    session: AsyncSession
    dialect: Dialect
    events: list[PluginEvent | LiveEvent] = field(default_factory=list)

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
