"""Keyset pagination, newest first: a page ends at a (time, id) cursor, the next starts below it.

Offsets would skip or repeat rows while new ones arrive; a cursor does not. Ids break ties
between equal times; lowercase UUID text orders as the stored UUIDs do on both backends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from db import Database

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


async def read_page(
    db: Database,
    query: sa.Select[Any],
    *,
    newest_first: tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]],
    before: Cursor | None,
    limit: int,
    item: Callable[[Any], T],
    cursor: Callable[[T], Cursor],
) -> Page[T]:
    """Read one page of ``query`` (its conditions already set), newest first.

    Args:
        newest_first: the time column and the id column the page is ordered by, descending.
        before: where the previous page ended (None: the newest rows).
        limit: rows wanted, kept between 1 and ``MAX_PAGE_ROWS``.
        item: turns a row mapping into the page's item.
        cursor: the cursor of an item.
    """
    time_column, id_column = newest_first
    limit = max(1, min(limit, MAX_PAGE_ROWS))
    if before is not None:
        query = query.where(older_than(time_column, id_column, before))
    query = query.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    items = [item(row) for row in rows[:limit]]
    more = len(rows) > limit and items
    return Page(items, cursor(items[-1]) if more else None)
