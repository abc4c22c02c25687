"""Where a migration statement sits in its file, so an error can point at it.

The policy (``check_migration``) attaches the place of a refused statement to its error's
``details``, leaving upstream's message as it is; the migration runner, which knows the file's
path in the package, then adds the place after the message: ``relation "a" already exists
(migrations/002_add.sql, statement 3 at line 14: CREATE TABLE plugin_x.a ...)``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass
from typing import TypeVar

from core.errors import HostError

#: How much of a statement's text an error quotes.
EXCERPT_CHARACTERS = 80

_SPACE_OR_COMMENT = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)
_WHITESPACE = re.compile(r"\s+")

E = TypeVar("E", bound=HostError)


@dataclass(frozen=True)
class StatementPlace:
    """A statement's ordinal in its file (from 1), a line (from 1) and its opening text."""

    ordinal: int
    line: int
    text: str

    @classmethod
    def at(
        cls,
        content: str,
        ordinal: int,
        offset: int,
        statement: str,
        *,
        error_offset: int | None = None,
    ) -> StatementPlace:
        """The place of ``statement``, which starts at ``offset`` in the file's ``content``.

        Comments before its first word are skipped. The line is the one ``error_offset`` is on
        when the parser reported a position, else the line of the statement's first word.
        """
        skipped = _SPACE_OR_COMMENT.match(statement)
        first_word = skipped.end() if skipped else 0
        line_offset = offset + first_word if error_offset is None else error_offset
        return cls(ordinal, line_of(content, line_offset), excerpt(statement[first_word:]))

    def describe(self, path: str) -> str:
        """``migrations/002_add.sql, statement 3 at line 14: CREATE TABLE ...``."""
        return f"{path}, statement {self.ordinal} at line {self.line}: {self.text}"


def line_of(content: str, offset: int) -> int:
    """The 1-based line of a character offset."""
    return content.count("\n", 0, offset) + 1


def excerpt(statement: str) -> str:
    """The statement's first ``EXCERPT_CHARACTERS`` characters on one line (``...`` if cut)."""
    flat = _WHITESPACE.sub(" ", statement[: EXCERPT_CHARACTERS * 4]).strip()
    if len(flat) <= EXCERPT_CHARACTERS:
        return flat
    return flat[: EXCERPT_CHARACTERS - 3].rstrip() + "..."


def _copy(error: E, message: str, statement: dict[str, object]) -> E:
    changed = copy.copy(error)
    changed.message = message
    changed.args = (message,)
    changed.details = {**error.details, "statement": statement}
    return changed


def with_place(error: E, place: StatementPlace) -> E:
    """The same error (same message) with the statement's place in ``details["statement"]``."""
    return _copy(error, error.message, asdict(place))


def place_of(error: HostError) -> StatementPlace | None:
    """The place ``with_place`` attached, if any."""
    statement = error.details.get("statement")
    if not isinstance(statement, dict):
        return None
    return StatementPlace(statement["ordinal"], statement["line"], statement["text"])


def placed(error: E, path: str, place: StatementPlace) -> E:
    """The same error, its message followed by the file's ``path`` and the statement's place."""
    return _copy(
        error, f"{error.message} ({place.describe(path)})", {"file": path, **asdict(place)}
    )


__all__ = [
    "EXCERPT_CHARACTERS",
    "StatementPlace",
    "excerpt",
    "line_of",
    "place_of",
    "placed",
    "with_place",
]
