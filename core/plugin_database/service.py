"""``PluginDatabase``: plugin namespaces, migrations and runtime SQL over one ``Database``.

The plugin loader applies migrations and gathers the plugin's ``access`` at activation; the
worker bridge (which has checked the capability) runs ``ctx.db.query`` and ``ctx.db.execute``
with that access. Every statement passes the SQL policy, then runs in its own transaction.

No plugin delays the host beyond the limits of ``PluginSqlSettings``:

- SQL texts and migration files are capped in size, migration files in statements. Checking and
  rewriting a text longer than ``ON_LOOP_CHARACTERS`` runs on one thread of its own, so the
  event loop waits at most for one of its C calls (a regular expression or the parser over one
  capped text: tens of milliseconds), never for the whole check.
- Plugin SQL runs on connections of its own (``Database.plugin_connections``), never the
  host's pools; a call waits a bounded time for one.
- ``ctx.db.execute`` has a short statement limit on both backends (on SQLite it holds the one
  writer), and a migration a budget for keeping host writers waiting: on SQLite from its first
  statement, on PostgreSQL from its first lock on a core table; later statements get the time
  left (``_WriterBudget``; how each backend enforces it: ``db.plugin_sql.runner``).
- Query results are capped in rows and in encoded bytes.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from core.errors import HostError
from core.plugin_database.cache import CachedStatement, StatementCache, catalog_version
from core.plugin_database.errors import PluginSqlInvalid, PluginSqlLimitExceeded
from core.plugin_database.kinds import Catalog
from core.plugin_database.migrations import (
    APPLIED,
    ManifestView,
    MigrationFile,
    applied_checksums,
    checksum_mismatch,
    ledger_row,
    migration_files,
    migration_path,
    migrations_directory,
    read_manifest,
    read_migration,
    record_migration,
)
from core.plugin_database.namespace import (
    derive_namespace,
    ensure_namespace,
    mark_migration_failed,
    migration_lock_key,
)
from core.plugin_database.policy import (
    CheckedStatement,
    Mode,
    TooManyStatements,
    check_migration,
    check_parameters,
    check_runtime,
)
from core.plugin_database.results import JsonValue, rows_as_dicts
from core.plugin_database.rewrite import Compiled, compile_statement, needs_catalog
from core.plugin_database.runtime import (
    PluginAccess,
    host_error,
    parse_params,
    parse_plugin_id,
    plugin_access,
)
from core.plugin_database.settings import (
    ENVIRONMENT,
    PluginSqlSettings,
    byte_size,
    limit_message,
)
from core.plugin_database.statement_place import place_of, placed
from core.unit_of_work import UnitOfWork, read, write
from db import Database, advisory_xact_lock
from db.engine import ConnectionsBusy
from db.errors import PluginStatementError
from db.models import PluginDatabaseNamespace, PluginMigration
from db.plugin_sql import PluginSqlAccess, StatementLimits, StatementResult, plugin_sql_backend

T = TypeVar("T")

#: Texts up to this many characters are checked and rewritten on the event loop: a few
#: milliseconds at worst (about 5 s per MB for the costliest shapes), less than a thread hop
#: costs to arrange for the common short statement.
ON_LOOP_CHARACTERS = 2_048
#: Results of more rows are converted (and measured) on the checking thread.
ON_LOOP_ROWS = 200


class _MigrationFailed(Exception):
    """A migration file failed; its ledger row must be written after the rollback."""

    def __init__(self, migration: MigrationFile, error: HostError) -> None:
        super().__init__(error.message)
        self.migration = migration
        self.error = error


def _naming(error: PluginSqlLimitExceeded, setting: str) -> PluginSqlLimitExceeded:
    """A statement's timeout again, ending with the variable of the limit that set it."""
    return PluginSqlLimitExceeded(limit_message(error.message, setting), details=error.details)


def _long(text: str) -> bool:
    return len(text) > ON_LOOP_CHARACTERS


