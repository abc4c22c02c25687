"""From an accepted statement to the SQL each backend runs.

This is the one module of ``core`` that branches on the dialect, because it exists for the
difference: PostgreSQL runs the plugin's own text (what the policy checked is exactly what runs),
and SQLite runs the statement printed back from the same parse tree by ``SqlitePrinter``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from pglast import ast

from core.plugin_database.kinds import Catalog, Column
from core.plugin_database.policy import CheckedStatement, Mode
from core.plugin_database.sqlite_printer import SqlitePrinter
from db import Dialect


@dataclass(frozen=True)
class Compiled:
    """What runs for one accepted statement on one backend."""

    #: Statements to run in order; empty when the backend has nothing to do (a comment, or
    #: an index of a method SQLite lacks).
    statements: tuple[str, ...]
    #: Result columns with their kinds, on SQLite; None means "read the values as they come".
    columns: tuple[Column, ...] | None = None
    #: Names of the statement's CTEs, which SQLite's authorizer may report as tables.
    cte_names: frozenset[str] = frozenset()
    #: SQLite: SET columns the target table lacks, with the table's name (for the error's words).
    unknown_assignments: dict[str, str] = field(default_factory=dict)


def needs_catalog(dialect: Dialect) -> bool:
    """Whether compiling for ``dialect`` needs the namespace's column catalog."""
    match dialect:
        case Dialect.POSTGRES:
            return False
        case Dialect.SQLITE:
            return True
        case _:
            assert_never(dialect)


def compile_statement(
    checked: CheckedStatement, dialect: Dialect, catalog: Catalog | None
) -> Compiled:
    """The SQL ``dialect`` runs for ``checked`` (SQLite needs the namespace's catalog).

    Raises:
        PluginSqlUnsupported: the statement uses something SQLite cannot run faithfully.
        PluginSqlInvalid: a literal the statement's types refuse (``'x'::uuid``).
    """
    match dialect:
        case Dialect.POSTGRES:
            return Compiled((checked.text,))
        case Dialect.SQLITE:
            assert catalog is not None
            return _sqlite(checked, SqlitePrinter(catalog))
        case _:
            assert_never(dialect)


def _sqlite(checked: CheckedStatement, printer: SqlitePrinter) -> Compiled:
    node = checked.node
    columns = None
    if checked.mode is Mode.MIGRATION:
        statements = tuple(printer.ddl(node))
    elif isinstance(node, ast.SelectStmt):
        query = printer.select(node, None)
        statements, columns = (query.sql,), query.columns
    elif isinstance(node, ast.InsertStmt):
        statements = (printer.insert(node),)
    elif isinstance(node, ast.UpdateStmt):
        statements = (printer.update(node),)
    elif isinstance(node, ast.DeleteStmt):
        statements = (printer.delete(node),)
    else:
        raise AssertionError(f"the policy let {type(node).__name__} through")
    return Compiled(
        statements, columns, frozenset(printer.cte_names), dict(printer.unknown_assignments)
    )


__all__ = ["Compiled", "compile_statement", "needs_catalog"]
