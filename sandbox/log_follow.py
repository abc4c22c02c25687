"""``sandbox plugin logs --follow``: a plugin's newest log lines, then each new one as it is
committed, until Ctrl-C or SIGTERM.

New lines come from the change feed the TUI follows (``db.change_feed``: NOTIFY on PostgreSQL,
``PRAGMA data_version`` on SQLite), so lines written by any process show up: a running
``sandbox serve``, another CLI command, a test run.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from core import records
from core.plugin_logs import list_logs
from db import Database
from db.change_feed import ChangeFeed


async def follow_logs(
    db: Database,
    plugin_id: str,
    *,
    level: str | None,
    limit: int,
    emit: Callable[[records.PluginLogRecord], None],
) -> None:
    """Emit the plugin's newest ``limit`` lines (oldest first), then every new line, until
    SIGINT or SIGTERM; returns normally then."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # platforms without signal handlers
            loop.add_signal_handler(signum, stop.set)
    try:
        # The feed starts first: a line committed while the newest ones are read is emitted
        # once, by whichever read sees it first.
        async with ChangeFeed(db, ["plugin_logs"]) as feed:
            shown: set[str] = set()
            for line in reversed(await list_logs(db, plugin_id, limit=limit, level=level)):
                shown.add(line.id)
                emit(line)
            following = asyncio.create_task(_new_lines(feed, plugin_id, level, shown, emit))
            stopping = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (following, stopping):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            if following in done:
                following.result()  # the feed failed: raise why
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)


async def _new_lines(
    feed: ChangeFeed,
    plugin_id: str,
    level: str | None,
    shown: set[str],
    emit: Callable[[records.PluginLogRecord], None],
) -> None:
    async for changes in feed:
        for change in changes:
            for row in change.rows:
                line = records.PluginLogRecord.model_validate(row)
                if line.plugin_id != plugin_id or (level is not None and line.level != level):
                    continue
                if line.id not in shown:
                    emit(line)
