"""Fair sharing: the caps on plugin SQL (text, statements per migration, result bytes, cached
bytes, connections) refuse with a message naming their setting and write nothing; a long plugin
write or migration does not keep host writes waiting beyond its budget; checking a text of the
largest allowed size leaves the event loop free; a migration that times out is recorded alike
on both backends."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from core.errors import HostError
from core.plugin_database import (
    PluginAccess,
    PluginDatabase,
    PluginSqlInvalid,
    PluginSqlLimitExceeded,
    PluginSqlSettings,
)
from core.plugin_database.cache import PARSED_BYTES_PER_CHARACTER, CachedStatement, StatementCache
from core.plugin_database.policy import Mode, check_runtime
from core.plugin_database.settings import ENVIRONMENT
from db import Database
from db.models import PluginDatabaseNamespace, PluginMigration
from tests.fixtures.plugin_database import (
    install_plugin,
    manifest,
    namespace_tables,
    write_package,
)
from tests.fixtures.rows import add_company, add_issue

T = TypeVar("T")

NS = "plugin_paperclip_dbtest_f9c12a21cb"
SCHEMA = f"CREATE TABLE {NS}.items (id integer PRIMARY KEY, name text NOT NULL);"
#: Counts forever: only a limit ends it.
FOREVER = "(WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r)"
#: A write that runs until its limit stops it.
ENDLESS_WRITE = f"UPDATE {NS}.items SET name = 'changed' WHERE 0 < {FOREVER}"
#: A migration whose backfill runs until a limit stops it, after a foreign key to
#: public.issues (on PostgreSQL that locks public.issues against writes until commit).
ENDLESS_BACKFILL = (
    f"CREATE TABLE {NS}.links (id integer PRIMARY KEY, "
    "issue_id uuid REFERENCES public.issues(id));\n"
    f"INSERT INTO {NS}.links (id) SELECT 1 WHERE 0 < {FOREVER};\n"
)
#: How an error quotes the backfill (its first 80 characters).
BACKFILL_EXCERPT = f"INSERT INTO {NS}.links (id) SELECT 1 WHERE 0 <..."


async def _plugin(
    db: Database, tmp_path: Path, settings: PluginSqlSettings, migrations: dict[str, str]
) -> tuple[PluginDatabase, uuid.UUID, dict[str, Any], Path]:
    plugin_manifest = manifest()
    plugin_id = await install_plugin(db, plugin_manifest)
    return (
        PluginDatabase(db, settings=settings),
        plugin_id,
        plugin_manifest,
        write_package(tmp_path, migrations),
    )


async def _active(
    db: Database, tmp_path: Path, settings: PluginSqlSettings
) -> tuple[PluginDatabase, PluginAccess]:
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, settings, {"001_items.sql": SCHEMA}
    )
    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    return plugin_db, await plugin_db.access(plugin_id)


async def _refused(call: Awaitable[object]) -> HostError:
    with pytest.raises(HostError) as raised:
        await call
    return raised.value


async def _names(plugin_db: PluginDatabase, access: PluginAccess) -> list[str]:
    rows = await plugin_db.query(access, f"SELECT name FROM {NS}.items ORDER BY id")
    return [str(row["name"]) for row in rows]


async def _ledger(db: Database, plugin_id: uuid.UUID) -> dict[str, tuple[str, str | None]]:
    async with db.read() as session:
        rows = await session.execute(
            sa.select(
                PluginMigration.migration_key,
                PluginMigration.status,
                PluginMigration.error_message,
            ).where(PluginMigration.plugin_id == plugin_id)
        )
        return {key: (status, error) for key, status, error in rows}


async def _namespace_status(db: Database, plugin_id: uuid.UUID) -> str | None:
    async with db.read() as session:
        return await session.scalar(
            sa.select(PluginDatabaseNamespace.status).where(
                PluginDatabaseNamespace.plugin_id == plugin_id
            )
        )


async def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def test_every_limit_has_a_default_and_a_variable() -> None:
    defaults = PluginSqlSettings.from_env({})
    assert set(ENVIRONMENT) == set(PluginSqlSettings.model_fields)
    assert defaults.model_dump() == {
        "statement_timeout_ms": 5_000,
        "write_timeout_ms": 500,
        "migration_timeout_ms": 60_000,
        "migration_lock_ms": 800,
        "max_rows": 10_000,
        "max_result_bytes": 768 * 1024,
        "max_text_bytes": 256 * 1024,
        "max_migration_statements": 500,
        "cache_size": 512,
        "cache_bytes": 32 * 1024 * 1024,
        "connections": 4,
        "connection_wait_ms": 5_000,
    }
    changed = PluginSqlSettings.from_env({variable: "7" for variable in ENVIRONMENT.values()})
    assert set(changed.model_dump().values()) == {7}


# -- caps ------------------------------------------------------------------------------------------


async def test_a_text_over_the_cap_is_refused_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, access = await _active(db, tmp_path, PluginSqlSettings(max_text_bytes=4096))
    padding = "x" * 5_000
    insert = f"INSERT INTO {NS}.items (id, name) VALUES (1, '{padding}')"

    error = await _refused(plugin_db.execute(access, insert))
    assert type(error) is PluginSqlLimitExceeded
    assert error.message == (
        f"SQL text is {len(insert) / 1024:.1f} KB, over the 4.0 KB limit "
        "(SANDBOX_PLUGIN_SQL_MAX_TEXT_BYTES)"
    )
    # Counted in UTF-8 bytes: 1,500 three-byte characters are 4.4 KB.
    error = await _refused(plugin_db.query(access, f"SELECT '{'€' * 1_500}' AS euros"))
    assert error.message == (
        "SQL text is 4.4 KB, over the 4.0 KB limit (SANDBOX_PLUGIN_SQL_MAX_TEXT_BYTES)"
    )
    assert await _names(plugin_db, access) == []
    assert len(plugin_db.statements) == 1  # only the listing above was checked and kept


async def test_a_migration_file_over_the_cap_is_recorded_failed_and_runs_nothing(
    db: Database, tmp_path: Path
) -> None:
    settings = PluginSqlSettings(max_text_bytes=1024)
    big = SCHEMA + "\n" + "-- padding\n" * 200
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, settings, {"001_items.sql": big}
    )

    error = await _refused(plugin_db.apply_migrations(plugin_id, plugin_manifest, package))

    message = (
        f"Plugin migration 001_items.sql is {len(big) / 1024:.1f} KB, over the 1.0 KB limit "
        "(SANDBOX_PLUGIN_SQL_MAX_TEXT_BYTES)"
    )
    assert (type(error), error.message) == (PluginSqlLimitExceeded, message)
    assert await _ledger(db, plugin_id) == {"001_items.sql": ("failed", message)}
    assert await _namespace_status(db, plugin_id) == "migration_failed"
    assert await namespace_tables(plugin_db, NS) == {}


async def test_statements_per_migration_are_capped(db: Database, tmp_path: Path) -> None:
    settings = PluginSqlSettings(max_migration_statements=3)
    tables = "\n".join(f"CREATE TABLE {NS}.t{n} (id integer PRIMARY KEY);" for n in range(4))
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, settings, {"001_tables.sql": tables}
    )

    error = await _refused(plugin_db.apply_migrations(plugin_id, plugin_manifest, package))

    message = (
        "Plugin migration 001_tables.sql has 4 statements, over the 3 limit "
        "(SANDBOX_PLUGIN_MIGRATION_MAX_STATEMENTS)"
    )
    assert (type(error), error.message) == (PluginSqlLimitExceeded, message)
    assert await _ledger(db, plugin_id) == {"001_tables.sql": ("failed", message)}
    assert await namespace_tables(plugin_db, NS) == {}


async def test_a_result_over_the_byte_cap_is_an_error(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _active(db, tmp_path, PluginSqlSettings(max_result_bytes=2_000))
    rows = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < $1) "
    rows += f"SELECT n, '{'x' * 100}' AS filler FROM r"

    assert len(await plugin_db.query(access, rows, [10])) == 10
    error = await _refused(plugin_db.query(access, rows, [30]))

    assert type(error) is PluginSqlLimitExceeded
    assert error.message == (
        "ctx.db.query result passed the 2.0 KB limit at row 17; page through the result with "
        "LIMIT and OFFSET (SANDBOX_PLUGIN_SQL_MAX_RESULT_BYTES)"
    )


def test_the_statement_cache_keeps_its_estimated_bytes_under_the_cap() -> None:
    def entry(number: int, width: int) -> tuple[Any, CachedStatement]:
        sql = f"SELECT {number} AS n, '{'x' * width}' AS filler"
        key = StatementCache.key(Mode.QUERY, sql, NS, ())
        return key, CachedStatement(check_runtime(sql, Mode.QUERY, NS, ()))

    cap = 1_000 * PARSED_BYTES_PER_CHARACTER
    cache = StatementCache(512, max_bytes=cap)
    keys = []
    for number in range(20):
        key, item = entry(number, 200)
        cache.put(key, item)
        keys.append(key)
        assert cache.estimated_bytes <= cap
    assert 0 < len(cache) < 20
    assert cache.get(keys[-1]) is not None and cache.get(keys[0]) is None  # oldest went first

    key, oversized = entry(99, 2_000)
    cache.put(key, oversized)
    assert cache.get(key) is None and cache.estimated_bytes == 0


# -- connections and writers -----------------------------------------------------------------------


async def test_plugin_sql_has_its_own_bounded_connections(db: Database, tmp_path: Path) -> None:
    settings = PluginSqlSettings(connections=1, connection_wait_ms=200, statement_timeout_ms=3_000)
    plugin_db, access = await _active(db, tmp_path, settings)
    slow = asyncio.create_task(_refused(plugin_db.query(access, f"SELECT {FOREVER} AS n")))
    await _until(lambda: plugin_db.connections.in_use == 1)

    error = await _refused(plugin_db.query(access, "SELECT 1 AS one"))
    # The host's own reads do not wait for the plugin's connection.
    started = time.monotonic()
    async with db.read() as session:
        assert await session.scalar(sa.text("SELECT 1")) == 1
    host_read = time.monotonic() - started

    assert type(error) is PluginSqlLimitExceeded
    assert error.message == (
        "Plugin SQL waited 200 ms (SANDBOX_PLUGIN_SQL_CONNECTION_WAIT_MS) for one of its 1 "
        "connections (SANDBOX_PLUGIN_SQL_CONNECTIONS); all stayed busy"
    )
    assert host_read < 1.0
    assert (await slow).message == (
        "Plugin SQL exceeded the statement timeout of 3000 ms (SANDBOX_PLUGIN_SQL_TIMEOUT_MS)"
    )


async def test_a_long_plugin_write_does_not_stall_a_host_write(
    db: Database, tmp_path: Path
) -> None:
    # Reads may run 30 s: only the write limit can end the write within the bound below.
    settings = PluginSqlSettings(write_timeout_ms=300, statement_timeout_ms=30_000)
    plugin_db, access = await _active(db, tmp_path, settings)
    await plugin_db.execute(access, f"INSERT INTO {NS}.items (id, name) VALUES (1, 'kept')")
    company = await add_company(db)
    writes = [
        asyncio.create_task(_refused(plugin_db.execute(access, ENDLESS_WRITE))) for _ in range(6)
    ]
    await _until(lambda: plugin_db.connections.in_use >= 1)

    started = time.monotonic()
    await add_issue(db, company, title="host write")
    host_wait = time.monotonic() - started

    # At most one plugin write is ever ahead of the host's: 300 ms, given a wide margin.
    assert host_wait < 2.0
    for error in await asyncio.gather(*writes):
        assert type(error) is PluginSqlLimitExceeded
        assert error.message in (
            "Plugin SQL exceeded the statement timeout of 300 ms "
            "(SANDBOX_PLUGIN_SQL_WRITE_TIMEOUT_MS)",
            # queued behind the others for longer than the connection wait
            "Plugin SQL waited 5000 ms (SANDBOX_PLUGIN_SQL_CONNECTION_WAIT_MS) for one of its 4 "
            "connections (SANDBOX_PLUGIN_SQL_CONNECTIONS); all stayed busy",
        )
    assert await _names(plugin_db, access) == ["kept"]


async def test_a_long_migration_does_not_stall_host_writes(db: Database, tmp_path: Path) -> None:
    settings = PluginSqlSettings(migration_lock_ms=500, migration_timeout_ms=30_000)
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, settings, {"001_links.sql": ENDLESS_BACKFILL}
    )
    company = await add_company(db)
    migration = asyncio.create_task(
        _refused(plugin_db.apply_migrations(plugin_id, plugin_manifest, package))
    )
    await _until(lambda: plugin_db.connections.in_use >= 1)

    longest = 0.0
    while not migration.done():
        started = time.monotonic()
        await add_issue(db, company, title="host write")
        longest = max(longest, time.monotonic() - started)

    error = await migration
    message = (
        "Plugin migration kept host writes waiting for over 500 ms "
        "(SANDBOX_PLUGIN_MIGRATION_LOCK_MS) (migrations/001_links.sql, statement 2 at line 2: "
        f"{BACKFILL_EXCERPT})"
    )
    assert (type(error), error.message) == (PluginSqlLimitExceeded, message)
    assert longest < 3.0  # the budget, given a wide margin; 30 s without it
    assert await _ledger(db, plugin_id) == {"001_links.sql": ("failed", message)}
    assert await _namespace_status(db, plugin_id) == "migration_failed"
    assert await namespace_tables(plugin_db, NS) == {}


async def test_a_migration_that_times_out_is_recorded_alike_on_both_backends(
    db: Database, tmp_path: Path
) -> None:
    settings = PluginSqlSettings(migration_timeout_ms=200, migration_lock_ms=60_000)
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, settings, {"001_items.sql": SCHEMA, "002_links.sql": ENDLESS_BACKFILL}
    )

    error = await _refused(plugin_db.apply_migrations(plugin_id, plugin_manifest, package))

    message = (
        "Plugin SQL exceeded the statement timeout of 200 ms (SANDBOX_PLUGIN_MIGRATION_TIMEOUT_MS) "
        f"(migrations/002_links.sql, statement 2 at line 2: {BACKFILL_EXCERPT})"
    )
    assert (type(error), error.message) == (PluginSqlLimitExceeded, message)
    assert await _ledger(db, plugin_id) == {"002_links.sql": ("failed", message)}
    assert await _namespace_status(db, plugin_id) == "migration_failed"
    assert await namespace_tables(plugin_db, NS) == {}


# -- the event loop --------------------------------------------------------------------------------


async def _max_loop_gap(work: Awaitable[T]) -> tuple[float, T]:
    """The longest the event loop went without running a 1 ms ticker while ``work`` ran."""
    gaps = [0.0]
    done = asyncio.Event()

    async def tick() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    try:
        result = await work
    finally:
        done.set()
        await ticker
    return max(gaps), result


async def test_checking_a_text_of_the_largest_size_leaves_the_loop_free(
    db: Database, tmp_path: Path
) -> None:
    settings = PluginSqlSettings()
    plugin_db, access = await _active(db, tmp_path, settings)
    # Integers in a list: the costliest shape per byte measured (about 5 s per MB to check).
    numbers = ",".join(["12345"] * (settings.max_text_bytes // 6 - 20))
    sql = f"SELECT id FROM {NS}.items WHERE id IN ({numbers})"
    assert settings.max_text_bytes - 200 < len(sql) <= settings.max_text_bytes

    started = time.monotonic()
    gap, rows = await _max_loop_gap(plugin_db.query(access, sql))
    took = time.monotonic() - started

    assert rows == []
    # Checked on the loop, the loop would wait for the whole check (seconds). Off the loop it
    # waits at most for one C call of the check or a full collection of the garbage collector
    # (the new parse tree triggers one; it takes the whole process's time, 0.1-0.7 s measured).
    assert gap < took / 3
    assert gap < 1.5


async def test_deeply_nested_sql_is_refused_not_a_crash(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _active(db, tmp_path, PluginSqlSettings())
    # 30,000 levels overflow pglast's C stack (the process died) before the depth check.
    error = await _refused(plugin_db.query(access, "SELECT " + "1 + " * 30_000 + "1 AS n"))
    assert (type(error), error.message) == (PluginSqlInvalid, "stack depth limit exceeded")
