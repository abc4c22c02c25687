"""What the four screens share: the tabs, the status line, the filter line, the detail pane,
export and copy, pause and sort. Each screen fills in what its rows are."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.console import RenderableType
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from core.read_models.export import Exportable, ExportFormat, RowWriter
from db.change_feed import Change
from tui.bindings import bindings
from tui.filters import FilterError
from tui.messages import FilterSubmitted
from tui.screens.export_screen import ExportScreen
from tui.widgets.detail_pane import DetailPane
from tui.widgets.filter_bar import FilterBar
from tui.widgets.screen_tabs import ScreenTabs
from tui.widgets.status_bar import Status, StatusBar

if TYPE_CHECKING:
    from tui.app import SandboxTui

#: Seconds between two redraws of the status line.
STATUS_INTERVAL = 0.25


class LiveScreen(Screen[None]):
    """A screen of rows that change while it is open."""

    #: The app mode (``activity``, ``runs``, ``costs``, ``plugins``).
    MODE: ClassVar[str]
    #: The fields its filters can name, for the filter line's hint.
    FILTER_FIELDS: ClassVar[tuple[str, ...]] = ()
    BINDINGS: ClassVar[list[BindingType]] = bindings("lists")

    @property
    def tui(self) -> SandboxTui:
        return cast("SandboxTui", self.app)

    # -- what each screen provides -----------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the tabs and the status line."""
        raise NotImplementedError

    def take_changes(self, changes: list[Change]) -> None:
        """Apply changes the feed delivered (called for every screen that is mounted)."""
        raise NotImplementedError

    def status(self) -> Status:
        raise NotImplementedError

    def apply_filter(self, text: str) -> None:
        """Hide the rows that do not match ``text``; raises ``FilterError`` for bad text."""
        raise NotImplementedError

    def shown_rows(self) -> list[Exportable]:
        """The rows an export writes: those shown, in the order shown."""
        raise NotImplementedError

    def selected(self) -> Exportable | None:
        """The row under the cursor."""
        raise NotImplementedError

    async def describe(self, row: Any) -> RenderableType:
        """What the detail pane shows of ``row`` (reads related rows)."""
        raise NotImplementedError

    def focus_rows(self) -> None:
        """Give the keyboard back to the screen's main list."""
        raise NotImplementedError

    def toggle_pause(self) -> None:
        raise NotImplementedError

    def follow(self) -> None:
        """Back to the newest rows, live."""
        raise NotImplementedError

    def next_sort(self, *, reverse: bool) -> None:
        raise NotImplementedError

    def reload(self) -> None:
        """Read everything again (the ``refresh`` key, and when the screen opens)."""
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ScreenTabs(self.MODE, self.tui.scope.label)
        yield from self.compose_body()
        yield FilterBar(", ".join(f"{field}:" for field in self.FILTER_FIELDS))
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.tui.live_screens.add(self)
        self.set_interval(STATUS_INTERVAL, self.refresh_status)
        self.reload()

    def on_unmount(self) -> None:
        self.tui.live_screens.discard(self)

    def refresh_status(self) -> None:
        self.query_one(StatusBar).show(self.status())

    def base_status(self, **values: Any) -> Status:
        """A status with the app-wide parts filled in."""
        return Status(
            lag_ms=self.tui.lag_ms,
            backend=self.tui.scope.backend,
            error=self.tui.problem(),
            **values,
        )

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    @on(FilterSubmitted)
    def _filter(self, message: FilterSubmitted) -> None:
        bar = self.query_one(FilterBar)
        try:
            self.apply_filter(message.text)
        except FilterError as error:
            bar.border_title = str(error)
            bar.add_class("-invalid")
            return
        bar.border_title = None
        bar.remove_class("-invalid")
        if message.final:
            self.focus_rows()
        self.refresh_status()

    def action_clear(self) -> None:
        bar = self.query_one(FilterBar)
        pane = self.query_one(DetailPane)
        if bar.value or bar.has_class("-open"):
            bar.action_clear()
        elif pane.is_open:
            pane.close()

    def action_detail(self) -> None:
        pane = self.query_one(DetailPane)
        if pane.is_open:
            pane.close()
            return
        pane.open()
        self.show_detail()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        """``enter`` on a table selects its row; the detail pane opens or closes as on lists."""
        self.action_detail()

    def show_detail(self) -> None:
        """Fill the detail pane with the selected row, if the pane is open."""
        pane = self.query_one(DetailPane)
        row = self.selected()
        if pane.is_open and row is not None:
            self._describe(row)

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _describe(self, row: Any) -> None:
        self.query_one(DetailPane).show(await self.describe(row))

    def action_copy_row(self) -> None:
        row = self.selected()
        if row is None:
            self.notify("No row is selected.", severity="warning")
            return
        self.app.copy_to_clipboard(json.dumps(row.to_json(), indent=2))
        self.notify("Copied the row as JSON (OSC 52; in tmux: set -g set-clipboard on).")

    def action_export(self) -> None:
        rows = self.shown_rows()
        stem = f"{self.MODE}-{datetime.now():%Y%m%d-%H%M%S}"

        def chosen(choice: tuple[ExportFormat, Path] | None) -> None:
            if choice is not None:
                self._export(rows, *choice)

        self.app.push_screen(ExportScreen(len(rows), stem), chosen)

    @work(group="export", thread=True, exit_on_error=False)
    def _export(self, rows: list[Exportable], export_format: ExportFormat, path: Path) -> None:
        try:
            with path.open("w", newline="") as stream:
                written = RowWriter(stream, export_format).write(rows)
        except OSError as error:
            self.app.call_from_thread(
                self.notify, f"Export failed: {error.strerror}: {path}", severity="error"
            )
            return
        self.app.call_from_thread(self.notify, f"Exported {written:,} rows to {path}")

    def action_toggle_pause(self) -> None:
        self.toggle_pause()
        self.refresh_status()

    def action_follow(self) -> None:
        self.follow()
        self.refresh_status()

    def action_sort(self) -> None:
        self.next_sort(reverse=False)
        self.refresh_status()

    def action_reverse_sort(self) -> None:
        self.next_sort(reverse=True)
        self.refresh_status()

    def action_refresh_now(self) -> None:
        self.reload()
