"""Plugins and logs: every installed plugin at a glance, the selected plugin's capabilities as
declared against as used, and its log lines as they are written.

A reviewer reads an over-privileged manifest (capabilities never used) and a plugin probing for
more (refused calls) here, next to its warnings and errors.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label

from core.read_models.capabilities import CapabilityReport, capability_report
from core.read_models.plugins import LogRow, PluginOverview, log_row, log_tail, plugin_overviews
from db.change_feed import Change
from tui.bindings import bindings
from tui.columns import Column
from tui.filters import FilterFields, parse_filter
from tui.formatting import sparkline, when, when_short
from tui.row_buffer import RowBuffer
from tui.screens.live_screen import LiveScreen
from tui.widgets.detail_pane import DetailPane
from tui.widgets.live_list import ListHeader, LiveList
from tui.widgets.status_bar import Status

#: Log lines held at most, and read when a plugin is chosen.
LOG_CAPACITY = 10_000
LOG_PAGE = 500
#: Least seconds between two reads of the overview.
MIN_READ_INTERVAL = 1.0

_LEVEL_STYLES = {"error": "bold red", "warn": "yellow", "debug": "dim", "metric": "cyan"}
_VERDICT_STYLES = {"used": "green", "unused": "bold yellow", "refused": "bold red"}
#: Tables whose changes move the overview.
_OVERVIEW_TABLES = ("plugins", "plugin_logs", "plugin_capability_usage", "activity_log")


class PluginsScreen(LiveScreen):
    """Installed plugins, capabilities and logs."""

    MODE = "plugins"
    FILTER_FIELDS = ("level", "message", "plugin")
    BINDINGS: ClassVar[list[BindingType]] = bindings("lists", "plugins")

    def __init__(self) -> None:
        super().__init__()
        self.overviews: list[PluginOverview] = []
        self.report: CapabilityReport | None = None
        self.logs: RowBuffer[LogRow] = RowBuffer(capacity=LOG_CAPACITY, row_id=_id)
        self.chosen: str | None = None
        self.last_read = 0.0
        self.log_columns: list[Column[LogRow]] = [
            Column("time", 18, lambda row: when(row.created_at)),
            Column("plugin", 20, self.plugin_key),
            Column("level", 6, lambda row: row.level, style=lambda r: _LEVEL_STYLES.get(r.level)),
            Column("message", 0, lambda row: row.message),
        ]
        self.fields = FilterFields[LogRow](
            fields={
                "level": lambda row: row.level,
                "message": lambda row: row.message,
                "plugin": self.plugin_key,
            },
            haystack=lambda row: f"{row.level} {row.message} {row.meta_json}",
        )

    def plugin_key(self, row: LogRow) -> str:
        return next((o.key for o in self.overviews if o.id == row.plugin_id), row.plugin_id[:8])

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            with Vertical():
                yield DataTable(id="plugins", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="plugin-parts"):
                    with Vertical(id="capabilities-side"):
                        yield Label("Capabilities: declared against used", classes="table-title")
                        yield DataTable(id="capabilities", cursor_type="row")
                    with Vertical(id="logs-side"):
                        yield Label("Log", classes="table-title", id="log-title")
                        yield ListHeader(self.log_columns)
                        yield LiveList(self.logs, self.log_columns)
            yield DetailPane()

    def on_mount(self) -> None:
        plugins = self.query_one("#plugins", DataTable)
        for name in (
            "plugin",
            "status",
            "version",
            "act/min",
            "last 15 min",
            "warn",
            "error",
            "refused",
            "last log",
            "last error",
        ):
            plugins.add_column(name, key=name)
        capabilities = self.query_one("#capabilities", DataTable)
        for name in ("capability", "declared", "verdict", "calls", "refused", "last used"):
            capabilities.add_column(name, key=name)
        super().on_mount()

    @property
    def log_list(self) -> LiveList[LogRow]:
        return self.query_one(LiveList)

    def focus_rows(self) -> None:
        self.query_one("#plugins", DataTable).focus()

    # -- reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        self.last_read = time.monotonic()
        self._read_overview()

    @work(group="overview", exclusive=True, exit_on_error=False)
    async def _read_overview(self) -> None:
        self.overviews = await plugin_overviews(
            self.tui.db, company_id=self.tui.scope.company.id, now=self.tui.clock()
        )
        if self.tui.scope.plugin is not None:
            self.overviews = [o for o in self.overviews if o.id == self.tui.scope.plugin.id]
        table = self.query_one("#plugins", DataTable)
        cursor = table.cursor_row
        table.clear()
        for overview in self.overviews:
            table.add_row(
                Text(overview.key, style="bold"),
                Text(overview.status, style="green" if overview.status == "ready" else "yellow"),
                overview.version,
                f"{overview.activity_rate:.1f}",
                sparkline(overview.activity_per_minute),
                _number(overview.warn_count, "yellow"),
                _number(overview.error_count, "bold red"),
                _number(overview.refused_calls, "bold red"),
                when_short(overview.last_log_at),
                overview.last_error or "",
                key=overview.id,
            )
        if self.overviews:
            table.move_cursor(row=min(max(cursor, 0), len(self.overviews) - 1))
            if self.chosen is None:
                self._choose(self.overviews[table.cursor_row].id)
        self.refresh_status()

    def _choose(self, plugin_id: str) -> None:
        if plugin_id == self.chosen:
            return
        self.chosen = plugin_id
        self.logs = RowBuffer(capacity=LOG_CAPACITY, row_id=_id)
        self.log_list.buffer = self.logs
        self._read_plugin(plugin_id)

    @work(group="plugin", exclusive=True, exit_on_error=False)
    async def _read_plugin(self, plugin_id: str) -> None:
        self.report = await capability_report(self.tui.db, plugin_id)
        page = await log_tail(self.tui.db, [plugin_id], limit=LOG_PAGE)
        self.log_list.rows_changed(shifted=self.logs.add_older(page.items))
        self.query_one("#log-title", Label).update(f"Log of {self.report.plugin_key}")
        self._show_report()

    def _show_report(self) -> None:
        table = self.query_one("#capabilities", DataTable)
        table.clear()
        if self.report is None:
            return
        for use in self.report.capabilities:
            table.add_row(
                use.capability,
                "yes" if use.declared else Text("no", style="bold red"),
                Text(use.verdict, style=_VERDICT_STYLES.get(use.verdict, "")),
                str(use.allowed),
                Text(str(use.refused), style="bold red" if use.refused else ""),
                when_short(use.last_used_at),
                key=use.capability,
            )

    def take_changes(self, changes: list[Change]) -> None:
        lines = [
            log_row(row)
            for change in changes
            if change.table == "plugin_logs"
            for row in change.rows
            if str(row["plugin_id"]) == self.chosen
        ]
        if lines and self.logs.add(lines) and not self.logs.frozen:
            self.log_list.rows_arrived()
        if any(change.table in _OVERVIEW_TABLES for change in changes) and not self.logs.paused:
            if time.monotonic() - self.last_read >= MIN_READ_INTERVAL:
                self.reload()
                if self.chosen and any(c.table == "plugin_capability_usage" for c in changes):
                    self._read_report(self.chosen)
            else:
                self.set_timer(MIN_READ_INTERVAL, self._read_if_due)

    def _read_if_due(self) -> None:
        if not self.logs.paused and time.monotonic() - self.last_read >= MIN_READ_INTERVAL:
            self.reload()
            if self.chosen:
                self._read_report(self.chosen)

    @work(group="report", exclusive=True, exit_on_error=False)
    async def _read_report(self, plugin_id: str) -> None:
        self.report = await capability_report(self.tui.db, plugin_id)
        self._show_report()

    # -- acting --------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#plugins")
    def _plugin_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._choose(str(event.row_key.value))

    @on(LiveList.Highlighted)
    def _line_highlighted(self) -> None:
        self.show_detail()

    @on(LiveList.PauseRequested)
    def _pause_requested(self) -> None:
        self.logs.pause()

    @on(LiveList.ResumeRequested)
    def follow(self) -> None:
        self.logs.resume()
        self.log_list.follow()
        self.reload()

    def toggle_pause(self) -> None:
        if self.logs.frozen:
            self.follow()
        else:
            self.logs.pause()

    def apply_filter(self, text: str) -> None:
        row_filter = parse_filter(text, self.FILTER_FIELDS)
        self.logs.set_filter(self.fields.predicate(row_filter) if row_filter.terms else None)
        self.log_list.rows_changed()

    def shown_rows(self) -> list[Any]:
        return list(self.logs.visible)

    def selected(self) -> Any:
        if isinstance(self.focused, DataTable) and self.focused.id == "capabilities":
            return self._selected_capability()
        return self.log_list.row

    def _selected_capability(self) -> Any:
        table = self.query_one("#capabilities", DataTable)
        if self.report is None or not table.row_count:
            return None
        return _CapabilityRow(self.report, self.report.capabilities[table.cursor_row].capability)

    @on(DataTable.RowHighlighted, "#capabilities")
    def _capability_highlighted(self) -> None:
        self.show_detail()

    def next_sort(self, *, reverse: bool) -> None:
        self.notify("Log lines keep their time order; filter them with /.", timeout=2)

    def status(self) -> Status:
        return self.base_status(
            live=not self.logs.frozen,
            new=self.logs.pending,
            shown=len(self.logs.visible),
            held=len(self.logs),
            note=f"{len(self.overviews)} plugin{'s' if len(self.overviews) != 1 else ''}",
        )

    async def describe(self, row: Any) -> RenderableType:
        if isinstance(row, _CapabilityRow):
            return row.describe()
        return Group(
            Text(f"{row.level} line of {self.plugin_key(row)}", style="bold"),
            JSON.from_data(row.to_json()),
        )


class _CapabilityRow:
    """A capability of the report, with the calls of the methods it gates."""

    def __init__(self, report: CapabilityReport, capability: str) -> None:
        self.report = report
        self.use = next(use for use in report.capabilities if use.capability == capability)

    def to_json(self) -> dict[str, Any]:
        methods = [m for m in self.report.methods if m.capability == self.use.capability]
        return {
            "plugin": self.report.plugin_key,
            "capability": self.use.capability,
            "declared": self.use.declared,
            "verdict": self.use.verdict,
            "gatedMethods": list(self.use.methods),
            "calls": self.use.allowed,
            "refused": self.use.refused,
            "methods": [
                {
                    "method": m.method,
                    "allowed": m.allowed,
                    "denied": m.denied,
                    "outOfScope": m.out_of_scope,
                    "lastDenial": m.last_denial,
                }
                for m in methods
            ],
        }

    def describe(self) -> RenderableType:
        return JSON.from_data(self.to_json())


def _number(value: int, style: str) -> Text:
    """A count, in ``style`` when it is not zero."""
    return Text(str(value), style=style if value else "")


def _id(row: LogRow) -> str:
    return row.id
