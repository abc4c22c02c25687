"""``PluginDatabase``: plugin namespaces, migrations and runtime SQL over one ``Database``.

The plugin loader applies migrations and gathers the plugin's ``access`` at activation; the
worker bridge (which has checked the capability) runs ``ctx.db.query`` and ``ctx.db.execute``
with that access. Every statement passes the SQL policy, then runs in its own transaction.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.errors import Conflict, HostError
from core.plugin_database.cache import CachedStatement, StatementCache
from core.plugin_database.errors import PluginSqlInvalid, PluginSqlLimitExceeded
from core.plugin_database.kinds import Catalog
from core.plugin_database.migrations import (
    APPLIED,
    ManifestView,
    MigrationFile,
    ledger_row,
    migration_files,
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
from core.plugin_database.policy import CheckedStatement, Mode, check_migration, check_parameters
from core.plugin_database.results import JsonValue, rows_as_dicts
from core.plugin_database.rewrite import Compiled, compile_statement, needs_catalog
from core.plugin_database.runtime import (
    PluginAccess,
    host_error,
    parse_params,
    parse_plugin_id,
    plugin_access,
)
from core.plugin_database.settings import PluginSqlSettings
from core.unit_of_work import UnitOfWork, read, write
from db import Database, advisory_xact_lock
from db.errors import PluginStatementError
from db.models import PluginDatabaseNamespace, PluginMigration
from db.plugin_sql import PluginSqlAccess, StatementLimits, StatementResult, plugin_sql_backend


class _MigrationFailed(Exception):
    """A migration file failed; its ledger row must be written after the rollback."""

    def __init__(self, migration: MigrationFile, error: HostError) -> None:
        super().__init__(error.message)
        self.migration = migration
        self.error = error


class PluginDatabase:
    """Plugin database namespaces on one database (SQLite or PostgreSQL)."""

    def __init__(self, db: Database, *, settings: PluginSqlSettings | None = None) -> None:
        self.db = db
        self.settings = settings or PluginSqlSettings.from_env()
        self.backend = plugin_sql_backend(db.dialect)
        self.statements = StatementCache(self.settings.cache_size)
        self._catalogs: dict[str, tuple[int, Catalog]] = {}
        self._versions = itertools.count()

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

        The namespace is created and set ``active`` first (committed on its own). The files run
        in one transaction under the plugin's lock; a file already applied is skipped, or
        refused if its checksum changed. When a file fails, everything this run did is rolled
        back, the file is recorded ``failed`` and the namespace ``migration_failed``, and the
        error is raised.

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
        keys = migration_files(directory)
        failure: _MigrationFailed | None = None
        try:
            async with write(self.db, None) as unit:
                await advisory_xact_lock(unit.dialect, unit.session, migration_lock_key(record_id))
                try:
                    async with unit.session.begin_nested():  # rolled back alone when a file fails
                        for key in keys:
                            await self._apply_file(
                                unit, record_id, view, namespace.namespace_name, directory, key
                            )
                except _MigrationFailed as failed:
                    failure = failed
                    await record_migration(
                        unit,
                        plugin_id=record_id,
                        manifest=view,
                        namespace=namespace.namespace_name,
                        migration=failed.migration,
                        error=failed.error.message,
                    )
                    await mark_migration_failed(unit, record_id)
        finally:
            # Rewrites are keyed by catalog version: the next call reloads the schema and
            # rewrites again, while checked statements (which do not depend on it) stay cached.
            self._catalogs.pop(namespace.namespace_name, None)
        if failure is not None:
            raise failure.error
        return namespace

    async def _apply_file(
        self,
        unit: UnitOfWork,
        plugin_id: uuid.UUID,
        view: ManifestView,
        namespace: str,
        directory: Path,
        key: str,
    ) -> None:
        migration = read_migration(directory, key)
        existing = await ledger_row(unit, plugin_id, key)
        if existing is not None and existing.status == APPLIED:
            if existing.checksum != migration.checksum:
                raise Conflict(f"Plugin migration checksum mismatch for {key}")
            return
        assert view.database is not None
        tables = view.database.read_tables
        limits = StatementLimits(self.settings.migration_timeout_ms)
        try:
            for checked in check_migration(migration.content, key, namespace, tables):
                compiled = await self._compile_fresh(unit, checked, namespace)
                access = PluginSqlAccess(
                    namespace,
                    tables,
                    "migrate",
                    compiled.cte_names,
                    compiled.unknown_assignments,
                )
                for sql in compiled.statements:
                    await self._run(unit, sql, [], access, limits)
            await record_migration(
                unit,
                plugin_id=plugin_id,
                manifest=view,
                namespace=namespace,
                migration=migration,
            )
        except HostError as error:
            raise _MigrationFailed(migration, error) from error

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
        async with read(self.db) as unit:
            compiled, result = await self._runtime(
                unit, access, Mode.QUERY, sql, params, max_rows=limit
            )
        if len(result.rows) > limit:
            raise PluginSqlLimitExceeded(
                f"ctx.db.query returned more than {limit} rows; page through the result with "
                "LIMIT and OFFSET"
            )
        return rows_as_dicts(result.columns, result.rows, compiled.columns)

    async def execute(
        self, access: PluginAccess, sql: str, params: Sequence[Any] | None = None
    ) -> dict[str, int]:
        """``db.execute``: one INSERT, UPDATE or DELETE in the namespace; ``{"rowCount": n}``."""
        async with write(self.db, None) as unit:
            _, result = await self._runtime(unit, access, Mode.EXECUTE, sql, params)
        return {"rowCount": result.row_count}

    async def _runtime(
        self,
        unit: UnitOfWork,
        access: PluginAccess,
        mode: Mode,
        sql: str,
        params: Sequence[Any] | None,
        *,
        max_rows: int | None = None,
    ) -> tuple[Compiled, StatementResult]:
        """Check and run one runtime statement in the unit's transaction."""
        values = parse_params(params)
        entry = self._statement(mode, sql, access.namespace, access.core_read_tables)
        check_parameters(entry.checked.placeholders, len(values))
        compiled = await self._compile(unit, entry, access.namespace)
        result = await self._run(
            unit,
            compiled.statements[0],
            values,
            PluginSqlAccess(
                access.namespace,
                access.core_read_tables,
                "read" if mode is Mode.QUERY else "write",
                compiled.cte_names,
                compiled.unknown_assignments,
            ),
            StatementLimits(self.settings.statement_timeout_ms, max_rows),
        )
        return compiled, result

    # -- statements --------------------------------------------------------------------------

    def _statement(
        self, mode: Mode, sql: str, namespace: str, tables: frozenset[str]
    ) -> CachedStatement:
        if not isinstance(sql, str):
            raise PluginSqlInvalid("ctx.db SQL must be a string")
        return self.statements.statement(mode, sql, namespace, tables)

    async def _catalog(self, unit: UnitOfWork, namespace: str) -> tuple[int, Catalog]:
        cached = self._catalogs.get(namespace)
        if cached is None:
            declared = await self.backend.namespace_columns(unit.session, namespace)
            cached = (next(self._versions), Catalog.from_declared(namespace, declared))
            self._catalogs[namespace] = cached
        return cached

    async def _compile(self, unit: UnitOfWork, entry: CachedStatement, namespace: str) -> Compiled:
        dialect = self.db.dialect
        if not needs_catalog(dialect):
            return entry.compiled_for(0, lambda: compile_statement(entry.checked, dialect, None))
        version, catalog = await self._catalog(unit, namespace)
        return entry.compiled_for(
            version, lambda: compile_statement(entry.checked, dialect, catalog)
        )

    async def _compile_fresh(
        self, unit: UnitOfWork, checked: CheckedStatement, namespace: str
    ) -> Compiled:
        """Compile a migration statement against the schema as it is now, mid-transaction."""
        catalog = None
        if needs_catalog(self.db.dialect):
            declared = await self.backend.namespace_columns(unit.session, namespace)
            catalog = Catalog.from_declared(namespace, declared)
        return compile_statement(checked, self.db.dialect, catalog)

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
