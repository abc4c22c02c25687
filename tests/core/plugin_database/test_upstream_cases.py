"""Upstream's plugin-database tests (reference §13.1), ported; the namespace group runs on both
backends instead of being skipped when PostgreSQL is unavailable."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.plugin_database import (
    Mode,
    PluginDatabase,
    PluginSqlRejected,
    check_migration,
    check_runtime,
    derive_namespace,
)
from db import Database
from db.models import PluginMigration
from tests.fixtures.plugin_database import install_plugin, manifest, write_package
from tests.fixtures.rows import add_company, add_issue


class TestValidation:
    def test_allows_namespace_migrations_with_whitelisted_public_foreign_keys(self) -> None:
        statements = check_migration(
            "CREATE TABLE plugin_test.rows (id uuid PRIMARY KEY, "
            "issue_id uuid REFERENCES public.issues(id))",
            "001_init.sql",
            "plugin_test",
            ["issues"],
        )
        assert len(statements) == 1

    def test_rejects_migrations_that_create_public_objects(self) -> None:
        with pytest.raises(PluginSqlRejected, match=re.compile("public", re.IGNORECASE)) as raised:
            check_migration(
                "CREATE TABLE public.rows (id uuid PRIMARY KEY)",
                "001_init.sql",
                "plugin_test",
                ["issues"],
            )
        assert str(raised.value) == "Plugin SQL references public.rows, which is not whitelisted"

    def test_allows_whitelisted_runtime_reads_but_rejects_public_writes(self) -> None:
        checked = check_runtime(
            "SELECT r.id FROM plugin_test.rows r JOIN public.issues i ON i.id = r.issue_id",
            Mode.QUERY,
            "plugin_test",
            ["issues"],
        )
        assert checked.placeholders == ()
        with pytest.raises(
            PluginSqlRejected, match=re.compile("namespace", re.IGNORECASE)
        ) as raised:
            check_runtime("UPDATE public.issues SET title = $1", Mode.EXECUTE, "plugin_test", [])
        assert str(raised.value) == (
            'ctx.db.execute target must be inside plugin namespace "plugin_test"'
        )

    def test_targets_anonymous_do_blocks_without_rejecting_do_prefixed_aliases(self) -> None:
        check_runtime(
            "SELECT EXTRACT(DOW FROM created_at) AS do_flag FROM plugin_test.rows",
            Mode.QUERY,
            "plugin_test",
            [],
        )
        with pytest.raises(PluginSqlRejected, match=re.compile("disallowed", re.IGNORECASE)):
            check_migration("DO $$ BEGIN END $$;", "001_init.sql", "plugin_test", [])


class TestNamespaces:
    async def test_applies_migrations_once_and_allows_whitelisted_core_joins_at_runtime(
        self, db: Database, tmp_path: Path
    ) -> None:
        namespace = derive_namespace("paperclip.dbtest")
        package = write_package(
            tmp_path,
            {
                "001_init.sql": f"CREATE TABLE {namespace}.mission_rows (id uuid PRIMARY KEY, "
                "issue_id uuid NOT NULL REFERENCES public.issues(id), label text NOT NULL);"
            },
        )
        plugin_manifest = manifest()
        plugin_id = await install_plugin(db, plugin_manifest)
        company = await add_company(db, prefix="TST")
        issue = await add_issue(
            db, company, title="Joined issue", status="todo", identifier="TST-1"
        )
        plugin_db = PluginDatabase(db)

        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
        access = await plugin_db.access(plugin_id)
        await plugin_db.execute(
            access,
            f"INSERT INTO {namespace}.mission_rows (id, issue_id, label) VALUES ($1, $2, $3)",
            [str(uuid.uuid4()), str(issue.id), "alpha"],
        )
        rows = await plugin_db.query(
            access,
            f"SELECT m.label, i.title FROM {namespace}.mission_rows m "
            "JOIN public.issues i ON i.id = m.issue_id",
        )

        assert rows == [{"label": "alpha", "title": "Joined issue"}]
        async with db.read() as session:
            applied = (
                await session.scalars(
                    sa.select(PluginMigration.migration_key).where(
                        PluginMigration.plugin_id == plugin_id,
                        PluginMigration.status == "applied",
                    )
                )
            ).all()
        assert applied == ["001_init.sql"]

    async def test_rejects_runtime_writes_to_public_core_tables(
        self, db: Database, tmp_path: Path
    ) -> None:
        namespace = derive_namespace("paperclip.dbtest")
        package = write_package(
            tmp_path, {"001_init.sql": f"CREATE TABLE {namespace}.notes (id uuid PRIMARY KEY);"}
        )
        plugin_manifest = manifest()
        plugin_id = await install_plugin(db, plugin_manifest)
        plugin_db = PluginDatabase(db)
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

        with pytest.raises(PluginSqlRejected, match=re.compile("plugin namespace", re.I)):
            await plugin_db.execute(
                await plugin_db.access(plugin_id), "UPDATE public.issues SET title = $1", ["bad"]
            )

    async def test_records_a_failed_migration_when_sql_escapes_the_plugin_namespace(
        self, db: Database, tmp_path: Path
    ) -> None:
        package = write_package(
            tmp_path, {"001_init.sql": "CREATE TABLE public.plugin_escape (id uuid PRIMARY KEY);"}
        )
        plugin_manifest = manifest("paperclip.escape")
        plugin_id = await install_plugin(db, plugin_manifest)

        with pytest.raises(PluginSqlRejected, match=r"public\.plugin_escape|public"):
            await PluginDatabase(db).apply_migrations(plugin_id, plugin_manifest, package)

        async with db.read() as session:
            statuses = (
                await session.scalars(
                    sa.select(PluginMigration.status).where(PluginMigration.plugin_id == plugin_id)
                )
            ).all()
        assert statuses == ["failed"]

    async def test_rejects_checksum_changes_for_already_applied_migrations(
        self, db: Database, tmp_path: Path
    ) -> None:
        namespace = derive_namespace("paperclip.dbtest")
        create = f"CREATE TABLE {namespace}.checksum_rows (id uuid PRIMARY KEY"
        package = write_package(tmp_path, {"001_init.sql": create + ");"})
        plugin_manifest = manifest()
        plugin_id = await install_plugin(db, plugin_manifest)
        plugin_db = PluginDatabase(db)
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

        write_package(tmp_path, {"001_init.sql": create + ", note text);"})
        with pytest.raises(Exception, match="checksum mismatch"):
            await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
