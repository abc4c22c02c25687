"""The TUI's fixtures: the recorded review world on each backend, and apps that view it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from textual.pilot import Pilot

from db import Database, create_db
from tests.fixtures.review_world import NOW, ReviewWorld, load_review_world
from tui.app import SandboxTui
from tui.scope import ViewScope, resolve_scope

#: The change feed polls fast in tests, so that waits stay short.
FEED_OPTIONS = {"poll_interval": 0.02, "catch_up_interval": 0.5}


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Times show in the local zone: tests pin it, so every run draws the same screens."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@dataclass
class Review:
    """The recorded world in a database of the test's backend, and how to view it."""

    world: ReviewWorld
    db: Database
    url: str
    scope: ViewScope

    def app(self, **options: Any) -> SandboxTui:
        """An app on a read-only connection of its own, its clock at the recording's end."""
        options.setdefault("clock", lambda: NOW)
        options.setdefault("feed_options", FEED_OPTIONS)
        return SandboxTui(create_db(self.url, read_only=True), self.scope, **options)


@pytest.fixture
async def review(db: Database, backend: str) -> Review:
    world = await load_review_world(db)
    url = db.url.render_as_string(hide_password=False)
    scope = await resolve_scope(db, company=None, plugin=None, backend=backend, hint="")
    return Review(world, db, url, scope)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every read the app started has finished and the screen is drawn."""
    app = pilot.app
    for _ in range(500):
        busy = [w for w in app.workers if w.group != "feed" and w.is_running]
        if not busy:
            break
        await asyncio.sleep(0.01)
    await pilot.pause()
    await pilot.pause()


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 15) -> None:
    """Wait (letting the app run) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s")
        await pilot.pause(0.02)
    await settle(pilot)


def shown_text(widget: Any) -> str:
    """The text a widget and the Statics inside it show, styles aside."""
    from io import StringIO

    from rich.console import Console
    from rich.text import Text
    from textual.widgets import Static

    console = Console(file=StringIO(), width=220, color_system=None)
    statics = [widget] if isinstance(widget, Static) else list(widget.query(Static))
    for static in statics:
        content = static.content
        console.print(Text.from_markup(content) if isinstance(content, str) else content)
    return console.file.getvalue()  # type: ignore[attr-defined]
