"""Activity: every activity row of the company as it is written, newest at the bottom.

The list follows new rows until the reader pauses (space, or by moving up); older rows load a
page at a time when the reader reaches the top (or presses ``o``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical

from core.agents import list_agents
from core.read_models.activity import ActivityRow, activity_context, activity_row, list_activity
from core.read_models.pages import Cursor
from db.change_feed import Change
from tui.bindings import bindings
from tui.columns import Column
from tui.filters import FilterFields, parse_filter
from tui.formatting import short_id, when
from tui.row_buffer import RowBuffer, Sort
from tui.screens.live_screen import LiveScreen
from tui.widgets.detail_pane import DetailPane
from tui.widgets.live_list import ListHeader, LiveList
from tui.widgets.status_bar import Status

#: Rows held at most (the oldest go first); rows read first (a few screens: the first screen
#: comes sooner), and per page of older rows.
CAPACITY = 50_000
FIRST_ROWS = 200
PAGE_ROWS = 1_000


class ActivityScreen(LiveScreen):
    """The activity log, live."""

    MODE = "activity"
    FILTER_FIELDS = ("plugin", "action", "actor", "entity", "agent", "run", "behalf")
    BINDINGS: ClassVar[list[BindingType]] = bindings("lists", "activity")
    #: The list widget (``sandbox bench tui`` draws with one that notes when rows show).
    LIST: ClassVar[type[LiveList[Any]]] = LiveList

    def __init__(self) -> None:
        super().__init__()
        self.buffer: RowBuffer[ActivityRow] = RowBuffer(capacity=CAPACITY, row_id=_row_id)
        self.agent_names: dict[str, str] = {}
        self.older: Cursor | None = None
        self.exhausted = False
        self.columns: list[Column[ActivityRow]] = [
            Column("time", 18, lambda row: when(row.created_at)),
            Column("actor", 24, self.actor, sort_key=self.actor),
            Column("action", 30, lambda row: row.action, sort_key=lambda row: row.action),
            Column("entity", 22, self.entity, sort_key=self.entity),
            Column("on behalf of", 20, self.behalf, sort_key=self.behalf),
            Column("run", 8, lambda row: short_id(row.run_id)),
            Column("details", 0, lambda row: row.details_json, style=lambda row: "dim"),
        ]
        self.fields = FilterFields[ActivityRow](
            fields={
                "plugin": lambda row: row.plugin_key,
                "action": lambda row: row.action,
                "actor": lambda row: f"{row.actor_type}:{row.actor_id} {self.actor(row)}",
                "entity": lambda row: f"{row.entity_type}:{row.entity_id} {self.entity(row)}",
                "agent": lambda row: f"{row.agent_id} {self.agent_names.get(row.agent_id or '')}",
                "run": lambda row: row.run_id,
                "behalf": self.behalf,
            },
            haystack=lambda row: " ".join(column.text(row) for column in self.columns),
        )
        self.sorts = [column for column in self.columns if column.sort_key is not None]

    # -- rows as they read ---------------------------------------------------------------------

    def actor(self, row: ActivityRow) -> str:
        if row.actor_type == "plugin":
            key = row.plugin_key or self.tui.plugin_keys.get(row.actor_id)
            return key or f"plugin {short_id(row.actor_id)}"
        if row.actor_type == "agent":
            return self.agent_names.get(row.actor_id) or f"agent {short_id(row.actor_id)}"
        return f"{row.actor_type} {row.actor_id}"

    def entity(self, row: ActivityRow) -> str:
        return f"{row.entity_type} {row.identifier or short_id(row.entity_id)}"

    def behalf(self, row: ActivityRow) -> str:
        if row.on_behalf_of is None:
            return ""
        kind, _, actor_id = row.on_behalf_of.partition(":")
        return f"{kind} {self.agent_names.get(actor_id) or short_id(actor_id)}"

    # -- layout --------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            with Vertical():
                yield ListHeader(self.columns)
                yield self.LIST(self.buffer, self.columns)
            yield DetailPane()

    @property
    def rows_list(self) -> LiveList[ActivityRow]:
        return self.query_one(LiveList)

    def focus_rows(self) -> None:
        self.rows_list.focus()

    # -- reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        self._load_newest()

    @work(group="load", exclusive=True, exit_on_error=False)
    async def _load_newest(self) -> None:
        company = self.tui.scope.company.id
        self.agent_names = {
            agent.id: agent.name for agent in await list_agents(self.tui.db, company_id=company)
        }
        page = await list_activity(self.tui.db, self.tui.scope.activity_filter(), limit=FIRST_ROWS)
        self.older, self.exhausted = page.next, page.next is None
        shifted = self.buffer.add_older(page.items)
        self.rows_list.rows_changed(shifted=shifted)
        self.refresh_status()

    @on(LiveList.OlderRequested)
    def action_load_older(self) -> None:
        if self.older is not None and len(self.buffer) < CAPACITY:
            self._load_older(self.older)

    @work(group="older", exclusive=True, exit_on_error=False)
    async def _load_older(self, before: Cursor) -> None:
        if not self.buffer.frozen:
            self.toggle_pause()
        page = await list_activity(
            self.tui.db, self.tui.scope.activity_filter(), before=before, limit=PAGE_ROWS
        )
        self.older, self.exhausted = page.next, page.next is None
        self.rows_list.rows_changed(shifted=self.buffer.add_older(page.items))
        self.refresh_status()
        self.notify(f"Loaded {len(page.items):,} older rows.", timeout=2)

    def take_changes(self, changes: list[Change]) -> None:
        wanted = self.tui.scope.activity_filter()
        rows = [
            row
            for change in changes
            if change.table == "activity_log"
            for row in map(activity_row, change.rows)
            if wanted.matches(row)
        ]
        if rows and self.buffer.add(rows) and not self.buffer.frozen:
            self.rows_list.rows_arrived()
        if any(row.agent_id and row.agent_id not in self.agent_names for row in rows):
            self._load_agent_names()

    @work(group="agents", exclusive=True, exit_on_error=False)
    async def _load_agent_names(self) -> None:
        agents = await list_agents(self.tui.db, company_id=self.tui.scope.company.id)
        self.agent_names = {agent.id: agent.name for agent in agents}
        self.rows_list.forget_drawn_lines()

    # -- acting on rows ------------------------------------------------------------------------

    def apply_filter(self, text: str) -> None:
        row_filter = parse_filter(text, self.FILTER_FIELDS)
        self.buffer.set_filter(self.fields.predicate(row_filter) if row_filter.terms else None)
        self.rows_list.rows_changed()
        self.rows_list.cursor = max(len(self.buffer.visible) - 1, 0)

    def shown_rows(self) -> list[Any]:
        return list(self.buffer.visible)

    def selected(self) -> ActivityRow | None:
        return self.rows_list.row

    @on(LiveList.Highlighted)
    def _highlighted(self) -> None:
        self.show_detail()

    @on(LiveList.PauseRequested)
    def _pause_requested(self) -> None:
        self.buffer.pause()
        self.refresh_status()

    @on(LiveList.ResumeRequested)
    def follow(self) -> None:
        self.buffer.resume()
        self.query_one(ListHeader).show_sort(None, False)
        self.rows_list.follow()
        self.refresh_status()

    def toggle_pause(self) -> None:
        if self.buffer.frozen:
            self.follow()
        else:
            self.buffer.pause()

    def next_sort(self, *, reverse: bool) -> None:
        current = self.buffer.sort
        if reverse:
            if current is not None:
                self._sort(Sort(current.name, current.key, not current.reverse))
            return
        names = [column.name for column in self.sorts]
        position = names.index(current.name) + 1 if current else 0
        if position >= len(names):
            self.follow()  # after the last column: back to time order, live
            return
        column = self.sorts[position]
        assert column.sort_key is not None
        self._sort(Sort(column.name, column.sort_key))

    @on(ListHeader.Clicked)
    def _header_clicked(self, message: ListHeader.Clicked) -> None:
        """A click on a title sorts by its column; a second click reverses; time is live."""
        current = self.buffer.sort
        column = next((c for c in self.sorts if c.name == message.name), None)
        if column is None or column.sort_key is None:
            self.follow()
        elif current is not None and current.name == column.name:
            self._sort(Sort(current.name, current.key, not current.reverse))
        else:
            self._sort(Sort(column.name, column.sort_key))
        self.refresh_status()

    def _sort(self, chosen: Sort) -> None:
        self.buffer.sort_by(chosen)
        self.query_one(ListHeader).show_sort(chosen.name, chosen.reverse)
        self.rows_list.rows_changed()
        self.rows_list.cursor = 0
        self.rows_list.scroll_home(animate=False)

    def status(self) -> Status:
        sort = self.buffer.sort
        note = f"sorted by {sort.name}" if sort else None
        if self.exhausted and self.buffer.frozen:
            note = (note + ", " if note else "") + "all older rows loaded"
        return self.base_status(
            live=not self.buffer.frozen,
            new=self.buffer.pending,
            shown=len(self.buffer.visible),
            held=len(self.buffer),
            note=note,
        )

    async def describe(self, row: ActivityRow) -> RenderableType:
        context = await activity_context(self.tui.db, row)
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="bold")
        facts.add_column()
        for name, value in (
            ("action", row.action),
            ("time", when(row.created_at)),
            ("actor", f"{row.actor_type} {row.actor_id}"),
            ("plugin", row.plugin_key or "-"),
            ("entity", f"{row.entity_type} {row.entity_id}"),
            ("on behalf of", row.on_behalf_of or "-"),
            ("agent", f"{context.agent_name or '-'} {row.agent_id or ''}"),
            ("run", row.run_id or "-"),
            ("row id", row.id),
        ):
            facts.add_row(name, value)
        parts: list[RenderableType] = [
            facts,
            Text("\ndetails", style="bold"),
            JSON(row.details_json),
        ]
        if context.issue is not None:
            issue = context.issue
            parts.append(Text("\nissue", style="bold"))
            parts.append(
                Text(
                    f"{issue.identifier or short_id(issue.id)}  {issue.title}\n"
                    f"{issue.status} · {issue.priority} · origin {issue.origin_kind}"
                )
            )
        if context.run is not None:
            run = context.run
            parts.append(Text("\nrun", style="bold"))
            parts.append(
                Text(
                    f"{short_id(run.id)} {run.status} · {run.agent_name or short_id(run.agent_id)}"
                    f" · {run.invocation_source} · created {when(run.created_at)}"
                    + (f"\nerror: {run.error}" if run.error else "")
                )
            )
        if context.same_entity:
            parts.append(
                Text(f"\nother rows of {row.entity_type} {short_id(row.entity_id)}", style="bold")
            )
            for other in context.same_entity:
                parts.append(Text(f"{when(other.created_at)}  {other.action}  {self.actor(other)}"))
        return Group(*parts)


def _row_id(row: ActivityRow) -> str:
    return row.id
