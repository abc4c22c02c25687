"""A table of records keyed by id, updated in place as they change (dolphie's process list).

For views of a few hundred rows (wakeups, runs, plugins): rows that change get their cells
updated, new rows are added, the oldest go past ``capacity``, and the table keeps its sort
(by default its first column, which is a time, newest first). A ``DataTable`` cannot hide
rows, so a filter rebuilds the table from the records held.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from tui.columns import Column

T = TypeVar("T")


class RecordTable(DataTable[Any], Generic[T]):
    """Rows from records; ``records`` holds every record (the filter aside)."""

    DEFAULT_CSS = """
    RecordTable { height: 1fr; }
    """

    def __init__(
        self,
        columns: Sequence[Column[T]],
        *,
        row_id: Callable[[T], str],
        capacity: int = 500,
        **options: Any,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **options)
        self.spec = list(columns)
        self.row_id = row_id
        self.capacity = capacity
        self.records: dict[str, T] = {}
        self.predicate: Callable[[T], bool] | None = None
        self.sorted_by = self.spec[0].name
        self.reverse = True

    def on_mount(self) -> None:
        for column in self.spec:
            self.add_column(column.name, width=column.width or None, key=column.name)

    @property
    def selected(self) -> T | None:
        """The record under the cursor."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return self.records.get(str(key))

    def upsert(self, records: Iterable[T]) -> int:
        """Add new records and update changed ones in place; returns how many were new."""
        added = 0
        for record in records:
            key = self.row_id(record)
            added += key not in self.records
            self.records[key] = record
            shown = key in self.rows
            if self.predicate is not None and not self.predicate(record):
                if shown:
                    self.remove_row(key)
                continue
            if shown:
                for column in self.spec:
                    self.update_cell(key, column.name, self._cell(column, record))
            else:
                self.add_row(*(self._cell(c, record) for c in self.spec), key=key)
        self._evict()
        self._sort()
        return added

    def replace_all(self, records: Iterable[T]) -> None:
        """Show exactly these records (a fresh read)."""
        self.records = {self.row_id(record): record for record in records}
        self._rebuild()

    def set_filter(self, predicate: Callable[[T], bool] | None) -> None:
        self.predicate = predicate
        self._rebuild()

    def sort_next(self, *, reverse: bool) -> str:
        """Sort by the next column (or reverse the current sort); returns the sort's name."""
        if reverse:
            self.reverse = not self.reverse
        else:
            names = [column.name for column in self.spec]
            self.sorted_by = names[(names.index(self.sorted_by) + 1) % len(names)]
            self.reverse = self.sorted_by == names[0]
        self._sort()
        return self.sorted_by

    def sort_by_column(self, name: str) -> None:
        """Sort by column ``name``; again by the same column reverses the order."""
        if name == self.sorted_by:
            self.reverse = not self.reverse
        else:
            self.sorted_by, self.reverse = name, False
        self._sort()

    def _rebuild(self) -> None:
        cursor = self.selected
        self.clear()
        for key, record in self.records.items():
            if self.predicate is None or self.predicate(record):
                self.add_row(*(self._cell(c, record) for c in self.spec), key=key)
        self._sort()
        if cursor is not None:
            with contextlib.suppress(RowDoesNotExist):
                self.move_cursor(row=self.get_row_index(self.row_id(cursor)))

    def _evict(self) -> None:
        excess = len(self.records) - self.capacity
        if excess <= 0:
            return
        oldest = sorted(self.records, key=lambda key: self.spec[0].text(self.records[key]))
        for key in oldest[:excess]:
            del self.records[key]
            if key in self.rows:
                self.remove_row(key)

    def _sort(self) -> None:
        if self.row_count:
            self.sort(self.sorted_by, reverse=self.reverse, key=_plain)

    @staticmethod
    def _cell(column: Column[T], record: T) -> Text:
        style = column.style(record) if column.style is not None else None
        return Text(column.text(record), style=style or "")


def _plain(value: Any) -> str:
    return value.plain if isinstance(value, Text) else str(value)
