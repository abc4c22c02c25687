"""The app: routes between the four screens, follows the change feed, shows problems.

Everything that reads the database runs in workers, so the screen never waits on it. The
change feed runs in one long worker for the app's whole life and hands each batch of changes
to the screens that are mounted; a failure of any other worker shows on the status line and
in a notification, never as a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.events import Resize
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.plugin_registry import list_plugins
from db import Database
from db.change_feed import ChangeFeed, FeedStatus
from tui.bindings import KEYS, bindings, display_keys
from tui.messages import ChangesArrived
from tui.scope import ViewScope
from tui.screens.activity_screen import ActivityScreen
from tui.screens.costs_screen import CostsScreen
from tui.screens.help_screen import HelpScreen
from tui.screens.live_screen import LiveScreen
from tui.screens.plugins_screen import PluginsScreen
from tui.screens.runs_screen import RunsScreen
from tui.screens.too_small_screen import TooSmallScreen

#: The smallest terminal the screens fit in.
MIN_SIZE = (80, 20)
#: Seconds between two attempts to start the change feed.
FEED_RETRY_SECONDS = 2.0


class SandboxTui(App[None]):
    """The reviewer's view of a sandbox database.

    Args:
        db: the database, opened read-only.
        scope: the company (and plugin) to show.
        theme: a Textual theme name.
        keymap: remapped keys, by key id.
        clock: the current time (snapshot tests fix it).
        feed_options: passed to the change feed (tests shorten its intervals).
    """

    TITLE = "Paperclip sandbox"
    CSS = """
    LiveScreen > Horizontal { height: 1fr; }
    .table-title { background: $boost; color: $text-muted; width: 100%; padding: 0 1; }
    #plugins { height: 10; }
    #capabilities-side { width: 45%; }
    FilterBar.-invalid { border: tall $error; }
    """
    MODES: ClassVar[dict[str, Any]] = {
        "activity": ActivityScreen,
        "runs": RunsScreen,
        "costs": CostsScreen,
        "plugins": PluginsScreen,
    }
    DEFAULT_MODE = "activity"
    BINDINGS: ClassVar[list[BindingType]] = bindings("global")

    def __init__(
        self,
        db: Database,
        scope: ViewScope,
        *,
        theme: str | None = None,
        keymap: dict[str, str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        feed_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.db = db
        self.scope = scope
        self.clock = clock
        self.keymap = keymap or {}
        self.feed_options = feed_options or {}
        self.sub_title = scope.label
        if theme is not None:
            self.theme = theme
        #: The screens that take live changes (those mounted).
        self.live_screens: set[LiveScreen] = set()
        self.feed_error: str | None = None
        self.read_error: str | None = None
        #: Commit to receipt of the newest change, in milliseconds.
        self.lag_ms: float | None = None
        #: Plugin keys by record id (the database names plugins by id in many places).
        self.plugin_keys: dict[str, str] = {}
        self._too_small: TooSmallScreen | None = None

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.follow_changes()
        self._read_plugin_keys()
        self._check_size(self.size.width, self.size.height)

    async def on_unmount(self) -> None:
        await self.db.dispose()

    def actor_name(self, actor: str | None) -> str:
        """``<type>:<id>`` as a reviewer reads it: a plugin (host calls a plugin makes run as
        ``system`` with the plugin's record id) by its key."""
        if not actor:
            return "-"
        kind, _, actor_id = actor.partition(":")
        key = self.plugin_keys.get(actor_id)
        return f"plugin {key}" if key else f"{kind} {actor_id}"

    @work(group="plugins", exclusive=True, exit_on_error=False)
    async def _read_plugin_keys(self) -> None:
        plugins = await list_plugins(self.db, include_uninstalled=True)
        self.plugin_keys = {plugin.id: plugin.plugin_key for plugin in plugins}

    def problem(self) -> str | None:
        """What is wrong now, for the status line: the feed first, then the last failed read."""
        if self.feed_error:
            return f"feed: {self.feed_error}"
        return f"read failed: {self.read_error}" if self.read_error else None

    # -- the change feed -----------------------------------------------------------------------

    @work(group="feed", exclusive=True, exit_on_error=False)
    async def follow_changes(self) -> None:
        """Follow the change feed for the app's whole life, restarting it when it fails."""
        while True:
            feed = ChangeFeed(self.db, on_status=self._feed_status, **self.feed_options)
            try:
                await feed.start()
            except Exception as error:  # the database is not reachable right now
                self.feed_error = f"{_one_line(error)} (retrying in {FEED_RETRY_SECONDS:g}s)"
                await asyncio.sleep(FEED_RETRY_SECONDS)
                continue
            try:
                self.feed_error = None
                async for changes in feed:
                    self.post_message(ChangesArrived(changes))
            finally:
                await feed.close()

    def _feed_status(self, status: FeedStatus) -> None:
        self.feed_error = status.error
        for screen in list(self.live_screens):
            screen.refresh_status()

    def on_changes_arrived(self, message: ChangesArrived) -> None:
        newest = max(
            (
                row.get("updated_at") or row.get("created_at")
                for c in message.changes
                for row in c.rows
            ),
            default=None,
        )
        if newest is not None:
            self.lag_ms = max((self.clock() - newest).total_seconds() * 1000, 0.0)
        self.read_error = None
        for change in message.changes:
            if change.table == "plugins":
                self.plugin_keys.update((str(row["id"]), row["plugin_key"]) for row in change.rows)
        for screen in list(self.live_screens):
            screen.take_changes(message.changes)
            screen.refresh_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every failed read ends here: shown, never raised."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.read_error = _one_line(error) if error is not None else "unknown error"
            self.notify(f"Reading the database failed: {self.read_error}", severity="error")

    # -- size, help, palette -------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        if small and self._too_small is None:
            self._too_small = TooSmallScreen(MIN_SIZE)
            self.push_screen(self._too_small)
        elif small and self._too_small is not None:
            self._too_small.show_size(width, height)
        elif not small and self._too_small is not None:
            self._too_small.dismiss()
            self._too_small = None

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keymap))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette lists every key of the screen, with its keys, then Textual's own."""
        scopes = {"global", "lists", getattr(screen, "MODE", "")}
        for key in KEYS:
            if key.scope in scopes:
                keys = display_keys(self.keymap.get(key.id, key.keys))
                yield SystemCommand(
                    f"{key.description}  ({keys})",
                    f"key {keys} · id {key.id}",
                    partial(self._run_key_action, screen, key.action),
                )
        yield from super().get_system_commands(screen)

    async def _run_key_action(self, screen: Screen[Any], action: str) -> None:
        if action.startswith("app."):
            await self.run_action(action.removeprefix("app."))
        else:
            await self.run_action(action, screen)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
