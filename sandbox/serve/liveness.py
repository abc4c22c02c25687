"""A host's pulse: beat while running, recover the runs of hosts that stopped beating.

Every ``beat_interval`` the host stamps its ``heartbeat_at`` and then fails (and retries once,
by upstream's process-loss rules) the runs held by hosts that stopped or whose last beat is
older than ``dead_after``. A dead host's runs are therefore recovered within
``dead_after + beat_interval`` of its last beat, by whichever live host looks first, exactly
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.event_bus import EventBus
from core.heartbeat_runs import RecoveredRun, recover_lost_runs
from core.hosts import beat, stop_host
from db import Database, DatabaseError
from db.types import utcnow

logger = logging.getLogger(__name__)


class HostLiveness:
    """Beats for ``host_id`` and recovers dead hosts' runs.

    Args:
        db: the shared database.
        host_id: this host (``core.hosts.register_host``).
        beat_interval: seconds between beats.
        dead_after: seconds without a beat after which a host counts as dead; keep it several
            beat intervals long so a busy host is not declared dead.
        bus: the event bus that announces recovered runs (``agent.run.failed``).
        clock: the time stamped on beats and recoveries (tests pass a fake one).
    """

    def __init__(
        self,
        db: Database,
        host_id: str,
        beat_interval: float,
        dead_after: float,
        *,
        bus: EventBus | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if dead_after <= beat_interval:
            raise ValueError("dead_after must be longer than beat_interval")
        self.db = db
        self.host_id = host_id
        self.beat_interval = beat_interval
        self.dead_after = timedelta(seconds=dead_after)
        self.bus = bus
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        #: Every run this host recovered.
        self.recovered: list[RecoveredRun] = []

    async def tick(self, now: datetime | None = None) -> list[RecoveredRun]:
        """Beat once, then recover lost runs; returns the runs recovered now."""
        now = now or self.clock()
        await beat(self.db, self.host_id, now=now)
        found = await recover_lost_runs(
            self.db, host_id=self.host_id, now=now, dead_after=self.dead_after, bus=self.bus
        )
        self.recovered.extend(found)
        return found

    def start(self) -> None:
        """Beat in the background."""
        if self._task is not None:
            raise RuntimeError("host liveness is already started")
        self._task = asyncio.create_task(self._loop(), name="host-liveness")

    async def stop(self, *, mark_stopped: bool = True) -> None:
        """Stop beating and (by default) mark the host stopped, so its leftovers are recovered
        by the other hosts at once instead of after ``dead_after``."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if mark_stopped:
            await stop_host(self.db, self.host_id, now=self.clock())

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except DatabaseError:
                logger.exception("host heartbeat failed; retrying")
            await asyncio.sleep(self.beat_interval)
