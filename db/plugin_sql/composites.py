"""Row values in PostgreSQL query results, returned as PostgreSQL's text of them.

A result column of a row type (``SELECT ROW(1, 'a')``, ``SELECT t FROM ns.t t``) is returned as
``record_out`` prints it (``(1,a)``), as the SQLite printer returns it too. asyncpg decodes such
columns into tuples or ``Record`` objects (and cannot decode an array inside an anonymous row),
so the query is run again with those columns cast to ``text`` (``text[]`` for arrays of rows),
letting PostgreSQL itself print them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pglast

if TYPE_CHECKING:
    from asyncpg.types import Attribute

#: The pseudo-types of anonymous rows and arrays of them.
_RECORD_OID, _RECORD_ARRAY_OID = 2249, 2287


def _cast(attribute: Attribute) -> str | None:
    """The type a result column is cast to, or None when it is no row (or array of rows).

    Row types outside ``pg_catalog`` are tables' row types: plugins cannot create types, and
    the core schema has neither enums nor domains.
    """
    kind, oid = attribute.type.kind, attribute.type.oid
    if kind == "composite" or oid == _RECORD_OID:
        return "text"
    if kind == "array" and (oid == _RECORD_ARRAY_OID or attribute.type.schema != "pg_catalog"):
        return "text[]"
    return None


def has_row_columns(attributes: Sequence[Attribute]) -> bool:
    """Whether a statement's result has a column of a row type (or an array of them)."""
    return any(_cast(attribute) is not None for attribute in attributes)


def rows_as_text(sql: str, attributes: Sequence[Attribute]) -> str:
    """``sql`` (one SELECT) wrapped so that its row-typed columns come back as text.

    Columns keep their names and order; the wrapped statement takes the same parameters.
    """
    (statement,) = pglast.split(sql)  # the statement without a trailing semicolon
    columns = []
    for position, attribute in enumerate(attributes, 1):
        cast = _cast(attribute)
        column = f"_q.c{position}" + (f"::{cast}" if cast else "")
        columns.append(f"{column} AS {_quote(attribute.name)}")
    names = ", ".join(f"c{position}" for position in range(1, len(attributes) + 1))
    # A newline ends a trailing "--" comment before the closing parenthesis.
    return f"SELECT {', '.join(columns)} FROM (\n{statement}\n) AS _q({names})"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


__all__ = ["has_row_columns", "rows_as_text"]
