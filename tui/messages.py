"""Messages the TUI's parts post to each other (children post up, parents call down)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from db.change_feed import Change


@dataclass
class ChangesArrived(Message):
    """The change feed delivered committed changes (to every table the app follows)."""

    changes: list[Change]


@dataclass
class FilterSubmitted(Message):
    """The reader typed a filter (empty: no filter); ``final`` when done typing."""

    text: str
    final: bool = False
