"""Running plugin SQL: one runner per backend, inside a transaction the caller opened.

``plugin_sql_backend(dialect)`` picks the runner. Both run one statement with a second line of
defence below the SQL policy, and turn failures into ``PluginStatementError`` with the same
``failure`` and message:

- PostgreSQL: the statement goes through the extended protocol (prepared, parameters bound), so a
  second statement can never ride along. The transaction's ``search_path`` is narrowed to
  ``pg_catalog`` and the plugin's schema, ``statement_timeout`` and ``lock_timeout`` are set, and
  reads run in a read-only transaction. Plugin parameters are read with PostgreSQL's input rules
  (``values``) into the values asyncpg binds.
- SQLite: the rewritten statement runs under the connection's guard (``guard``), on namespace
  tables named as ``table_names`` says.

How plugin SQL is kept from stalling host writes (``StatementLimits`` carries the limits):

- SQLite has one writer for the whole file, so a plugin write transaction makes every host write
  wait. ``timeout_ms`` bounds it: the guard's progress handler checks the deadline every few
  thousand virtual-machine steps and interrupts the statement (``SQLITE_INTERRUPT``; SQLite
  then rolls the whole transaction back). The caller gives writes a short limit and migrations
  the time left of their budget (``holds_writer_locks`` is always true on SQLite).
- PostgreSQL: namespace writes take no lock that blocks host writes, except locks on core tables
  that DDL with a foreign key to one takes (``SHARE ROW EXCLUSIVE`` on ``public.issues``, held
  to commit). ``lock_timeout_ms`` bounds the wait for such a lock (a waiting request queues
  host writers behind it), and ``holds_writer_locks`` tells the caller when its transaction
  holds one, so that later statements get only the time left of the budget.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, assert_never

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import Dialect
from db.errors import PluginStatementError, PluginStatementFailure
from db.plugin_sql.composites import has_row_columns, rows_as_text
from db.plugin_sql.guard import Guard, Policy, guard_of
from db.plugin_sql.table_names import logical_table_name, sqlite_table_name
from db.plugin_sql.values import (
    PgValueError,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
    parse_interval,
    parse_json,
    parse_numeric,
    parse_timestamp,
    parse_timestamptz,
    parse_uuid,
    render_json,
    scalar_text,
)

if TYPE_CHECKING:
    import asyncpg

#: What a plugin statement may do: read, write its namespace, or migrate it.
AccessMode = Literal["read", "write", "migrate"]


@dataclass(frozen=True)
class PluginSqlAccess:
    """Who runs a statement and what it may touch."""

    namespace: str
    core_read_tables: frozenset[str]
    mode: AccessMode
    #: CTE names of the statement: SQLite reports reading a recursive CTE like a table's.
    cte_names: frozenset[str] = frozenset()
    #: SET columns the target table lacks, with the table's name: SQLite's error names no
    #: table, PostgreSQL's does.
    unknown_assignments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StatementLimits:
    """Limits of one statement; ``max_rows`` None fetches every row, ``lock_timeout_ms`` None
    waits for locks as long as the statement may run."""

    timeout_ms: int
    max_rows: int | None = None
    lock_timeout_ms: int | None = None


@dataclass
class StatementResult:
    """Column names, rows (at most ``max_rows + 1``) and the affected-row count."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    row_count: int


def plugin_sql_backend(dialect: Dialect) -> PluginSqlBackend:
    """The runner for a database's dialect."""
    match dialect:
        case Dialect.POSTGRES:
            return PostgresPluginSql()
        case Dialect.SQLITE:
            return SqlitePluginSql()
        case _:
            assert_never(dialect)


