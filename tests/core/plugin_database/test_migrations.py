"""Plugin migrations: the ledger, namespace status and schema after each situation of
reference §7.3, file selection and order, the package boundary, and the per-plugin lock."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.capability_usage import UsageCounter
from core.errors import CapabilityDenied, Conflict, Forbidden, InvalidInput, NotFound
from core.event_bus import EventBus
from core.invocation_scope import CallContext
from core.plugin_database import PluginAccess, PluginDatabase, PluginSqlInvalid, PluginSqlRejected
from core.plugin_database.namespace import migration_lock_key
from core.plugin_logs import LogBuffer
from core.worker_bridge import PluginRef, WorkerBridge
from db import Database
from db.models import PluginDatabaseNamespace, PluginMigration
from tests.fixtures.plugin_database import (
    DATABASE_CAPABILITIES,
    install_plugin,
    manifest,
    namespace_tables,
    write_package,
)

NS = "plugin_paperclip_dbtest_f9c12a21cb"
TABLE_A = f"CREATE TABLE {NS}.a (id uuid PRIMARY KEY);"
TABLE_B = f"CREATE TABLE {NS}.b (id uuid PRIMARY KEY, a_id uuid REFERENCES {NS}.a(id));"
BROKEN = f"CREATE TABLE {NS}.b (id uuid PRIMARY KEY, a_id uuid REFERENCES public.agents(id));"


async def _ledger(db: Database, plugin_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    async with db.read() as session:
        rows = await session.scalars(
            sa.select(PluginMigration).where(PluginMigration.plugin_id == plugin_id)
        )
        return {
            row.migration_key: {
                "status": row.status,
                "checksum": row.checksum,
                "error": row.error_message,
                "applied_at": row.applied_at,
                "namespace": row.namespace_name,
                "version": row.plugin_version,
            }
            for row in rows
        }


async def _status(db: Database, plugin_id: uuid.UUID) -> str | None:
    async with db.read() as session:
        return await session.scalar(
            sa.select(PluginDatabaseNamespace.status).where(
                PluginDatabaseNamespace.plugin_id == plugin_id
            )
        )


async def _setup(db: Database) -> tuple[PluginDatabase, uuid.UUID, dict[str, Any]]:
    plugin_manifest = manifest()
    return PluginDatabase(db), await install_plugin(db, plugin_manifest), plugin_manifest


async def test_first_activation_applies_every_file(db: Database, tmp_path: Path) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_a.sql": TABLE_A, "002_b.sql": TABLE_B})

    record = await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    assert record is not None
    assert (record.namespace_name, record.namespace_mode, record.status) == (NS, "schema", "active")
    ledger = await _ledger(db, plugin_id)
    assert {key: entry["status"] for key, entry in ledger.items()} == {
        "001_a.sql": "applied",
        "002_b.sql": "applied",
    }
    assert ledger["001_a.sql"]["checksum"] == hashlib.sha256(TABLE_A.encode()).hexdigest()
    assert ledger["001_a.sql"]["namespace"] == NS and ledger["001_a.sql"]["version"] == "1.0.0"
    assert await namespace_tables(plugin_db, NS) == {"a": ["id"], "b": ["id", "a_id"]}


async def test_reactivation_with_unchanged_files_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_a.sql": TABLE_A})
    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    before = await _ledger(db, plugin_id)

    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    assert await _ledger(db, plugin_id) == before
    assert await _status(db, plugin_id) == "active"


async def test_a_purge_drops_the_namespace_and_a_reinstall_starts_clean(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_a.sql": TABLE_A, "002_b.sql": TABLE_B})
    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    access = await plugin_db.access(plugin_id)
    await plugin_db.execute(access, f"INSERT INTO {NS}.a (id) VALUES ($1)", [str(uuid.uuid4())])

    assert await plugin_db.drop_namespace(plugin_id) == NS
    assert await namespace_tables(plugin_db, NS) == {}
    assert await _ledger(db, plugin_id) == {}
    assert await plugin_db.drop_namespace(plugin_id) is None

    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    assert await namespace_tables(plugin_db, NS) == {"a": ["id"], "b": ["id", "a_id"]}
    assert await plugin_db.query(access, f"SELECT id FROM {NS}.a") == []


async def test_creating_an_existing_table_reads_the_same_on_both_backends(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_a.sql": TABLE_A, "002_again.sql": TABLE_A})
    with pytest.raises(PluginSqlInvalid) as raised:
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    assert raised.value.message == (
        'relation "a" already exists (migrations/002_again.sql, statement 1 at line 1: '
        f"CREATE TABLE {NS}.a (id uuid PRIMARY KEY))"
    )


async def test_a_failing_file_rolls_back_the_run_and_is_recorded(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_a.sql": TABLE_A, "002_b.sql": BROKEN})

    with pytest.raises(PluginSqlRejected, match=r"public\.agents, which is not whitelisted"):
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    ledger = await _ledger(db, plugin_id)
    assert list(ledger) == ["002_b.sql"]
    assert ledger["002_b.sql"]["status"] == "failed"
    assert ledger["002_b.sql"]["applied_at"] is None
    assert ledger["002_b.sql"]["error"] == (
        "Plugin SQL references public.agents, which is not whitelisted (migrations/002_b.sql, "
        f"statement 1 at line 1: CREATE TABLE {NS}.b (id uuid PRIMARY KEY, a_id...)"
    )
    assert await _status(db, plugin_id) == "migration_failed"
    assert await namespace_tables(plugin_db, NS) == {}
    with pytest.raises(Conflict, match="Plugin database namespace is not active"):
        await plugin_db.access(plugin_id)

    write_package(tmp_path, {"002_b.sql": TABLE_B})
    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    ledger = await _ledger(db, plugin_id)
    assert {key: (entry["status"], entry["error"]) for key, entry in ledger.items()} == {
        "001_a.sql": ("applied", None),
        "002_b.sql": ("applied", None),
    }
    assert ledger["002_b.sql"]["applied_at"] is not None
    assert await _status(db, plugin_id) == "active"


async def test_a_statement_failing_in_the_database_leaves_no_partial_schema(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    # The second table repeats the first: the database refuses it after the first is created.
    package = write_package(tmp_path, {"001_a.sql": TABLE_A + "\n" + TABLE_A})

    with pytest.raises(PluginSqlInvalid):
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    assert await namespace_tables(plugin_db, NS) == {}
    ledger = await _ledger(db, plugin_id)
    assert ledger["001_a.sql"]["status"] == "failed" and ledger["001_a.sql"]["error"]
    assert await _status(db, plugin_id) == "migration_failed"


async def test_an_edited_applied_file_is_refused_and_later_files_wait(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_a.sql": TABLE_A})
    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    before = await _ledger(db, plugin_id)

    write_package(tmp_path, {"001_a.sql": TABLE_A + "\n-- edited", "003_c.sql": TABLE_B})
    with pytest.raises(Conflict) as raised:
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    assert raised.value.message == (
        "Plugin migration checksum mismatch for 001_a.sql -- applied migrations are immutable: "
        "put the change in a new migration file, or start over with `sandbox plugin uninstall "
        "paperclip.dbtest --remove-data` (this deletes the plugin's tables and data) and install "
        "it again"
    )
    assert await _ledger(db, plugin_id) == before
    assert await _status(db, plugin_id) == "active"
    assert await namespace_tables(plugin_db, NS) == {"a": ["id"]}


async def test_files_run_in_code_point_order_and_only_sql_regular_files(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    outside = tmp_path / "outside.sql"
    outside.write_text(f"CREATE TABLE {NS}.from_link (id int);")
    package = write_package(
        tmp_path / "package",
        {
            "010_b.sql": TABLE_B,  # needs table a, created by the file that sorts first
            "002_a.sql": TABLE_A,
            "notes.txt": "not a migration",
            "003_upper.SQL": f"CREATE TABLE {NS}.upper (id int);",
        },
    )
    (package / "migrations" / "004_link.sql").symlink_to(outside)
    (package / "migrations" / "005_dir.sql").mkdir()

    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    assert list(await _ledger(db, plugin_id)) == ["002_a.sql", "010_b.sql"]
    assert set(await namespace_tables(plugin_db, NS)) == {"a", "b"}


async def test_an_empty_file_fails_with_upstreams_message(db: Database, tmp_path: Path) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_empty.sql": " ;\n ; "})

    with pytest.raises(PluginSqlInvalid) as raised:
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    assert raised.value.message == "Plugin migration 001_empty.sql is empty"
    assert (await _ledger(db, plugin_id))["001_empty.sql"]["status"] == "failed"


async def test_the_migrations_directory_must_stay_inside_the_package(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    (tmp_path / "elsewhere").mkdir()
    package = tmp_path / "package"
    package.mkdir()
    (package / "migrations").symlink_to(tmp_path / "elsewhere")

    with pytest.raises(Forbidden) as raised:
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)

    assert raised.value.message == "Plugin migrationsDir escapes package root: migrations"
    assert await _ledger(db, plugin_id) == {}
    assert await _status(db, plugin_id) == "active"  # the namespace is ensured first


async def test_a_missing_directory_changes_nothing(db: Database, tmp_path: Path) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)

    with pytest.raises(NotFound, match="Plugin migrationsDir not found: migrations"):
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, tmp_path)

    assert await _ledger(db, plugin_id) == {}
    assert await _status(db, plugin_id) == "active"


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ({"migrationsDir": "../up"}, "migrationsDir must be a relative package path"),
        ({"migrationsDir": "/abs"}, "migrationsDir must be a relative package path"),
        ({"migrationsDir": "m", "namespaceSlug": "Bad-Slug"}, "namespaceSlug must be lowercase"),
        ({"migrationsDir": "m", "coreReadTables": ["issues", "issues"]}, "Duplicate database"),
    ],
)
async def test_invalid_database_blocks_are_refused(
    db: Database, tmp_path: Path, database: dict[str, Any], message: str
) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    with pytest.raises(InvalidInput, match=message):
        await plugin_db.apply_migrations(
            plugin_id, {**plugin_manifest, "database": database}, tmp_path
        )
    assert await _status(db, plugin_id) is None


async def test_a_database_block_needs_the_migrate_and_read_capabilities(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, _ = await _setup(db)
    without = manifest(capabilities=["database.namespace.read"])
    with pytest.raises(InvalidInput) as raised:
        await plugin_db.apply_migrations(plugin_id, without, tmp_path)
    assert raised.value.message == (
        "Capability 'database.namespace.migrate' is required when database migrations are declared"
    )


async def test_a_manifest_without_database_has_no_namespace(db: Database, tmp_path: Path) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    plain = {key: value for key, value in plugin_manifest.items() if key != "database"}
    assert await plugin_db.apply_migrations(plugin_id, plain, tmp_path) is None
    assert await plugin_db.ensure_namespace(plugin_id, plain) is None
    assert await _status(db, plugin_id) is None


async def test_concurrent_activations_apply_each_file_once(db: Database, tmp_path: Path) -> None:
    plugin_db, plugin_id, plugin_manifest = await _setup(db)
    package = write_package(tmp_path, {"001_a.sql": TABLE_A, "002_b.sql": TABLE_B})

    await asyncio.gather(
        *(plugin_db.apply_migrations(plugin_id, plugin_manifest, package) for _ in range(4))
    )

    assert {key: entry["status"] for key, entry in (await _ledger(db, plugin_id)).items()} == {
        "001_a.sql": "applied",
        "002_b.sql": "applied",
    }


def _bridge(
    db: Database,
    plugin_db: PluginDatabase,
    plugin_id: uuid.UUID,
    plugin_manifest: dict[str, Any],
    access: PluginAccess | None,
) -> WorkerBridge:
    """The worker bridge of an installed plugin, as the host builds it at activation."""
    capabilities = frozenset(plugin_manifest["capabilities"])
    return WorkerBridge(
        db=db,
        bus=EventBus(),
        plugin=PluginRef(str(plugin_id), plugin_manifest["id"], capabilities),
        plugin_db=plugin_db,
        database=access,
        logs=LogBuffer(db, flush_interval=3600),
        usage=UsageCounter(db, flush_interval=3600),
        subscribe=lambda pattern, event_filter: None,
    )


async def test_runtime_needs_the_read_and_write_capabilities(db: Database, tmp_path: Path) -> None:
    """The bridge checks the ``db.*`` capabilities before the plugin database runs anything."""
    reader = manifest(capabilities=DATABASE_CAPABILITIES[:2])
    plugin_id = await install_plugin(db, reader)
    plugin_db = PluginDatabase(db)
    await plugin_db.apply_migrations(plugin_id, reader, write_package(tmp_path, {"1.sql": TABLE_A}))
    bridge = _bridge(db, plugin_db, plugin_id, reader, await plugin_db.access(plugin_id))
    call = CallContext()

    assert await bridge.handle("db.namespace", {}, call) == NS
    count = {"sql": f"SELECT count(*) AS n FROM {NS}.a"}
    assert await bridge.handle("db.query", count, call) == [{"n": 0}]
    with pytest.raises(CapabilityDenied) as raised:
        await bridge.handle("db.execute", {"sql": f"DELETE FROM {NS}.a"}, call)
    assert raised.value.message == (
        f'Plugin "{plugin_id}" is missing required capability "database.namespace.write" '
        'for method "db.execute" (plugin paperclip.dbtest)'
    )

    blind_manifest = manifest("paperclip.blind", capabilities=[])
    blind = await install_plugin(db, blind_manifest)
    blind_bridge = _bridge(db, plugin_db, blind, blind_manifest, None)
    for method, params in (("db.namespace", {}), ("db.query", {"sql": f"SELECT 1 FROM {NS}.a"})):
        with pytest.raises(CapabilityDenied, match=r'"database\.namespace\.read"'):
            await blind_bridge.handle(method, params, call)


async def test_unknown_plugins_are_not_found(db: Database) -> None:
    plugin_db = PluginDatabase(db)
    missing = uuid.uuid4()
    for plugin_id in (missing, str(missing), "not-a-uuid"):
        with pytest.raises(NotFound, match=f"Plugin not found: {plugin_id}"):
            await plugin_db.access(plugin_id)


def test_lock_key_matches_upstreams_derivation() -> None:
    assert migration_lock_key(uuid.UUID("11111111-1111-4111-8111-111111111111")) == (
        208316158832308
    )
