"""A namespace's tables belong to the plugin whose record names it: reinstalling the same
package keeps them (as upstream does), another package reusing the key starts clean
(core/plugin_database/namespace.py, core/plugin_registry.py)."""

from __future__ import annotations

from pathlib import Path

from core.plugin_database import PluginDatabase, PluginSqlSettings
from core.plugin_registry import register_plugin, set_status
from core.records import PluginRecord
from db import Database
from tests.fixtures.plugin_database import manifest, write_package

NS = "plugin_paperclip_dbtest_f9c12a21cb"
#: Written without IF NOT EXISTS: it fails if an earlier plugin's table is still there.
SCHEMA = f"CREATE TABLE {NS}.notes (id integer PRIMARY KEY, body text NOT NULL);"


async def _install(
    db: Database, plugin_db: PluginDatabase, package: str, root: Path
) -> PluginRecord:
    plugin = await register_plugin(db, manifest(), package_name=package, package_path=str(root))
    await plugin_db.apply_migrations(
        plugin.id, manifest(), write_package(root, {"001.sql": SCHEMA})
    )
    return plugin


async def _notes(plugin_db: PluginDatabase, plugin: PluginRecord) -> list[dict[str, object]]:
    access = await plugin_db.access(plugin.id)
    return await plugin_db.query(access, f"SELECT body FROM {NS}.notes")


async def test_reinstalling_the_same_package_keeps_its_data(db: Database, tmp_path: Path) -> None:
    plugin_db = PluginDatabase(db, settings=PluginSqlSettings())
    first = await _install(db, plugin_db, "@acme/notes", tmp_path)
    access = await plugin_db.access(first.id)
    await plugin_db.execute(access, f"INSERT INTO {NS}.notes VALUES (1, 'kept')")
    await set_status(db, first, "uninstalled")

    again = await _install(db, plugin_db, "@acme/notes", tmp_path)

    assert again.id == first.id
    assert await _notes(plugin_db, again) == [{"body": "kept"}]


async def test_another_package_reusing_the_key_starts_clean(db: Database, tmp_path: Path) -> None:
    plugin_db = PluginDatabase(db, settings=PluginSqlSettings())
    first = await _install(db, plugin_db, "@acme/notes", tmp_path / "acme")
    access = await plugin_db.access(first.id)
    await plugin_db.execute(access, f"INSERT INTO {NS}.notes VALUES (1, 'private')")
    await set_status(db, first, "uninstalled")

    newcomer = await _install(db, plugin_db, "@mallory/notes", tmp_path / "mallory")

    assert newcomer.id != first.id
    assert await _notes(plugin_db, newcomer) == []
