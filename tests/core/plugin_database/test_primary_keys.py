"""Primary key columns of plugin tables are NOT NULL on SQLite as on PostgreSQL, with the same
error (core/plugin_database/sqlite_printer/ddl.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.plugin_database import PluginAccess, PluginDatabase, PluginSqlSettings
from core.plugin_database.errors import PluginSqlInvalid, PluginSqlViolation
from db import Database
from tests.fixtures.plugin_database import install_plugin, manifest, write_package

NS = "plugin_paperclip_dbtest_f9c12a21cb"
SCHEMA = f"""
CREATE TABLE {NS}.by_uuid (id uuid PRIMARY KEY, v text);
CREATE TABLE {NS}.by_int (id integer PRIMARY KEY, v text);
CREATE TABLE {NS}.by_bigint (id bigint NOT NULL PRIMARY KEY, v text);
CREATE TABLE {NS}.by_pair (a integer, b text, v text, PRIMARY KEY (a, b));
CREATE TABLE {NS}.by_serial (id serial PRIMARY KEY, v text);
"""


async def _plugin(db: Database, tmp_path: Path) -> tuple[PluginDatabase, PluginAccess]:
    plugin_manifest = manifest()
    plugin_id = await install_plugin(db, plugin_manifest)
    plugin_db = PluginDatabase(db, settings=PluginSqlSettings())
    await plugin_db.apply_migrations(
        plugin_id, plugin_manifest, write_package(tmp_path, {"001_keys.sql": SCHEMA})
    )
    return plugin_db, await plugin_db.access(plugin_id)


@pytest.mark.parametrize(
    ("sql", "table", "column"),
    [
        pytest.param(f"INSERT INTO {NS}.by_uuid (v) VALUES ('x')", "by_uuid", "id", id="uuid"),
        pytest.param(
            f"INSERT INTO {NS}.by_uuid (id, v) VALUES (NULL, 'x')", "by_uuid", "id", id="uuid-null"
        ),
        pytest.param(f"INSERT INTO {NS}.by_int DEFAULT VALUES", "by_int", "id", id="int-default"),
        pytest.param(
            f"INSERT INTO {NS}.by_int (id, v) VALUES (NULL, 'x')", "by_int", "id", id="int-null"
        ),
        pytest.param(
            f"INSERT INTO {NS}.by_bigint DEFAULT VALUES", "by_bigint", "id", id="bigint-default"
        ),
        pytest.param(
            f"INSERT INTO {NS}.by_pair (a, v) VALUES (1, 'x')", "by_pair", "b", id="table-key"
        ),
    ],
)
async def test_a_primary_key_refuses_null(
    db: Database, tmp_path: Path, sql: str, table: str, column: str
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)

    with pytest.raises(PluginSqlViolation) as raised:
        await plugin_db.execute(access, sql)

    assert raised.value.message == (
        f'null value in column "{column}" of relation "{table}" violates not-null constraint'
    )
    assert await plugin_db.query(access, f"SELECT count(*) AS n FROM {NS}.{table}") == [{"n": 0}]


async def test_keys_with_values_and_serial_keys_still_insert(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path)

    await plugin_db.execute(access, f"INSERT INTO {NS}.by_int (id, v) VALUES (5, 'x')")
    await plugin_db.execute(access, f"INSERT INTO {NS}.by_pair (a, b) VALUES (1, 'b')")
    await plugin_db.execute(access, f"INSERT INTO {NS}.by_serial DEFAULT VALUES")

    assert await plugin_db.query(access, f"SELECT id, id + 1 AS next FROM {NS}.by_int") == [
        {"id": 5, "next": 6}
    ]
    assert await plugin_db.query(access, f"SELECT id FROM {NS}.by_serial") == [{"id": 1}]
    # An integer key is still read as PostgreSQL's integer.
    with pytest.raises(PluginSqlInvalid, match='^value "3000000000" is out of range for type'):
        await plugin_db.execute(access, f"INSERT INTO {NS}.by_int (id) VALUES ($1)", [3000000000])