class PluginSqlBackend:
    """Runs plugin statements on one backend (see the subclasses)."""

    dialect: Dialect

    async def create_namespace(self, session: AsyncSession, namespace: str) -> None:
        """Create the storage of a namespace if it does not exist yet."""
        raise NotImplementedError

    async def drop_namespace(self, session: AsyncSession, namespace: str) -> None:
        """Drop the namespace's storage and everything in it, if it exists."""
        raise NotImplementedError

    async def namespace_columns(
        self, session: AsyncSession, namespace: str
    ) -> dict[str, list[tuple[str, str]]]:
        """Each namespace table with its ``(column, declared type)`` pairs, in column order."""
        raise NotImplementedError

    async def run(
        self,
        session: AsyncSession,
        sql: str,
        params: Sequence[Any],
        *,
        access: PluginSqlAccess,
        limits: StatementLimits,
    ) -> StatementResult:
        """Run one statement inside the session's transaction."""
        raise NotImplementedError

    async def holds_writer_locks(self, session: AsyncSession) -> bool:
        """Whether the session's transaction holds a lock that makes host writes wait."""
        raise NotImplementedError


def _by_table(rows: Iterable[Sequence[str]]) -> dict[str, list[tuple[str, str]]]:
    """``(table, column, type)`` rows grouped as ``{table: [(column, type), ...]}``."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_name in rows:
        columns.setdefault(table, []).append((column, type_name))
    return columns


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# -- PostgreSQL ----------------------------------------------------------------------------------


class PostgresPluginSql(PluginSqlBackend):
    """PostgreSQL: the plugin's own text, prepared, in a narrowed transaction."""

    dialect = Dialect.POSTGRES

    async def create_namespace(self, session: AsyncSession, namespace: str) -> None:
        await session.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {_quote(namespace)}"))

    async def drop_namespace(self, session: AsyncSession, namespace: str) -> None:
        await session.execute(sa.text(f"DROP SCHEMA IF EXISTS {_quote(namespace)} CASCADE"))

    async def namespace_columns(
        self, session: AsyncSession, namespace: str
    ) -> dict[str, list[tuple[str, str]]]:
        rows = await session.execute(
            sa.text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = :schema ORDER BY table_name, ordinal_position"
            ),
            {"schema": namespace},
        )
        return _by_table(rows)

    async def run(
        self,
        session: AsyncSession,
        sql: str,
        params: Sequence[Any],
        *,
        access: PluginSqlAccess,
        limits: StatementLimits,
    ) -> StatementResult:
        # Going through the session first makes SQLAlchemy open the transaction, so the
        # settings below stay local to it (SET LOCAL semantics via set_config(..., true)).
        await session.execute(
            sa.text(
                "SELECT set_config('search_path', :search_path, true), "
                "set_config('statement_timeout', :timeout, true), "
                "set_config('lock_timeout', :lock_timeout, true), "
                "set_config('standard_conforming_strings', 'on', true), "
                # Times print in UTC, as on SQLite (row values and ::text show them).
                "set_config('TimeZone', 'UTC', true)"
                + (", set_config('transaction_read_only', 'on', true)")
                * (access.mode == "read")
            ),
            {
                "search_path": f"pg_catalog, {_quote(access.namespace)}",
                "timeout": _ms(limits.timeout_ms),
                "lock_timeout": _ms(limits.lock_timeout_ms or limits.timeout_ms),
            },
        )
        import asyncpg  # loaded with the PostgreSQL backend only

        connection = await _asyncpg_connection(session)
        try:
            statement = await connection.prepare(sql)
            if access.mode == "read" and has_row_columns(statement.get_attributes()):
                statement = await connection.prepare(rows_as_text(sql, statement.get_attributes()))
            arguments = [
                _coerce_pg(parameter.name, value)
                for parameter, value in zip(statement.get_parameters(), params, strict=True)
            ]
            if limits.max_rows is None:
                rows = await statement.fetch(*arguments)
            else:
                cursor = await statement.cursor(*arguments)
                rows = await cursor.fetch(limits.max_rows + 1)
            result = StatementResult(
                columns=[attribute.name for attribute in statement.get_attributes()],
                rows=[tuple(row) for row in rows],
                row_count=_status_count(statement.get_statusmsg() or "", len(rows)),
            )
        except asyncpg.PostgresError as error:
            raise _translate_postgres(error, limits) from error
        except PgValueError as error:
            raise PluginStatementError(
                str(error), failure=PluginStatementFailure.INVALID_DATA
            ) from error
        if access.mode == "migrate":
            # Host statements later in the migration transaction use the default settings.
            await connection.execute(
                "SET LOCAL search_path TO DEFAULT; SET LOCAL statement_timeout TO DEFAULT; "
                "SET LOCAL lock_timeout TO DEFAULT"
            )
        return result

    async def holds_writer_locks(self, session: AsyncSession) -> bool:
        # Modes that conflict with the ROW EXCLUSIVE lock of INSERT, UPDATE and DELETE.
        held = await session.scalar(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks AS l "
                "JOIN pg_catalog.pg_class AS c ON c.oid = l.relation "
                "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
                "WHERE l.pid = pg_catalog.pg_backend_pid() AND l.granted "
                "AND n.nspname = 'public' AND l.mode IN "
                "('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'))"
            )
        )
        return bool(held)