class _WriterBudget:
    """How long one migration run may keep host writers waiting (``migration_lock_ms``).

    The clock starts at the first statement that runs while the transaction holds a lock host
    writes wait for, or that declares a foreign key to a core table (which takes one). Until
    then lock waits are bounded by the budget (a waiting lock request queues host writers too);
    after, each statement may run only for the time left.
    """

    def __init__(self, settings: PluginSqlSettings) -> None:
        self.statement_ms = settings.migration_timeout_ms
        self.budget_ms = settings.migration_lock_ms
        self._started: float | None = None

    @property
    def started(self) -> bool:
        return self._started is not None

    def start(self) -> None:
        if self._started is None:
            self._started = time.monotonic()

    def limits(self) -> StatementLimits:
        """The next statement's limits; raises when the budget is already spent."""
        lock_ms = min(self.statement_ms, self.budget_ms)
        if self._started is None:
            return StatementLimits(self.statement_ms, lock_timeout_ms=lock_ms)
        left = self.budget_ms - int((time.monotonic() - self._started) * 1000)
        if left <= 0:
            raise self._spent()
        return StatementLimits(min(self.statement_ms, left), lock_timeout_ms=min(lock_ms, left))

    def explain(self, error: PluginSqlLimitExceeded, limits: StatementLimits) -> HostError:
        """A timeout in the budget's words when the budget, not the statement limit, ended it."""
        waiting = error.message.startswith("Plugin SQL timed out waiting for a lock")
        used = limits.lock_timeout_ms if waiting else limits.timeout_ms
        if used is not None and used < self.statement_ms:
            return self._spent()
        return _naming(error, "migration_timeout_ms")

    def _spent(self) -> PluginSqlLimitExceeded:
        return PluginSqlLimitExceeded(
            limit_message(
                f"Plugin migration kept host writes waiting for over {self.budget_ms} ms",
                "migration_lock_ms",
            )
        )


