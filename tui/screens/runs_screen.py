"""Wakeups and runs: the wakeup queue above, the heartbeat runs below, updated in place.

A wakeup that queues a run, a run that starts and finishes: each change updates its row where
it stands. Pausing stops the updates (they wait, counted as new) until the reader resumes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label

from core.read_models.export import Exportable
from core.read_models.runs import (
    RunRow,
    WakeupRow,
    list_runs,
    list_wakeups,
    runs_by_id,
    wakeups_by_id,
)
from db.change_feed import Change
from tui.bindings import bindings
from tui.columns import Column
from tui.filters import FilterFields, parse_filter
from tui.formatting import duration, short_id, when
from tui.screens.live_screen import LiveScreen
from tui.widgets.detail_pane import DetailPane
from tui.widgets.record_table import RecordTable
from tui.widgets.status_bar import Status

#: Rows each table holds (the oldest go first).
CAPACITY = 500

_STATUS_STYLES = {
    "queued": "cyan",
    "running": "bold yellow",
    "succeeded": "green",
    "failed": "bold red",
    "timed_out": "red",
    "cancelled": "dim",
    "skipped": "dim",
    "coalesced": "magenta",
    "deferred_issue_execution": "blue",
}


def _status_style(row: WakeupRow | RunRow) -> str | None:
    return _STATUS_STYLES.get(row.status)


def _fields(columns: list[Column[Any]]) -> FilterFields[Any]:
    return FilterFields(
        fields={
            "agent": lambda row: f"{row.agent_id} {row.agent_name or ''}",
            "status": lambda row: row.status,
            "issue": lambda row: f"{row.issue_id} {row.identifier or ''}",
            "run": lambda row: row.run_id if isinstance(row, WakeupRow) else row.id,
            "source": lambda row: (
                row.source if isinstance(row, WakeupRow) else row.invocation_source
            ),
        },
        haystack=lambda row: " ".join(column.text(row) for column in columns),
    )


class RunsScreen(LiveScreen):
    """The wakeup queue and the heartbeat runs, live."""

    MODE = "runs"
    FILTER_FIELDS = ("agent", "status", "issue", "run", "source")
    BINDINGS: ClassVar[list[BindingType]] = bindings("lists", "runs")

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.wakeup_columns: list[Column[WakeupRow]] = [
            Column("requested", 18, lambda row: when(row.requested_at)),
            Column("agent", 16, lambda row: row.agent_name or short_id(row.agent_id)),
            Column("status", 24, lambda row: row.status, style=_status_style),
            Column("source", 11, lambda row: row.source),
            Column("reason", 22, lambda row: row.reason or "-"),
            Column("issue", 10, _issue),
            Column("merged", 6, lambda row: str(row.coalesced_count)),
            Column("run", 8, lambda row: short_id(row.run_id)),
            Column("requested by", 0, lambda row: self.tui.actor_name(row.requested_by)),
        ]
        self.run_columns: list[Column[RunRow]] = [
            Column("created", 18, lambda row: when(row.created_at)),
            Column("agent", 16, lambda row: row.agent_name or short_id(row.agent_id)),
            Column("status", 10, lambda row: row.status, style=_status_style),
            Column("source", 11, lambda row: row.invocation_source),
            Column("issue", 10, _issue),
            Column("run", 8, lambda row: short_id(row.id)),
            Column("duration", 12, lambda row: duration(row.duration_seconds)),
            Column("requested by", 24, lambda row: self.tui.actor_name(row.requested_by)),
            Column("error", 0, lambda row: row.error or "", style=lambda row: "red"),
        ]
        self.waiting: dict[str, set[str]] = {
            "agent_wakeup_requests": set(),
            "heartbeat_runs": set(),
        }

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            with Vertical():
                yield Label("Wakeup requests", classes="table-title")
                yield RecordTable(self.wakeup_columns, row_id=_id, capacity=CAPACITY, id="wakeups")
                yield Label("Heartbeat runs", classes="table-title")
                yield RecordTable(self.run_columns, row_id=_id, capacity=CAPACITY, id="runs")
            yield DetailPane()

    @property
    def wakeups(self) -> RecordTable[WakeupRow]:
        return self.query_one("#wakeups", RecordTable)

    @property
    def runs(self) -> RecordTable[RunRow]:
        return self.query_one("#runs", RecordTable)

    def focused_table(self) -> RecordTable[Any]:
        focused = self.focused
        return focused if isinstance(focused, RecordTable) else self.wakeups

    def focus_rows(self) -> None:
        self.focused_table().focus()

    # -- reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        self._load()

    @work(group="load", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        queue = self.tui.scope.queue_filter()
        wakeups = await list_wakeups(self.tui.db, queue, limit=CAPACITY)
        runs = await list_runs(self.tui.db, queue, limit=CAPACITY)
        self.wakeups.replace_all(wakeups.items)
        self.runs.replace_all(runs.items)
        self.refresh_status()

    def take_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if change.table in self.waiting:
                self.waiting[change.table].update(str(row["id"]) for row in change.rows)
        if not self.paused and any(self.waiting.values()):
            self._apply_waiting()

    @work(group="apply", exclusive=False, exit_on_error=False)
    async def _apply_waiting(self) -> None:
        wakeup_ids = self.waiting["agent_wakeup_requests"]
        run_ids = self.waiting["heartbeat_runs"]
        self.waiting = {"agent_wakeup_requests": set(), "heartbeat_runs": set()}
        queue = self.tui.scope.queue_filter()
        wakeups = [
            row for row in await wakeups_by_id(self.tui.db, wakeup_ids) if queue.matches(row)
        ]
        runs = [row for row in await runs_by_id(self.tui.db, run_ids) if queue.matches(row)]
        self.wakeups.upsert(reversed(wakeups))
        self.runs.upsert(reversed(runs))
        self.refresh_status()

    # -- acting on rows ------------------------------------------------------------------------

    def apply_filter(self, text: str) -> None:
        row_filter = parse_filter(text, self.FILTER_FIELDS)
        for table, columns in (
            (self.wakeups, self.wakeup_columns),
            (self.runs, self.run_columns),
        ):
            predicate = _fields(columns).predicate(row_filter) if row_filter.terms else None
            table.set_filter(predicate)

    def shown_rows(self) -> list[Exportable]:
        table = self.focused_table()
        return [table.records[str(key.value)] for key in table.rows]

    def selected(self) -> WakeupRow | RunRow | None:
        return self.focused_table().selected

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a title sorts that table by its column; a second click reverses."""
        table = event.data_table
        if isinstance(table, RecordTable):
            table.sort_by_column(str(event.column_key.value))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.show_detail()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused and any(self.waiting.values()):
            self._apply_waiting()

    def follow(self) -> None:
        if self.paused:
            self.toggle_pause()
        table = self.focused_table()
        table.move_cursor(row=0)

    def next_sort(self, *, reverse: bool) -> None:
        name = self.focused_table().sort_next(reverse=reverse)
        self.notify(f"Sorted by {name}.", timeout=1.5)

    def status(self) -> Status:
        waiting = sum(len(ids) for ids in self.waiting.values())
        shown = self.wakeups.row_count + self.runs.row_count
        held = len(self.wakeups.records) + len(self.runs.records)
        return self.base_status(live=not self.paused, new=waiting, shown=shown, held=held)

    async def describe(self, row: WakeupRow | RunRow) -> RenderableType:
        parts: list[RenderableType] = [Text(type(row).__name__.removesuffix("Row"), style="bold")]
        parts.append(JSON.from_data(row.to_json()))
        if isinstance(row, WakeupRow) and row.run_id:
            found = await runs_by_id(self.tui.db, [row.run_id])
            if found:
                parts += [
                    Text("\nthe run it queued", style="bold"),
                    JSON.from_data(found[0].to_json()),
                ]
        if isinstance(row, RunRow) and row.wakeup_request_id:
            found_wakeups = await wakeups_by_id(self.tui.db, [row.wakeup_request_id])
            if found_wakeups:
                parts += [
                    Text("\nthe wakeup that queued it", style="bold"),
                    JSON.from_data(found_wakeups[0].to_json()),
                ]
        return Group(*parts)


def _issue(row: WakeupRow | RunRow) -> str:
    return row.identifier or short_id(row.issue_id)


def _id(row: WakeupRow | RunRow) -> str:
    return row.id
