"""Statements whose SQL differs between SQLite and PostgreSQL, built side by side.

Callers pass the ``Dialect`` of their ``Database`` and never branch on it themselves; every helper
handles both backends and ends in ``assert_never`` so a new backend cannot be half-supported.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.util import ClauseAdapter

from db import types


class Dialect(enum.StrEnum):
    """The backends the sandbox runs on, by the names users give them (``--backend``)."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"

    @classmethod
    def from_name(cls, name: str) -> Dialect:
        """The dialect of a SQLAlchemy dialect name (``"sqlite"``, ``"postgresql"``)."""
        found = {"sqlite": cls.SQLITE, "postgresql": cls.POSTGRES}.get(name)
        if found is None:
            raise ValueError(f"unsupported database dialect {name!r}: use SQLite or PostgreSQL")
        return found


def upsert(
    dialect: Dialect,
    table: sa.Table,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    conflict_columns: Sequence[str],
    update_columns: Iterable[str] | None = None,
    conflict_where: sa.ColumnElement[bool] | None = None,
    update_set: Callable[[Any], Mapping[str, Any]] | None = None,
) -> Insert:
    """``INSERT ... ON CONFLICT (columns) DO UPDATE`` (or ``DO NOTHING`` without update columns).

    Args:
        dialect: the backend the statement will run on.
        table: the target table.
        values: one row, or several rows, to insert.
        conflict_columns: the columns of the unique index that decides a conflict. Both backends
            accept column lists (SQLite cannot name a constraint), so we always use columns.
        update_columns: columns to overwrite from the proposed row on conflict. ``None`` or empty
            means keep the existing row.
        conflict_where: the predicate of a partial unique index, when the target is one.
        update_set: builds the SET clause from the proposed row (``excluded``), for updates
            that combine both rows (``count = table.count + excluded.count``); replaces
            ``update_columns``.

    Returns:
        The insert statement; add ``.returning(...)`` as needed (SQLite >= 3.35 has RETURNING).
    """
    statement: postgresql.Insert | sqlite.Insert
    match dialect:
        case Dialect.POSTGRES:
            statement = postgresql.insert(table).values(values)
        case Dialect.SQLITE:
            statement = sqlite.insert(table).values(values)
        case _:
            assert_never(dialect)
    if update_set is not None:
        assignments = dict(update_set(statement.excluded))
    else:
        assignments = {name: statement.excluded[name] for name in update_columns or []}
    if not assignments:
        return statement.on_conflict_do_nothing(
            index_elements=list(conflict_columns), index_where=conflict_where
        )
    return statement.on_conflict_do_update(
        index_elements=list(conflict_columns), index_where=conflict_where, set_=assignments
    )


def lock_for_update(dialect: Dialect, statement: sa.Select[Any]) -> sa.Select[Any]:
    """Lock the selected rows until the transaction ends.

    PostgreSQL takes row locks (``FOR UPDATE``). SQLite has no row locks; a write transaction of
    ``Database.transaction()`` already holds the database's single write lock (``BEGIN
    IMMEDIATE``), which serialises writers just as strictly, so the statement is left as it is.
    """
    match dialect:
        case Dialect.POSTGRES:
            return statement.with_for_update()
        case Dialect.SQLITE:
            return statement
        case _:
            assert_never(dialect)


async def advisory_xact_lock(dialect: Dialect, session: AsyncSession, key: int) -> None:
    """Serialise transactions that share ``key`` (a signed 64-bit integer) until they end.

    PostgreSQL uses ``pg_advisory_xact_lock``. On SQLite the write transaction already excludes
    every other writer, which is the same guarantee for any key.
    """
    match dialect:
        case Dialect.POSTGRES:
            await session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        case Dialect.SQLITE:
            return
        case _:
            assert_never(dialect)


def any_of(
    dialect: Dialect, column: sa.ColumnElement[Any], values: Sequence[str]
) -> sa.ColumnElement[bool]:
    """``column IN (values)`` with the whole list bound as ONE parameter.

    A list of thousands of ids would otherwise become thousands of bind parameters (and a new
    statement text for every length). PostgreSQL compares against an array
    (``= ANY(:values)``); SQLite reads the values from a JSON array (``json_each``).

    Args:
        column: a uuid column, or a text expression (such as ``JsonText``) holding ids.
        values: canonical id strings.
    """
    items = [str(value) for value in values]
    match dialect:
        case Dialect.POSTGRES:
            element_type: sa.types.TypeEngine[Any] = (
                postgresql.UUID(as_uuid=False) if isinstance(column.type, types.UUID) else sa.Text()
            )
            array = sa.bindparam(None, items, type_=postgresql.ARRAY(element_type))
            return column == sa.any_(array)
        case Dialect.SQLITE:
            listed = sa.func.json_each(sa.bindparam(None, json.dumps(items), type_=sa.Text()))
            values_table = listed.table_valued("value")
            return column.in_(sa.select(values_table.c.value))
        case _:
            assert_never(dialect)


def subtree(
    id_column: sa.Column[Any],
    parent_column: sa.Column[Any],
    root_id: uuid.UUID,
    *,
    where: sa.ColumnElement[bool] | None = None,
) -> sa.CTE:
    """A recursive CTE of ``(id, depth)`` for ``root_id`` and every row below it.

    ``where`` restricts every level (for example to one company): a row that fails it is left
    out together with everything below it. The root has depth 0. The SQL is the same on both
    backends.

    Rows have one parent each, so the only cycle a downward walk can meet runs back through the
    root; excluding the root from the recursive step makes the walk terminate on cyclic data and
    visit each row once, at its true depth.
    """
    table = id_column.table
    anchor_filter = id_column == root_id
    if where is not None:
        anchor_filter = sa.and_(anchor_filter, where)
    anchor = sa.select(id_column.label("id"), sa.literal(0).label("depth")).where(anchor_filter)
    tree = anchor.cte("subtree", recursive=True)
    child = table.alias("child")
    child_id = child.c[id_column.name]
    step_filter = sa.and_(child_id != root_id)
    if where is not None:
        step_filter = sa.and_(step_filter, _rebind(where, table, child))
    step = (
        sa.select(child_id.label("id"), (tree.c.depth + 1).label("depth"))
        .join(tree, child.c[parent_column.name] == tree.c.id)
        .where(step_filter)
    )
    return tree.union_all(step)


def _rebind(
    clause: sa.ColumnElement[bool], table: sa.Table, alias: sa.Alias
) -> sa.ColumnElement[bool]:
    """Point a filter written against ``table`` at one of its aliases."""
    return ClauseAdapter(alias).traverse(clause)
