"""Writes that wait a little and go together: what a plugin's workers report in bulk (log lines,
counts of capability use) is collected in memory and stored in batches, in the background.

A subclass says what is pending (``_take``) and how a batch is stored (``_store``); it calls
``_pending_grew`` after adding, and ``write_now`` to store at once. A failed store is logged and
its batch dropped: what plugins report must never take the host down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

B = TypeVar("B")


class WriteBehind(Generic[B]):
    """Stores what is pending at most ``flush_interval`` seconds after it arrived."""

    def __init__(self, *, flush_interval: float) -> None:
        self._flush_interval = flush_interval
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()

    def _take(self) -> B | None:
        """Everything pending, as one batch (None when nothing is)."""
        raise NotImplementedError

    async def _store(self, batch: B) -> None:
        raise NotImplementedError

    def _pending_grew(self) -> None:
        """Something was added: make sure a write follows within ``flush_interval``."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self._flush_interval, self.write_now
            )

    def write_now(self) -> None:
        """Start storing what is pending, without waiting for the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = self._take()
        if batch is None:
            return
        task = asyncio.ensure_future(self._write(batch))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def flush(self) -> None:
        """Store everything added so far, and wait for writes already under way."""
        self.write_now()
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def discard(self) -> None:
        """Drop what is pending and wait for writes already under way: for a caller that
        throws the database away next (nothing could read what would be stored)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._take()
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def _write(self, batch: B) -> None:
        try:
            await self._store(batch)
        except Exception:
            logger.exception("could not store a batch of %s", type(self).__name__)
