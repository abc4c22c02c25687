"""A column of a list or table: its header, width, how a row reads in it, how it sorts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column.

    Args:
        name: the header, and the column's name in sort orders.
        width: cells it takes; 0 takes what the other columns leave.
        text: the row's text in the column.
        sort_key: how rows sort by this column (None: not sortable).
        style: a Rich style for the row's cell (for example by log level), or None.
    """

    name: str
    width: int
    text: Callable[[T], str]
    sort_key: Callable[[T], Any] | None = None
    style: Callable[[T], str | None] | None = None