class PluginDatabase:
    """Plugin database namespaces on one database (SQLite or PostgreSQL)."""

    def __init__(
        self,
        db: Database,
        *,
        settings: PluginSqlSettings | None = None,
        statements: StatementCache | None = None,
    ) -> None:
        """``statements``: a cache shared with other ``PluginDatabase`` objects of the process
        (on the same dialect); by default one of its own, sized by ``settings``."""
        self.db = db
        self.settings = settings or PluginSqlSettings.from_env()
        self.backend = plugin_sql_backend(db.dialect)
        self.connections = db.plugin_connections(
            size=self.settings.connections, wait_ms=self.settings.connection_wait_ms
        )
        if statements is None:
            statements = StatementCache(
                self.settings.cache_size, max_bytes=self.settings.cache_bytes
            )
        self.statements = statements
        self._catalogs: dict[str, tuple[int, Catalog]] = {}
        # One thread: however many plugins send long texts, one check at a time competes
        # with the event loop for the interpreter.
        self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plugin-sql-check")

    # -- namespaces and migrations -----------------------------------------------------------

    async def ensure_namespace(
        self, plugin_id: uuid.UUID | str, manifest: Mapping[str, Any]
    ) -> PluginDatabaseNamespace | None:
        """Create the plugin's namespace and mark it ``active`` (None without ``database``)."""
        view = read_manifest(manifest)
        if view.database is None:
            return None
        record_id = parse_plugin_id(plugin_id)
        async with write(self.db, None) as unit:
            return await self._ensure(unit, record_id, view)

    async def _ensure(
        self, unit: UnitOfWork, plugin_id: uuid.UUID, view: ManifestView
    ) -> PluginDatabaseNamespace:
        assert view.database is not None
        await advisory_xact_lock(unit.dialect, unit.session, migration_lock_key(plugin_id))
        return await ensure_namespace(
            unit,
            self.backend,
            plugin_id=plugin_id,
            plugin_key=view.id,
            namespace=derive_namespace(view.id, view.database.namespace_slug),
        )

    async def apply_migrations(
        self,
        plugin_id: uuid.UUID | str,
        manifest: Mapping[str, Any],
        package_root: str | os.PathLike[str],
    ) -> PluginDatabaseNamespace | None:
        """Apply the plugin's pending ``.sql`` migrations, as upstream's activation does.

        The namespace is created and set ``active`` first (committed on its own). Pending files
        are read and checked before any transaction opens (a file already applied is skipped,
        or refused if its checksum changed), then run in one transaction on a plugin connection
        under the plugin's lock. When a file fails, that transaction is rolled back whole, and
        a second one records the file ``failed`` and the namespace ``migration_failed``; the
        error is raised. (SQLite rolls a transaction back by itself when a statement is
        interrupted, so nothing may rely on a savepoint surviving the failure.)

        Returns:
            The namespace record, or None when the manifest declares no ``database``.
        """
        view = read_manifest(manifest)
        if view.database is None:
            return None
        record_id = parse_plugin_id(plugin_id)
        async with write(self.db, None) as unit:
            namespace = await self._ensure(unit, record_id, view)
        directory = migrations_directory(package_root, view.database.migrations_dir)
        name = namespace.namespace_name
        try:
            pending = await self._pending(record_id, view, name, directory)
            if pending:
                async with self._session(write=True) as unit:
                    await advisory_xact_lock(
                        unit.dialect, unit.session, migration_lock_key(record_id)
                    )
                    budget = _WriterBudget(self.settings)
                    for migration, statements in pending:
                        await self._apply_file(
                            unit, record_id, view, name, migration, statements, budget
                        )
        except _MigrationFailed as failed:
            async with write(self.db, None) as unit:
                await advisory_xact_lock(unit.dialect, unit.session, migration_lock_key(record_id))
                await record_migration(
                    unit,
                    plugin_id=record_id,
                    manifest=view,
                    namespace=name,
                    migration=failed.migration,
                    error=failed.error.message,
                )
                await mark_migration_failed(unit, record_id)
            raise failed.error from None
        finally:
            # Rewrites are keyed by catalog version: the next call reloads the schema and
            # rewrites again, while checked statements (which do not depend on it) stay cached.
            self._catalogs.pop(name, None)
        return namespace

    async def _pending(
        self, plugin_id: uuid.UUID, view: ManifestView, namespace: str, directory: Path
    ) -> list[tuple[MigrationFile, list[CheckedStatement]]]:
        """The files not applied yet, in order, each with its checked statements."""
        assert view.database is not None
        async with read(self.db) as unit:
            applied = await applied_checksums(unit, plugin_id)
        pending = []
        for key in migration_files(directory):
            migration = read_migration(directory, key, max_bytes=self.settings.max_text_bytes)
            if key in applied:
                if applied[key] != migration.checksum:
                    raise checksum_mismatch(key, view.id)
                continue
            try:
                statements = await self._checked_migration(
                    migration, namespace, view.database.read_tables
                )
            except HostError as error:
                place = place_of(error)
                if place is not None:
                    error = placed(error, migration_path(view.database.migrations_dir, key), place)
                raise _MigrationFailed(migration, error) from error
            pending.append((migration, statements))
        return pending

    async def _checked_migration(
        self, migration: MigrationFile, namespace: str, tables: frozenset[str]
    ) -> list[CheckedStatement]:
        limit = self.settings.max_text_bytes
        if migration.size > limit:
            raise PluginSqlLimitExceeded(
                limit_message(
                    f"Plugin migration {migration.key} is {byte_size(migration.size)}, over the "
                    f"{byte_size(limit)} limit",
                    "max_text_bytes",
                )
            )
        most = self.settings.max_migration_statements
        try:
            return await self._off_loop(
                _long(migration.content),
                check_migration,
                migration.content,
                migration.key,
                namespace,
                tables,
                max_statements=most,
            )
        except TooManyStatements as error:
            raise PluginSqlLimitExceeded(
                limit_message(
                    f"Plugin migration {migration.key} has {error.count} statements, over the "
                    f"{most} limit",
                    "max_migration_statements",
                )
            ) from None

    async def _apply_file(
        self,
        unit: UnitOfWork,
        plugin_id: uuid.UUID,
        view: ManifestView,
        namespace: str,
        migration: MigrationFile,
        statements: list[CheckedStatement],
        budget: _WriterBudget,
    ) -> None:
        existing = await ledger_row(unit, plugin_id, migration.key)
        if existing is not None and existing.status == APPLIED:  # applied by another host
            if existing.checksum != migration.checksum:
                raise checksum_mismatch(migration.key, view.id)
            return
        assert view.database is not None
        tables = view.database.read_tables
        path = migration_path(view.database.migrations_dir, migration.key)
        try:
            for checked in statements:
                try:
                    await self._migrate_statement(unit, checked, namespace, tables, budget)
                except HostError as error:
                    if checked.place is None:
                        raise
                    raise placed(error, path, checked.place) from error
            budget.limits()  # the file's last statement may have spent the budget
            await record_migration(
                unit,
                plugin_id=plugin_id,
                manifest=view,
                namespace=namespace,
                migration=migration,
            )
        except HostError as error:
            raise _MigrationFailed(migration, error) from error

    async def _migrate_statement(
        self,
        unit: UnitOfWork,
        checked: CheckedStatement,
        namespace: str,
        tables: frozenset[str],
        budget: _WriterBudget,
    ) -> None:
        if checked.references_core or (
            not budget.started and await self.backend.holds_writer_locks(unit.session)
        ):
            budget.start()
        compiled = await self._compile_fresh(unit, checked, namespace)
        access = PluginSqlAccess(
            namespace, tables, "migrate", compiled.cte_names, compiled.unknown_assignments
        )
        for sql in compiled.statements:
            limits = budget.limits()
            try:
                await self._run(unit, sql, [], access, limits)
            except PluginSqlLimitExceeded as error:
                raise budget.explain(error, limits) from error

    async def drop_namespace(self, plugin_id: uuid.UUID | str) -> str | None:
        """Drop the plugin's namespace with its tables and forget its migrations (a purge).

        Returns:
            The dropped namespace's name, or None when the plugin has none.
        """
        record_id = parse_plugin_id(plugin_id)
        namespaces = PluginDatabaseNamespace.__table__
        async with write(self.db, None) as unit:
            await advisory_xact_lock(unit.dialect, unit.session, migration_lock_key(record_id))
            name = await unit.session.scalar(
                sa.select(namespaces.c.namespace_name).where(namespaces.c.plugin_id == record_id)
            )
            if name is None:
                return None
            await self.backend.drop_namespace(unit.session, name)
            await unit.session.execute(
                sa.delete(PluginMigration.__table__).where(
                    PluginMigration.__table__.c.plugin_id == record_id
                )
            )
            await unit.session.execute(
                sa.delete(namespaces).where(namespaces.c.plugin_id == record_id)
            )
        self._catalogs.pop(name, None)
        return name

    # -- runtime -----------------------------------------------------------------------------

    async def access(self, plugin_id: uuid.UUID | str) -> PluginAccess:
        """The plugin's runtime access (its active namespace and declared core tables)."""
        async with read(self.db) as unit:
            return await plugin_access(unit, plugin_id)

    async def query(
        self, access: PluginAccess, sql: str, params: Sequence[Any] | None = None
    ) -> list[dict[str, JsonValue]]:
        """``db.query``: one read statement; rows as JSON-ready objects."""
        limit = self.settings.max_rows
        values = parse_params(params)
        entry = await self._statement(Mode.QUERY, sql, access)
        check_parameters(entry.checked.placeholders, len(values))
        limits = StatementLimits(self.settings.statement_timeout_ms, limit)
        async with self._session(write=False) as unit:
            try:
                compiled, result = await self._runtime(unit, access, entry, values, limits)
            except PluginSqlLimitExceeded as error:  # the statement ran out of time
                raise _naming(error, "statement_timeout_ms") from error
        if len(result.rows) > limit:
            raise PluginSqlLimitExceeded(
                limit_message(
                    f"ctx.db.query returned more than {limit} rows; page through the result "
                    "with LIMIT and OFFSET",
                    "max_rows",
                )
            )
        return await self._off_loop(
            len(result.rows) > ON_LOOP_ROWS,
            rows_as_dicts,
            result.columns,
            result.rows,
            compiled.columns,
            max_bytes=self.settings.max_result_bytes,
        )

    async def execute(
        self, access: PluginAccess, sql: str, params: Sequence[Any] | None = None
    ) -> dict[str, int]:
        """``db.execute``: one INSERT, UPDATE or DELETE in the namespace; ``{"rowCount": n}``.

        The statement may run for ``write_timeout_ms`` (it holds SQLite's one writer).
        """
        values = parse_params(params)
        entry = await self._statement(Mode.EXECUTE, sql, access)
        check_parameters(entry.checked.placeholders, len(values))
        limits = StatementLimits(self.settings.write_timeout_ms)
        async with self._session(write=True) as unit:
            try:
                _, result = await self._runtime(unit, access, entry, values, limits)
            except PluginSqlLimitExceeded as error:  # the statement ran out of time
                raise _naming(error, "write_timeout_ms") from error
        return {"rowCount": result.row_count}

    async def _runtime(
        self,
        unit: UnitOfWork,
        access: PluginAccess,
        entry: CachedStatement,
        values: list[Any],
        limits: StatementLimits,
    ) -> tuple[Compiled, StatementResult]:
        """Rewrite and run one checked runtime statement in the unit's transaction."""
        compiled = await self._compile(unit, entry, access.namespace)
        result = await self._run(
            unit,
            compiled.statements[0],
            values,
            PluginSqlAccess(
                access.namespace,
                access.core_read_tables,
                "read" if entry.checked.mode is Mode.QUERY else "write",
                compiled.cte_names,
                compiled.unknown_assignments,
            ),
            limits,
        )
        return compiled, result

    @asynccontextmanager
    async def _session(self, *, write: bool) -> AsyncIterator[UnitOfWork]:
        """A transaction on one of the plugin connections, found within the wait."""
        connections = self.connections
        try:
            async with connections.transaction() if write else connections.read() as session:
                yield UnitOfWork(session, self.db.dialect)
        except ConnectionsBusy:
            raise PluginSqlLimitExceeded(
                f"Plugin SQL waited {connections.wait_ms} ms "
                f"({ENVIRONMENT['connection_wait_ms']}) for one of its {connections.size} "
                f"connections ({ENVIRONMENT['connections']}); all stayed busy"
            ) from None

    # -- statements --------------------------------------------------------------------------

    async def _statement(self, mode: Mode, sql: str, access: PluginAccess) -> CachedStatement:
        """The checked statement, from the cache or checked now (raises if refused)."""
        if not isinstance(sql, str):
            raise PluginSqlInvalid("ctx.db SQL must be a string")
        self._check_size(sql)
        key = StatementCache.key(mode, sql, access.namespace, access.core_read_tables)
        entry = self.statements.get(key)
        if entry is None:
            checked = await self._off_loop(
                _long(sql), check_runtime, sql, mode, access.namespace, access.core_read_tables
            )
            entry = CachedStatement(checked)
            self.statements.put(key, entry)
        return entry

    def _check_size(self, sql: str) -> None:
        limit = self.settings.max_text_bytes
        if len(sql) * 4 <= limit:  # at most 4 UTF-8 bytes a character: no need to count
            return
        size = len(sql.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise PluginSqlLimitExceeded(
                limit_message(
                    f"SQL text is {byte_size(size)}, over the {byte_size(limit)} limit",
                    "max_text_bytes",
                )
            )

    async def _off_loop(self, heavy: bool, function: Callable[..., T], *args: Any, **kw: Any) -> T:
        """``function(*args, **kw)``: on the checking thread if ``heavy``, else on the loop."""
        if not heavy:
            return function(*args, **kw)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._checker, partial(function, *args, **kw))

    async def _catalog(self, unit: UnitOfWork, namespace: str) -> tuple[int, Catalog]:
        cached = self._catalogs.get(namespace)
        if cached is None:
            declared = await self.backend.namespace_columns(unit.session, namespace)
            catalog = Catalog.from_declared(namespace, declared)
            cached = (catalog_version(catalog), catalog)
            self._catalogs[namespace] = cached
        return cached

    async def _compile(self, unit: UnitOfWork, entry: CachedStatement, namespace: str) -> Compiled:
        dialect = self.db.dialect
        version, catalog = (
            await self._catalog(unit, namespace) if needs_catalog(dialect) else (0, None)
        )
        compiled = entry.compiled_at(version)
        if compiled is None:
            checked = entry.checked
            built = await self._off_loop(
                _long(checked.text), compile_statement, checked, dialect, catalog
            )
            compiled = entry.remember(built, version)
        return compiled

    async def _compile_fresh(
        self, unit: UnitOfWork, checked: CheckedStatement, namespace: str
    ) -> Compiled:
        """Compile a migration statement against the schema as it is now, mid-transaction."""
        catalog = None
        if needs_catalog(self.db.dialect):
            declared = await self.backend.namespace_columns(unit.session, namespace)
            catalog = Catalog.from_declared(namespace, declared)
        return await self._off_loop(
            _long(checked.text), compile_statement, checked, self.db.dialect, catalog
        )

    async def _run(
        self,
        unit: UnitOfWork,
        sql: str,
        params: list[Any],
        access: PluginSqlAccess,
        limits: StatementLimits,
    ) -> StatementResult:
        try:
            return await self.backend.run(unit.session, sql, params, access=access, limits=limits)
        except PluginStatementError as error:
            raise host_error(error) from error


__all__ = ["PluginDatabase"]
