"""The viewer side of ``sandbox bench tui``: the TUI, headless, in a fresh interpreter.

    python -m sandbox.benchmarks.tui_viewer DATABASE_URL SPAWNED_AT

Prints one JSON line once the first screen is drawn, then presses keys every ``KEY_INTERVAL``
seconds and times how long the app takes to answer them (the key's effect is there) while
another process writes. When a
line ``stop`` arrives on its standard input it prints one JSON line of what it measured: when
each row first showed on screen, the key timings, and its memory. Only the standard library is
imported before the clock starts, the way the ``sandbox`` command starts
(``sandbox/startup.py``).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

#: Seconds between two timed key presses.
KEY_INTERVAL = 0.2
#: The terminal the app draws into.
SIZE = (160, 45)


def _rss_kb() -> int:
    """The process's resident memory now, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _view(url: str, spawned_at: float) -> None:
    from sandbox.startup import collector_paused

    with collector_paused():
        from textual import events

        from db import create_db
        from tui.app import SandboxTui
        from tui.scope import resolve_scope
        from tui.screens.activity_screen import CAPACITY, ActivityScreen
        from tui.widgets.live_list import LiveList

    class TimedList(LiveList):  # type: ignore[type-arg]
        """Notes when each row first shows: drawing the newest row shows every row that came
        with it, including those scrolled past in the same frame."""

        shown: dict[str, float] = {}

        def render_line(self, y: int) -> Any:
            visible = self.buffer.visible
            if visible and self.scroll_offset.y + y == len(visible) - 1:
                now = time.time()
                for row in reversed(visible):
                    if row.id in self.shown:
                        break
                    self.shown[row.id] = now
            return super().render_line(y)

    class TimedActivity(ActivityScreen):
        LIST = TimedList

    class TimedTui(SandboxTui):
        MODES = {**SandboxTui.MODES, "activity": TimedActivity}

    started = time.time()
    db = create_db(url, read_only=True)
    scope = await resolve_scope(db, company=None, plugin=None, backend="bench", hint="")
    app = TimedTui(db, scope)
    async with app.run_test(size=SIZE):
        while not TimedList.shown:
            await asyncio.sleep(0.002)
        drawn = min(TimedList.shown.values())
        opened = {"open_ms": (drawn - spawned_at) * 1000, "app_ms": (drawn - started) * 1000}
        print(json.dumps(opened), flush=True)
        stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))
        keys_ms: list[float] = []
        screen = app.screen
        assert isinstance(screen, ActivityScreen)
        # The keys a reviewer presses while rows pour in: pause, then resume.
        presses = (
            ("space", lambda: screen.buffer.paused),
            ("space", lambda: not screen.buffer.frozen),
        )
        while not stop.done():
            # As a terminal delivers keys: the driver posts them. A key is answered when its
            # effect is there.
            for key, answered in presses:
                pressed = time.perf_counter()
                app._driver.send_message(events.Key(key, " "))
                while not answered():
                    await asyncio.sleep(0.001)
                keys_ms.append((time.perf_counter() - pressed) * 1000)
            await asyncio.sleep(KEY_INTERVAL)
        screen = app.screen
        held = len(screen.buffer) if isinstance(screen, ActivityScreen) else 0
        print(
            json.dumps(
                {
                    "shown": TimedList.shown,
                    "keys_ms": keys_ms,
                    "rss_kb": _rss_kb(),
                    "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                    "held_rows": held,
                    "capacity": CAPACITY,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(_view(sys.argv[1], float(sys.argv[2])))
