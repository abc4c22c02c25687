"""The rows a live list holds: bounded, newest last, each row once, filtered, maybe frozen.

A ``RowBuffer`` is what a list widget draws. Live rows arrive with ``add``; older pages read
from the database arrive with ``add_older``. When it holds ``capacity`` rows, the oldest go.

Pausing freezes what is shown: rows that arrive meanwhile wait in ``pending`` (the "+N new"
a viewer shows) and join on ``resume``. Sorting by anything but time also freezes the list,
since rows that keep arriving at random places would make it jump; ``resume`` goes back to
time order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sort:
    """A sort order other than time: a key per row, and the direction."""

    name: str
    key: Callable[[Any], Any]
    reverse: bool = False


class RowBuffer(Generic[T]):
    """Rows in time order (oldest first), at most ``capacity``; ``visible`` is what is shown.

    Args:
        capacity: the most rows kept (the oldest go first).
        row_id: a row's unique id (a row that comes again is ignored).
    """

    def __init__(self, *, capacity: int, row_id: Callable[[T], str]) -> None:
        self.capacity = capacity
        #: A row's unique id.
        self.row_id = row_id
        self._rows: deque[T] = deque()
        self._ids: set[str] = set()
        self._pending: deque[T] = deque()
        self._predicate: Callable[[T], bool] | None = None
        self.sort: Sort | None = None
        self.paused = False
        #: The rows shown: the buffer's rows that pass the filter, in display order.
        self.visible: list[T] = []

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> list[T]:
        """Every row held (filter aside), oldest first."""
        return list(self._rows)

    @property
    def pending(self) -> int:
        """Rows that arrived while frozen."""
        return len(self._pending)

    @property
    def frozen(self) -> bool:
        """Whether arriving rows wait instead of showing."""
        return self.paused or self.sort is not None

    def add(self, rows: Iterable[T]) -> int:
        """Take rows that just arrived (in time order); returns how many were new."""
        fresh = [row for row in rows if self.row_id(row) not in self._ids]
        for row in fresh:
            self._ids.add(self.row_id(row))
        if self.frozen:
            self._pending.extend(fresh)
            self._drop_excess_pending()
            return len(fresh)
        self._append(fresh)
        return len(fresh)

    def add_older(self, rows: Iterable[T]) -> int:
        """Take a page of older rows (newest first, as pages come); returns how many now show
        above what showed before (a list keeps its place by scrolling down that many).

        Rows that would not fit are not taken.
        """
        room = self.capacity - len(self._rows) - len(self._pending)
        older = [row for row in rows if self.row_id(row) not in self._ids][: max(room, 0)]
        for row in older:
            self._ids.add(self.row_id(row))
        older.reverse()
        self._rows.extendleft(reversed(older))
        if self.sort is not None:
            self._rebuild()
            return 0
        shown = [row for row in older if self._passes(row)]
        self.visible[:0] = shown
        return len(shown)

    def set_filter(self, predicate: Callable[[T], bool] | None) -> None:
        """Show only rows that pass ``predicate`` (None: every row)."""
        self._predicate = predicate
        self._rebuild()

    def sort_by(self, sort: Sort | None) -> None:
        """Sort by something other than time (freezes the list), or back to time (None)."""
        self.sort = sort
        if sort is None and not self.paused:
            self._take_pending()
        self._rebuild()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        """Back to live: time order, and the rows that arrived meanwhile."""
        self.paused = False
        self.sort = None
        self._take_pending()
        self._rebuild()

    def _take_pending(self) -> None:
        pending, self._pending = list(self._pending), deque()
        self._append(pending)

    def _append(self, rows: list[T]) -> None:
        if not rows:
            return
        overflow = len(self._rows) + len(rows) - self.capacity
        if overflow > 0:
            evicted = [self._rows.popleft() for _ in range(min(overflow, len(self._rows)))]
            for row in evicted:
                self._ids.discard(self.row_id(row))
            # Rows beyond capacity in this very batch: keep only the newest.
            if len(rows) > self.capacity:
                for row in rows[: len(rows) - self.capacity]:
                    self._ids.discard(self.row_id(row))
                rows = rows[len(rows) - self.capacity :]
            gone = sum(1 for row in evicted if self._passes(row))
            del self.visible[:gone]
        self._rows.extend(rows)
        self.visible.extend(row for row in rows if self._passes(row))

    def _drop_excess_pending(self) -> None:
        while len(self._pending) > self.capacity:
            self._ids.discard(self.row_id(self._pending.popleft()))

    def _passes(self, row: T) -> bool:
        return self._predicate is None or self._predicate(row)

    def _rebuild(self) -> None:
        shown = [row for row in self._rows if self._passes(row)]
        if self.sort is not None:
            shown.sort(key=self.sort.key, reverse=self.sort.reverse)
        self.visible = shown
