"""The SQLite guard: what the database itself refuses while a plugin statement runs.

Every SQLite connection of a ``Database`` carries a guard (``install_sqlite_support``, from the
connect hook). While a plugin statement runs (``Guard.active``), an authorizer denies every table
outside the namespace and the plugin's whitelisted core tables (which are read-only), and a
progress handler enforces the statement timeout. Host statements run with no policy. The guard
also keeps the PostgreSQL-worded error of a failing ``pg_*`` function, which SQLite itself
reports only as "user-defined function raised exception".
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from db.plugin_sql.functions import register_functions
from db.plugin_sql.table_names import logical_table_name
from db.plugin_sql.values import PgValueError

#: How many SQLite virtual-machine steps run between two timeout checks.
_PROGRESS_STEPS = 5_000

#: Key of the guard in a SQLite connection record's ``info``.
_GUARD = "sandbox_plugin_sql_guard"


@dataclass
class Policy:
    """What the authorizer lets one plugin statement touch (SQLite table names)."""

    prefix: str
    readable: frozenset[str]
    writable: bool
    ddl: bool


#: SQLite functions no plugin statement may reach, whatever the rewriter emitted.
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile"})
_ALWAYS_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE})
_DDL_ACTIONS = frozenset(
    {sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_ALTER_TABLE}
)
_WRITE_ACTIONS = frozenset({sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE})
#: SQLite's own tables that DDL and AUTOINCREMENT maintain.
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_sequence"})
_TEMP_SCHEMA_TABLES = frozenset({"sqlite_temp_master", "sqlite_temp_schema"})
#: Table-valued functions the rewriter uses (arrays and jsonb_array_elements).
_TABLE_FUNCTIONS = frozenset({"json_each"})


@dataclass
class Guard:
    """Per-connection state behind the authorizer, progress handler and function errors.

    Host statements run with no policy (everything allowed, no deadline).
    """

    policy: Policy | None = None
    deadline: float | None = None
    timed_out: bool = False
    denied: str | None = None
    function_error: PgValueError | None = None
    _steps: int = field(default=0, repr=False)

    def authorize(
        self, action: int, first: str | None, second: str | None, database: str | None, _: Any
    ) -> int:
        policy = self.policy
        if policy is None:
            return sqlite3.SQLITE_OK
        if self._allowed(policy, action, first, second, database):
            return sqlite3.SQLITE_OK
        self.denied = self.denied or _describe(action, first, second)
        return sqlite3.SQLITE_DENY

    @staticmethod
    def _allowed(
        policy: Policy, action: int, first: str | None, second: str | None, database: str | None
    ) -> bool:
        if database not in (None, "main"):
            # ALTER TABLE ... RENAME also rewrites temp triggers and views that mention the table.
            return policy.ddl and database == "temp" and first in _TEMP_SCHEMA_TABLES
        if action in _ALWAYS_ALLOWED:
            return True
        if action == sqlite3.SQLITE_FUNCTION:
            name = (second or "").lower()
            return name not in _DENIED_FUNCTIONS and (policy.ddl or not name.startswith("sqlite_"))
        if action == sqlite3.SQLITE_READ:
            table = first or ""
            return (
                table.startswith(policy.prefix)
                or table in policy.readable
                or table in _TABLE_FUNCTIONS
                or (policy.ddl and table in _SCHEMA_TABLES)
                or (policy.writable and table == "sqlite_sequence")  # AUTOINCREMENT keys
            )
        if action in _WRITE_ACTIONS:
            table = first or ""
            if table in _SCHEMA_TABLES:
                return policy.ddl or (policy.writable and table == "sqlite_sequence")
            return policy.writable and table.startswith(policy.prefix)
        if action == sqlite3.SQLITE_CREATE_INDEX:
            # (index, table); PRIMARY KEY and UNIQUE create "sqlite_autoindex_<table>_<n>".
            index, table = first or "", second or ""
            own = index.startswith((policy.prefix, "sqlite_autoindex_" + policy.prefix))
            return policy.ddl and own and table.startswith(policy.prefix)
        if action == sqlite3.SQLITE_REINDEX:  # CREATE INDEX fills the new index this way
            return policy.ddl and (first or "").startswith(policy.prefix)
        if action in _DDL_ACTIONS:
            # CREATE TABLE names the new table first; ALTER TABLE names the table second. The
            # first AUTOINCREMENT column of the file creates SQLite's own sqlite_sequence.
            name = (second if action == sqlite3.SQLITE_ALTER_TABLE else first) or ""
            return policy.ddl and (name.startswith(policy.prefix) or name == "sqlite_sequence")
        return False

    def progress(self) -> int:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return 1
        return 0

    def record_function_error(self, error: PgValueError) -> None:
        self.function_error = error

    @contextmanager
    def active(self, policy: Policy, timeout_ms: int) -> Iterator[None]:
        self.policy, self.denied, self.function_error, self.timed_out = policy, None, None, False
        self.deadline = time.monotonic() + timeout_ms / 1000
        try:
            yield
        finally:
            self.policy, self.deadline = None, None


def _describe(action: int, first: str | None, second: str | None) -> str:
    if action == sqlite3.SQLITE_FUNCTION:
        return f"function {second}"
    if action == sqlite3.SQLITE_ALTER_TABLE:
        return f'table "{logical_table_name(second or "")}"'
    return f'table "{logical_table_name(first or "")}"' if first else f"operation {action}"


def install_sqlite_support(connection: sqlite3.Connection, info: dict[str, Any]) -> None:
    """Give a new SQLite connection the plugin SQL functions and guard, keeping the guard in
    ``info`` (the connection record's).

    Called with the ``sqlite3`` connection itself, in the place that owns it (the connect hook
    runs it in one step with the connection's other settings).
    """
    guard = Guard()
    info[_GUARD] = guard
    register_functions(connection.create_function, guard.record_function_error)
    # The first use of json_each declares its virtual table, which writes the connection's
    # schema; do it now, so plugin statements never need that permission.
    connection.execute("SELECT 1 FROM json_each('[]')").close()
    connection.set_authorizer(guard.authorize)
    connection.set_progress_handler(guard.progress, _PROGRESS_STEPS)


def guard_of(connection: Any) -> Guard:
    """The guard of a SQLite connection (a pool connection or its record)."""
    guard: Guard = connection.info[_GUARD]
    return guard


__all__ = ["Guard", "Policy", "guard_of", "install_sqlite_support"]
