"""Database errors, the same on SQLite and PostgreSQL.

Driver errors are translated into this hierarchy at one boundary (``translate_error``), called by
``Database.transaction()``, so that callers catch one exception whatever the backend::

    DatabaseError
     ├── IntegrityViolation
     │    ├── UniqueViolation
     │    ├── ForeignKeyViolation
     │    └── NotNullViolation
     ├── DatabaseBusy
     ├── DatabaseUnavailable
     └── PluginStatementError   plugin SQL failed or hit a limit (see db.plugin_sql)
"""

from __future__ import annotations

import enum
import re
import sqlite3

from sqlalchemy import MetaData
from sqlalchemy import exc as sa_exc


class DatabaseError(Exception):
    """A database operation failed."""


class IntegrityViolation(DatabaseError):
    """A write broke a constraint; nothing of the transaction was kept."""

    def __init__(self, message: str, *, constraint: str | None = None) -> None:
        super().__init__(message)
        #: The constraint or unique index name, where the backend reports one.
        self.constraint = constraint


class UniqueViolation(IntegrityViolation):
    """A write duplicated a value under a unique constraint or unique index."""


class ForeignKeyViolation(IntegrityViolation):
    """A write referenced a missing row, or deleted a row still referenced."""


class NotNullViolation(IntegrityViolation):
    """A write left a NOT NULL column empty."""


class DatabaseBusy(DatabaseError):
    """Another writer held the database longer than the busy timeout."""


class DatabaseUnavailable(DatabaseError):
    """The database could not be reached or opened."""


class PluginStatementFailure(enum.StrEnum):
    """Why a plugin statement failed, the same on both backends."""

    UNIQUE = "unique"
    FOREIGN_KEY = "foreign_key"
    NOT_NULL = "not_null"
    CHECK = "check"
    INVALID_DATA = "invalid_data"
    TIMEOUT = "timeout"
    DENIED = "denied"
    OTHER = "other"


class PluginStatementError(DatabaseError):
    """A plugin's SQL statement failed in the database, or was stopped by a limit."""

    def __init__(self, message: str, *, failure: PluginStatementFailure) -> None:
        super().__init__(message)
        self.failure = failure


_SQLITE_UNIQUE_COLUMNS = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)$")
_SQLITE_NOT_NULL_COLUMN = re.compile(r"NOT NULL constraint failed: (?P<column>\S+)$")


def _sqlite_unique_constraint_name(message: str, metadata: MetaData) -> str | None:
    """Find the unique index or constraint SQLite's message names by its columns."""
    match = _SQLITE_UNIQUE_COLUMNS.search(message)
    if not match:
        return None
    qualified = [part.strip() for part in match.group("columns").split(",")]
    table_name = qualified[0].split(".")[0]
    columns = [name.split(".", 1)[1] for name in qualified]
    table = metadata.tables.get(table_name)
    if table is None:
        return None
    candidates = [index for index in table.indexes if index.unique] + list(table.constraints)
    for candidate in candidates:
        candidate_columns = [column.name for column in getattr(candidate, "columns", [])]
        if candidate_columns == columns and candidate.name:
            return str(candidate.name)
    return None


def translate_error(error: sa_exc.DBAPIError, metadata: MetaData) -> DatabaseError | None:
    """Map a driver error to our hierarchy, or return None when it is not one we map."""
    original = error.orig
    if isinstance(original, sqlite3.Error):
        return _translate_sqlite(original, metadata)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is None:
        return None
    cause = original.__cause__
    constraint = getattr(cause, "constraint_name", None)
    message = str(getattr(cause, "args", [str(original)])[0]) if cause else str(original)
    if sqlstate == "23505":
        return UniqueViolation(f"unique constraint violated: {constraint}", constraint=constraint)
    if sqlstate == "23503":
        return ForeignKeyViolation(
            f"foreign key constraint violated: {constraint}", constraint=constraint
        )
    if sqlstate == "23502":
        column = getattr(cause, "column_name", None)
        table = getattr(cause, "table_name", None)
        return NotNullViolation(f"NOT NULL constraint violated: {table}.{column}")
    if sqlstate in {"08000", "08001", "08003", "08006", "57P01", "57P03"}:
        return DatabaseUnavailable(message)
    return None


def _translate_sqlite(original: sqlite3.Error, metadata: MetaData) -> DatabaseError | None:
    name = getattr(original, "sqlite_errorname", "")
    message = str(original)
    if name in {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}:
        constraint = _sqlite_unique_constraint_name(message, metadata)
        return UniqueViolation(f"unique constraint violated: {constraint}", constraint=constraint)
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        # SQLite does not say which foreign key failed.
        return ForeignKeyViolation("foreign key constraint violated: None")
    if name == "SQLITE_CONSTRAINT_NOTNULL":
        match = _SQLITE_NOT_NULL_COLUMN.search(message)
        column = match.group("column") if match else None
        return NotNullViolation(f"NOT NULL constraint violated: {column}")
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
        return DatabaseBusy(f"database is locked by another writer ({message})")
    if name.startswith("SQLITE_CANTOPEN"):
        return DatabaseUnavailable(message)
    return None