def _ms(milliseconds: int) -> str:
    return f"{int(milliseconds)}ms"


async def _asyncpg_connection(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    if not raw.info.get("sandbox_interval_as_text"):
        # Interval parameters and results travel as text, so PostgreSQL itself reads
        # '1 month' (asyncpg's binary codec only knows timedelta, which has no months).
        await driver.set_type_codec(
            "interval", encoder=str, decoder=str, schema="pg_catalog", format="text"
        )
        raw.info["sandbox_interval_as_text"] = True
    return driver


def _status_count(status: str, fetched: int) -> int:
    """The row count of a command tag such as ``INSERT 0 3`` or ``UPDATE 2``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else fetched


_PG_SCALARS: dict[str, Any] = {
    "uuid": lambda value: parse_uuid(value),
    "timestamptz": parse_timestamptz,
    "timestamp": parse_timestamp,
    "date": parse_date,
    "bool": parse_bool,
    "int2": lambda value: parse_int(value, "smallint"),
    "int4": lambda value: parse_int(value, "integer"),
    "int8": lambda value: parse_int(value, "bigint"),
    "numeric": parse_numeric,
    "float4": parse_float,
    "float8": parse_float,
}


def _coerce_pg(type_name: str, value: Any) -> Any:
    """The Python value asyncpg binds for a JSON parameter, read as PostgreSQL reads text."""
    if value is None:
        return None
    if type_name.endswith("[]") or type_name.startswith("_"):
        element = type_name.removesuffix("[]").removeprefix("_")
        if not isinstance(value, list):
            raise PgValueError(f'malformed array literal: "{scalar_text(value)}"')
        return [_coerce_pg(element, item) for item in value]
    if type_name in ("json", "jsonb"):
        # asyncpg (through SQLAlchemy's codec) sends JSON text; validate it as PostgreSQL would.
        return render_json(parse_json(value))
    if type_name == "interval":
        parse_interval(value)
        return scalar_text(value)
    reader = _PG_SCALARS.get(type_name)
    if reader is not None:
        parsed = reader(value)
        return Decimal(parsed) if type_name == "numeric" else parsed
    return scalar_text(value)


def _translate_postgres(error: asyncpg.PostgresError, limits: StatementLimits) -> Exception:
    state = getattr(error, "sqlstate", "") or ""
    table = getattr(error, "table_name", None) or "?"
    if state == "23505":
        return _unique_violation(table)
    if state == "23503":
        return _foreign_key_violation()
    if state == "23502":
        return _not_null_violation(table, getattr(error, "column_name", None) or "?")
    if state == "23514":
        return _check_violation()
    if state == "57014":
        return _timeout(limits)
    if state == "55P03":
        return PluginStatementError(
            "Plugin SQL timed out waiting for a lock after "
            f"{limits.lock_timeout_ms or limits.timeout_ms} ms",
            failure=PluginStatementFailure.TIMEOUT,
        )
    failure = (
        PluginStatementFailure.INVALID_DATA
        if state.startswith("22")
        else PluginStatementFailure.OTHER
    )
    # The primary message only, as upstream's driver reports it (no DETAIL or HINT lines).
    return PluginStatementError(getattr(error, "message", None) or str(error), failure=failure)


# -- failures, worded the same on both backends --------------------------------------------------


def _unique_violation(table: str) -> PluginStatementError:
    return PluginStatementError(
        f'duplicate key value violates a unique constraint on "{table}"',
        failure=PluginStatementFailure.UNIQUE,
    )


def _foreign_key_violation() -> PluginStatementError:
    return PluginStatementError(
        "Plugin SQL violates a foreign key constraint", failure=PluginStatementFailure.FOREIGN_KEY
    )


def _not_null_violation(table: str, column: str) -> PluginStatementError:
    return PluginStatementError(
        f'null value in column "{column}" of relation "{table}" violates not-null constraint',
        failure=PluginStatementFailure.NOT_NULL,
    )


def _check_violation() -> PluginStatementError:
    return PluginStatementError(
        "Plugin SQL violates a check constraint", failure=PluginStatementFailure.CHECK
    )


def _timeout(limits: StatementLimits) -> PluginStatementError:
    return PluginStatementError(
        f"Plugin SQL exceeded the statement timeout of {limits.timeout_ms} ms",
        failure=PluginStatementFailure.TIMEOUT,
    )


# -- SQLite --------------------------------------------------------------------------------------


class SqlitePluginSql(PluginSqlBackend):
    """SQLite: rewritten SQL, under the connection's guard."""

    dialect = Dialect.SQLITE

    async def create_namespace(self, session: AsyncSession, namespace: str) -> None:
        # Namespace tables carry the namespace in their name; there is nothing to create.
        return None

    async def drop_namespace(self, session: AsyncSession, namespace: str) -> None:
        prefix = sqlite_table_name(namespace, "")
        tables = await session.scalars(
            sa.text(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'table' AND substr(name, 1, :length) = :prefix"
            ),
            {"length": len(prefix), "prefix": prefix},
        )
        # The namespace's tables may reference each other; they all go, so their foreign keys
        # are checked once, at commit, when nothing refers to them any more.
        await session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
        for table in tables.all():
            await session.execute(sa.text(f"DROP TABLE {_quote(table)}"))

    async def namespace_columns(
        self, session: AsyncSession, namespace: str
    ) -> dict[str, list[tuple[str, str]]]:
        prefix = sqlite_table_name(namespace, "")
        rows = await session.execute(
            sa.text(
                "SELECT m.name, p.name, p.type FROM sqlite_master AS m "
                "JOIN pragma_table_xinfo(m.name) AS p "
                "WHERE m.type = 'table' AND substr(m.name, 1, :length) = :prefix "
                "ORDER BY m.name, p.cid"
            ),
            {"length": len(prefix), "prefix": prefix},
        )
        return _by_table((logical_table_name(table), *rest) for table, *rest in rows)

    async def run(
        self,
        session: AsyncSession,
        sql: str,
        params: Sequence[Any],
        *,
        access: PluginSqlAccess,
        limits: StatementLimits,
    ) -> StatementResult:
        connection = await session.connection()  # begins the transaction
        raw = await connection.get_raw_connection()
        guard = guard_of(raw)
        driver = raw.driver_connection
        await driver.ensure_transaction()  # the statement below bypasses the cursor wrapper
        policy = Policy(
            prefix=sqlite_table_name(access.namespace, ""),
            readable=access.core_read_tables | access.cte_names,
            writable=access.mode != "read",
            ddl=access.mode == "migrate",
        )
        arguments = [_sqlite_parameter(value) for value in params]
        try:
            with guard.active(policy, limits.timeout_ms):
                cursor = await driver.execute(sql, arguments)
                try:
                    if limits.max_rows is None:
                        rows = await cursor.fetchall()
                    else:
                        rows = await cursor.fetchmany(limits.max_rows + 1)
                    described = cursor.description or ()
                    row_count = cursor.rowcount
                finally:
                    await cursor.close()
        except sqlite3.Error as error:
            raise _translate_sqlite(error, guard, access, limits) from error
        return StatementResult(
            columns=[column[0] for column in described],
            rows=[tuple(row) for row in rows],
            row_count=max(row_count, 0) if described == () else len(rows),
        )

    async def holds_writer_locks(self, session: AsyncSession) -> bool:
        return True  # a write transaction holds the file's one writer


def _sqlite_parameter(value: Any) -> Any:
    """A JSON parameter as SQLite binds it: containers as JSON text, booleans as 0/1."""
    if isinstance(value, Mapping | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value


def _translate_sqlite(
    error: sqlite3.Error, guard: Guard, access: PluginSqlAccess, limits: StatementLimits
) -> PluginStatementError:
    name = getattr(error, "sqlite_errorname", "")
    message = str(error)
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        columns = message.split(": ", 1)[-1].split(", ")[0]
        return _unique_violation(logical_table_name(columns.rsplit(".", 1)[0]))
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return _foreign_key_violation()
    if name == "SQLITE_CONSTRAINT_NOTNULL":
        table, _, column = message.split(": ", 1)[-1].rpartition(".")
        return _not_null_violation(logical_table_name(table), column)
    if name == "SQLITE_CONSTRAINT_CHECK":
        return _check_violation()
    if name == "SQLITE_INTERRUPT" and guard.timed_out:
        return _timeout(limits)
    if name == "SQLITE_AUTH" or "not authorized" in message:
        return PluginStatementError(
            f"Plugin SQL may not access {guard.denied or 'this object'}",
            failure=PluginStatementFailure.DENIED,
        )
    if guard.function_error is not None:
        return PluginStatementError(
            str(guard.function_error), failure=PluginStatementFailure.INVALID_DATA
        )
    return PluginStatementError(
        _postgres_wording(message, access.unknown_assignments),
        failure=PluginStatementFailure.OTHER,
    )


_SQLITE_UNKNOWN_COLUMN_OF = re.compile(r"^table (\S+) has no column named (\S+)$")
_SQLITE_UNKNOWN_COLUMN = re.compile(r"^no such column: (\S+)$")
_SQLITE_UNKNOWN_TABLE = re.compile(r"^no such table: (\S+)$")
_SQLITE_EXISTS = re.compile(r"^(?:table|index) (\S+) already exists$")


def _postgres_wording(message: str, unknown_assignments: Mapping[str, str]) -> str:
    """SQLite's messages for unknown names in PostgreSQL's words, so plugins see one message.

    SQLite does not say which table an unknown column of ``UPDATE ... SET`` belongs to;
    ``unknown_assignments`` (from the statement's printer) does.
    """
    if match := _SQLITE_UNKNOWN_COLUMN_OF.match(message):
        column, table = match[2], logical_table_name(match[1])
        return f'column "{column}" of relation "{table}" does not exist'
    if match := _SQLITE_UNKNOWN_COLUMN.match(message):
        name = match[1]
        if name in unknown_assignments:
            return f'column "{name}" of relation "{unknown_assignments[name]}" does not exist'
        return f"column {name} does not exist" if "." in name else f'column "{name}" does not exist'
    if match := _SQLITE_UNKNOWN_TABLE.match(message):
        return f'relation "{match[1]}" does not exist'
    if match := _SQLITE_EXISTS.match(message):
        return f'relation "{logical_table_name(match[1].strip("`"))}" already exists'
    return message


__all__ = [
    "AccessMode",
    "PluginSqlAccess",
    "PluginSqlBackend",
    "PostgresPluginSql",
    "SqlitePluginSql",
    "StatementLimits",
    "StatementResult",
    "plugin_sql_backend",
]
