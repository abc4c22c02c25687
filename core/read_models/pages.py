"""Keyset pagination, newest first: a page ends at a (time, id) cursor, the next starts below it.

Offsets would skip or repeat rows while new ones arrive; a cursor does not. Ids break ties
between equal times; lowercase UUID text orders as the stored UUIDs do on both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

#: Rows per page unless asked otherwise, and the most one page may hold.
DEFAULT_PAGE_ROWS = 500
MAX_PAGE_ROWS = 5_000


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: its last (oldest) row's time and id."""

    at: datetime
    id: str


@dataclass(frozen=True)
class Page(Generic[T]):
    """Rows newest first, and the cursor of the next (older) page, None at the end."""

    items: list[T]
    next: Cursor | None


def older_than(
    time_column: sa.ColumnElement[Any], id_column: sa.ColumnElement[Any], cursor: Cursor
) -> sa.ColumnElement[bool]:
    """Rows that sort after ``cursor`` in newest-first order."""
    return sa.or_(
        time_column < cursor.at,
        sa.and_(time_column == cursor.at, id_column < cursor.id),
    )


def page_size(limit: int) -> int:
    """``limit`` kept between 1 and ``MAX_PAGE_ROWS``."""
    return max(1, min(limit, MAX_PAGE_ROWS))


def paginate(
    rows: Sequence[Any], limit: int, item: Callable[[Any], T], cursor: Callable[[T], Cursor]
) -> Page[T]:
    """A page from up to ``limit + 1`` rows read newest first (one more tells there is more)."""
    items = [item(row) for row in rows[:limit]]
    more = len(rows) > limit and items
    return Page(items, cursor(items[-1]) if more else None)
