"""Costs: the company's spend grouped by billing code, agent, issue subtree or plugin, over a
window, as cumulative totals or as interval deltas (dolphie's users asked for both), with the
open budget incidents below.

The roll-up is read again when cost events or incidents change (at most once a second) and
every ``SLIDE_SECONDS``, since the window moves with time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich.console import RenderableType
from rich.json import JSON
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static

from core.read_models.costs import (
    GROUPINGS,
    WINDOWS,
    CostGroup,
    CostGrouping,
    CostRollup,
    CostWindow,
    cost_rollup,
    open_incidents,
)
from db.change_feed import Change
from tui.bindings import bindings
from tui.filters import parse_filter
from tui.formatting import count, duration, money, sparkline, when
from tui.screens.live_screen import LiveScreen
from tui.widgets.detail_pane import DetailPane
from tui.widgets.status_bar import Status

#: Seconds between two reads while nothing changes (the window slides).
SLIDE_SECONDS = 15.0
#: Least seconds between two reads.
MIN_READ_INTERVAL = 1.0

Mode = Literal["cumulative", "delta"]

GROUPING_TITLES: dict[CostGrouping, str] = {
    "billing_code": "billing code",
    "agent": "agent",
    "issue_subtree": "issue subtree",
    "plugin": "plugin (issues it created)",
}


@dataclass(frozen=True)
class CostLine:
    """A roll-up group as the table and an export show it."""

    group: CostGroup
    grouping: CostGrouping
    window: CostWindow
    mode: Mode

    @property
    def cents(self) -> int:
        return self.group.latest_cents if self.mode == "delta" else self.group.totals.cost_cents

    def to_json(self) -> dict[str, Any]:
        totals = self.group.totals
        return {
            "grouping": self.grouping,
            "key": self.group.key,
            "label": self.group.label,
            "window": self.window,
            "costCents": totals.cost_cents,
            "latestIntervalCents": self.group.latest_cents,
            "inputTokens": totals.input_tokens,
            "cachedInputTokens": totals.cached_input_tokens,
            "outputTokens": totals.output_tokens,
            "events": totals.events,
            "intervalCents": list(self.group.series),
        }


class CostsScreen(LiveScreen):
    """Cost roll-ups and open budget incidents."""

    MODE = "costs"
    FILTER_FIELDS = ("group",)
    BINDINGS: ClassVar[list[BindingType]] = bindings("lists", "costs")

    def __init__(self) -> None:
        super().__init__()
        self.grouping: CostGrouping = "billing_code"
        self.window: CostWindow = "24h"
        self.mode: Mode = "cumulative"
        self.rollup: CostRollup | None = None
        self.lines: list[CostLine] = []
        self.filter_text = ""
        self.paused = False
        self.changed_while_paused = 0
        self.last_read = 0.0

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            with Vertical():
                yield Static(id="costs-title")
                yield DataTable(id="groups", cursor_type="row", zebra_stripes=True)
                yield Label("Open budget incidents", classes="table-title")
                yield DataTable(id="incidents", cursor_type="row")
            yield DetailPane()

    def on_mount(self) -> None:
        groups = self.query_one("#groups", DataTable)
        for name in ("group", "cost", "input", "cached", "output", "events", "trend"):
            groups.add_column(name, key=name)
        incidents = self.query_one("#incidents", DataTable)
        for name in ("opened", "scope", "threshold", "window", "limit", "observed", "status"):
            incidents.add_column(name, key=name)
        super().on_mount()
        self.set_interval(SLIDE_SECONDS, self._slide)

    def focus_rows(self) -> None:
        self.query_one("#groups", DataTable).focus()

    # -- reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        self.last_read = time.monotonic()
        self._read()

    def _slide(self) -> None:
        if not self.paused:
            self.reload()

    @work(group="load", exclusive=True, exit_on_error=False)
    async def _read(self) -> None:
        company = self.tui.scope.company.id
        self.rollup = await cost_rollup(
            self.tui.db,
            company_id=company,
            grouping=self.grouping,
            window=self.window,
            now=self.tui.clock(),
        )
        incidents = await open_incidents(self.tui.db, company)
        self._show_rollup()
        table = self.query_one("#incidents", DataTable)
        table.clear()
        for incident in incidents:
            table.add_row(
                when(incident.created_at),
                f"{incident.scope_type} {incident.scope_id[:8]}",
                incident.threshold_type,
                incident.window_kind,
                money(incident.amount_limit),
                money(incident.amount_observed),
                incident.status,
                key=incident.id,
            )
        self.refresh_status()

    def _show_rollup(self) -> None:
        rollup = self.rollup
        if rollup is None:
            return
        predicate = None
        if self.filter_text:
            row_filter = parse_filter(self.filter_text, self.FILTER_FIELDS)
            predicate = lambda line: row_filter.matches(  # noqa: E731
                {"group": line.group.label}, line.group.label.lower()
            )
        every = [CostLine(g, self.grouping, self.window, self.mode) for g in rollup.groups]
        self.lines = [line for line in every if predicate is None or predicate(line)]
        table = self.query_one("#groups", DataTable)
        cursor = table.cursor_row
        table.clear()
        for line in self.lines:
            totals = line.group.totals
            trend = line.group.series if self.mode == "delta" else line.group.cumulative
            table.add_row(
                line.group.label,
                money(line.cents),
                count(totals.input_tokens),
                count(totals.cached_input_tokens),
                count(totals.output_tokens),
                count(totals.events),
                sparkline(trend),
            )
        if self.lines:
            table.move_cursor(row=min(cursor, len(self.lines) - 1))
        total = rollup.total
        figure = total.latest_cents if self.mode == "delta" else total.totals.cost_cents
        scope = "last interval" if self.mode == "delta" else "whole window"
        self.query_one("#costs-title", Static).update(
            f"[b]Costs by {GROUPING_TITLES[self.grouping]}[/b] · window {self.window} · "
            f"{'interval deltas' if self.mode == 'delta' else 'cumulative'} "
            f"(intervals of {duration(rollup.bucket_seconds)}) · "
            f"total {money(figure)} ({scope}), {count(total.totals.events)} events  "
            "[dim]g grouping · w window · d deltas/cumulative[/dim]"
        )

    def take_changes(self, changes: list[Change]) -> None:
        if not any(c.table in ("cost_events", "budget_incidents") for c in changes):
            return
        if self.paused:
            self.changed_while_paused += sum(len(c.rows) for c in changes)
            return
        if time.monotonic() - self.last_read >= MIN_READ_INTERVAL:
            self.reload()
        else:
            self.set_timer(MIN_READ_INTERVAL, self._read_if_due)

    def _read_if_due(self) -> None:
        if not self.paused and time.monotonic() - self.last_read >= MIN_READ_INTERVAL:
            self.reload()

    # -- acting --------------------------------------------------------------------------------

    def action_next_grouping(self) -> None:
        self.grouping = GROUPINGS[(GROUPINGS.index(self.grouping) + 1) % len(GROUPINGS)]
        self.reload()

    def action_next_window(self) -> None:
        windows: list[CostWindow] = list(WINDOWS)
        self.window = windows[(windows.index(self.window) + 1) % len(windows)]
        self.reload()

    def action_toggle_mode(self) -> None:
        self.mode = "delta" if self.mode == "cumulative" else "cumulative"
        self._show_rollup()

    def apply_filter(self, text: str) -> None:
        parse_filter(text, self.FILTER_FIELDS)  # a bad filter is refused before it applies
        self.filter_text = text
        self._show_rollup()

    def shown_rows(self) -> list[Any]:
        return list(self.lines)

    def selected(self) -> CostLine | None:
        row = self.query_one("#groups", DataTable).cursor_row
        return self.lines[row] if 0 <= row < len(self.lines) else None

    @on(DataTable.RowHighlighted, "#groups")
    def _highlighted(self) -> None:
        self.show_detail()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.changed_while_paused = 0
            self.reload()

    def follow(self) -> None:
        if self.paused:
            self.toggle_pause()

    def next_sort(self, *, reverse: bool) -> None:
        table = self.query_one("#groups", DataTable)
        if table.row_count:
            table.sort("cost" if not reverse else "group", key=_sort_key, reverse=not reverse)

    def status(self) -> Status:
        return self.base_status(
            live=not self.paused,
            new=self.changed_while_paused,
            shown=len(self.lines),
            held=len(self.rollup.groups) if self.rollup else 0,
        )

    async def describe(self, row: CostLine) -> RenderableType:
        return JSON.from_data(row.to_json())


def _sort_key(value: Any) -> Any:
    text = str(value)
    if text.startswith(("$", "-$")):
        return float(text.replace("$", "").replace(",", ""))
    return text
