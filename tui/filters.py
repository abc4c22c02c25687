"""The filters typed after ``/``: terms that hide the rows they do not match.

``deploy -plugin:missions action:issue. "on behalf"`` keeps rows that contain ``deploy``
somewhere, whose plugin does not contain ``missions``, whose action contains ``issue.``, and that
contain the phrase ``on behalf``. A term is free text or ``field:value`` (the fields each view
names); ``-`` or ``!`` before a term negates it; quotes keep a phrase together. Matching ignores
case and looks for the value inside the field (or anywhere in the row for free text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class FilterError(ValueError):
    """The filter text cannot be read; the message says why, in one line."""


@dataclass(frozen=True)
class Term:
    """One term: free text (``field`` None) or ``field:value``, maybe negated."""

    field: str | None
    value: str
    negated: bool = False


@dataclass(frozen=True)
class RowFilter:
    """A parsed filter: every term must hold."""

    text: str
    terms: tuple[Term, ...]

    def matches(self, fields: Mapping[str, str | None], haystack: str) -> bool:
        """Whether a row passes.

        Args:
            fields: the row's value of each field a term may name.
            haystack: the row's whole text, lowercased, for free-text terms.
        """
        for term in self.terms:
            if term.field is None:
                found = term.value in haystack
            else:
                found = term.value in (fields.get(term.field) or "").lower()
            if found == term.negated:
                return False
        return True


#: A term: an optional ``-`` or ``!``, then a quoted phrase or a run of non-spaces.
_TERM = re.compile(r'([-!]?)(?:"([^"]*)"|(\S+))')


def parse_filter(text: str, fields: Collection[str]) -> RowFilter:
    """Read filter text; an empty text keeps every row. A quoted phrase is always free text.

    Raises:
        FilterError: an unclosed quote, or a field the view does not have.
    """
    terms = []
    for match in _TERM.finditer(text):
        sign, phrase, word = match.groups()
        negated = bool(sign)
        if phrase is not None:
            terms.append(Term(None, phrase.lower(), negated))
            continue
        if word.startswith('"'):
            raise FilterError("the filter has an unclosed quote")
        if not negated and word in ("-", "!"):
            terms.append(Term(None, word, False))
            continue
        name, colon, value = word.partition(":")
        if colon and name.isidentifier() and value:
            if name.lower() not in fields:
                known = ", ".join(sorted(fields))
                raise FilterError(f"no field {name!r} here: filter by {known}, or by any text")
            terms.append(Term(name.lower(), value.lower(), negated))
        else:
            terms.append(Term(None, word.lower(), negated))
    return RowFilter(text, tuple(terms))


@dataclass(frozen=True)
class FilterFields(Generic[T]):
    """How a view exposes its rows to filters: the named fields, and the whole text."""

    fields: Mapping[str, Callable[[T], str | None]]
    haystack: Callable[[T], str]

    def predicate(self, row_filter: RowFilter) -> Callable[[T], bool]:
        """A function telling whether a row passes ``row_filter``."""
        getters = self.fields
        haystack = self.haystack
        needs_text = any(term.field is None for term in row_filter.terms)
        named = {term.field for term in row_filter.terms if term.field is not None}

        def passes(row: T) -> bool:
            values = {name: getters[name](row) for name in named}
            return row_filter.matches(values, haystack(row).lower() if needs_text else "")

        return passes
