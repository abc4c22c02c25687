"""A list of rows drawn line by line (Textual's Line API), from a ``RowBuffer``.

Only the lines on screen are drawn, so the list holds tens of thousands of rows and takes
hundreds a second without slowing down (a ``DataTable`` lays out every row it holds). The list
follows the newest row while its buffer is live; moving the cursor up, scrolling up or
reaching for older rows asks its screen to pause (``PauseRequested``), as toolong's tail does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Static

from tui.columns import Column
from tui.row_buffer import RowBuffer

T = TypeVar("T")

#: Least seconds between two redraws for rows that arrive live.
REDRAW_INTERVAL = 0.1
#: Drawn lines kept (a few screens' worth).
LINE_CACHE_SIZE = 2_000


def layout(columns: Sequence[Column[Any]], width: int) -> list[int]:
    """The cells each column gets in ``width`` (one space between columns)."""
    fixed = sum(column.width for column in columns) + len(columns) - 1
    rest = max(width - fixed, 8)
    return [column.width or rest for column in columns]


def fit(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` cells (a cut ends with an ellipsis)."""
    text = text.replace("\n", " ")
    if len(text) > width:
        return text[: max(width - 1, 0)] + "…" if width > 0 else ""
    return text.ljust(width)


class ListHeader(Static):
    """The column titles above a ``LiveList``, with the sort order marked."""

    DEFAULT_CSS = """
    ListHeader { height: 1; text-style: bold; background: $panel; color: $text-accent; }
    """

    def __init__(self, columns: Sequence[Column[Any]], **options: Any) -> None:
        super().__init__(**options)
        self.columns = columns
        self.sorted_by: str | None = None
        self.reverse = False

    class Clicked(Message):
        """The reader clicked the title of column ``name`` (to sort by it)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def show_sort(self, name: str | None, reverse: bool) -> None:
        self.sorted_by, self.reverse = name, reverse
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        start = 0
        for column, width in zip(self.columns, layout(self.columns, self.size.width), strict=True):
            if start <= event.x < start + width:
                self.post_message(self.Clicked(column.name))
                return
            start += width + 1

    def render(self) -> Text:
        widths = layout(self.columns, self.size.width)
        titles = []
        for column, width in zip(self.columns, widths, strict=True):
            mark = ("▼" if self.reverse else "▲") if column.name == self.sorted_by else ""
            titles.append(fit(column.name + mark, width))
        return Text(" ".join(titles), no_wrap=True, overflow="crop")


class LiveList(ScrollView, Generic[T], can_focus=True):
    """The rows of a ``RowBuffer``, a cursor on one of them."""

    DEFAULT_CSS = """
    LiveList { height: 1fr; }
    LiveList > .live-list--cursor { background: $accent 40%; text-style: bold; }
    LiveList:focus > .live-list--cursor { background: $accent 70%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"live-list--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Newest row", show=False),
    ]

    cursor: reactive[int] = reactive(0, init=False, always_update=True)

    class PauseRequested(Message):
        """The reader moved away from the newest row: the list should stop following."""

    class ResumeRequested(Message):
        """The reader went back to the newest row: the list should follow again."""

    class OlderRequested(Message):
        """The reader reached the oldest row held: load older rows, if there are any."""

    class Highlighted(Message):
        """The cursor moved to ``row``."""

        def __init__(self, row: Any) -> None:
            super().__init__()
            self.row = row

    def __init__(self, buffer: RowBuffer[T], columns: Sequence[Column[T]], **options: Any) -> None:
        super().__init__(**options)
        self.buffer = buffer
        self.columns = columns
        self._redraw: Timer | None = None
        self._redrawn_at = 0.0
        #: Drawn lines by (row id, width, cursor on it, theme): rows never change.
        self._lines: LRUCache[tuple[str, int, bool, str], Strip] = LRUCache(LINE_CACHE_SIZE)

    def forget_drawn_lines(self) -> None:
        """Draw every row afresh (what a column shows changed, such as an agent's name)."""
        self._lines.clear()
        self.refresh()

    @property
    def row(self) -> T | None:
        """The row under the cursor."""
        visible = self.buffer.visible
        return visible[self.cursor] if 0 <= self.cursor < len(visible) else None

    def rows_arrived(self) -> None:
        """Redraw after live rows joined the buffer, at most every ``REDRAW_INTERVAL``: at
        hundreds of rows a second, one redraw (and layout) per batch would starve the keys."""
        if self._redraw is not None:
            return
        wait = self._redrawn_at + REDRAW_INTERVAL - time.monotonic()
        if wait <= 0:
            self.rows_changed()
        else:
            self._redraw = self.set_timer(wait, self._scheduled_redraw)

    def _scheduled_redraw(self) -> None:
        self._redraw = None
        self.rows_changed()

    def rows_changed(self, *, shifted: int = 0) -> None:
        """Redraw after the buffer changed; ``shifted`` rows now show above the old first row
        (older rows loaded), so the view moves down with them and keeps its place."""
        self._redrawn_at = time.monotonic()
        count = len(self.buffer.visible)
        self.virtual_size = Size(self.size.width, count)
        if not self.buffer.frozen:
            self._to_last()
        else:
            if shifted:
                self.scroll_to(y=self.scroll_y + shifted, animate=False, immediate=True)
            self.cursor = min(self.cursor + shifted, max(count - 1, 0))
        self.refresh()

    def follow(self) -> None:
        """Jump to the newest row (the buffer is live again)."""
        self.virtual_size = Size(self.size.width, len(self.buffer.visible))
        self._to_last()
        self.refresh()

    def _to_last(self) -> None:
        self.cursor = max(len(self.buffer.visible) - 1, 0)
        # The new virtual size takes effect with the next layout: scroll once it has.
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    # -- drawing -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        visible = self.buffer.visible
        if index >= len(visible):
            return Strip.blank(width, self.rich_style)
        row = visible[index]
        key = (self.buffer.row_id(row), width, index == self.cursor, self.app.theme)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = self._draw(row, width, index == self.cursor)
        return line

    def _draw(self, row: T, width: int, under_cursor: bool) -> Strip:
        base = self.rich_style
        if under_cursor:
            base = base + self.get_component_rich_style("live-list--cursor")
        segments = []
        widths = layout(self.columns, width)
        for position, (column, cells) in enumerate(zip(self.columns, widths, strict=True)):
            style = base
            if column.style is not None:
                extra = column.style(row)
                if extra:
                    style = base + Style.parse(extra)
            if position:
                segments.append(Segment(" ", base))
            segments.append(Segment(fit(column.text(row), cells), style))
        return Strip(segments).adjust_cell_length(width, base)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.buffer.visible))

    # -- moving --------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, immediate=True)
        row = self.row
        if row is not None:
            self.post_message(self.Highlighted(row))

    def refresh_line(self, index: int) -> None:
        """Redraw the line of row ``index`` if it is on screen."""
        y = index - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _move(self, delta: int) -> None:
        last = len(self.buffer.visible) - 1
        if last < 0:
            return
        target = min(max(self.cursor + delta, 0), last)
        if target < last and not self.buffer.frozen:
            self.post_message(self.PauseRequested())
        if target == 0 and delta < 0:
            self.post_message(self.OlderRequested())
        self.cursor = target

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_page_up(self) -> None:
        self._move(-max(self.size.height - 1, 1))

    def action_page_down(self) -> None:
        self._move(max(self.size.height - 1, 1))

    def action_first(self) -> None:
        self._move(-len(self.buffer.visible))

    def action_last(self) -> None:
        self.post_message(self.ResumeRequested())

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < len(self.buffer.visible):
            if index != len(self.buffer.visible) - 1 and not self.buffer.frozen:
                self.post_message(self.PauseRequested())
            self.cursor = index

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if not self.buffer.frozen:
            self.post_message(self.PauseRequested())
        if self.scroll_offset.y == 0:
            self.post_message(self.OlderRequested())
