"""Installed plugins (core/plugin_registry.py, core/plugin_lifecycle.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.errors import Conflict, InvalidInput, NotFound
from core.plugin_config import save_config
from core.plugin_lifecycle import (
    TRANSITIONS,
    check_can_disable,
    check_can_enable,
    check_can_load,
    check_can_uninstall,
)
from core.plugin_logs import LogLine, write_lines
from core.plugin_registry import (
    delete_plugin,
    find_plugin,
    list_plugins,
    register_plugin,
    require_plugin,
    set_status,
)
from core.plugin_state import StateKey, set_state
from db import Database, tables
from tests.fixtures.plugin_database import manifest


async def _install(db: Database, key: str = "paperclip.registry-test"):
    return await register_plugin(
        db, manifest(key), package_name=f"@test/{key}", package_path=f"/plugins/{key}"
    )


async def test_register_stores_the_raw_manifest_and_install_order(db: Database) -> None:
    raw = manifest("paperclip.first") | {"environmentDrivers": [{"key": "newer-release-key"}]}
    first = await register_plugin(db, raw, package_name="@test/first", package_path="/p/first")
    second = await _install(db, "paperclip.second")

    assert first.status == "installed"
    assert first.manifest_json["environmentDrivers"] == [{"key": "newer-release-key"}]
    assert (first.version, first.api_version, first.categories) == ("1.0.0", 1, ["automation"])
    assert (first.install_order, second.install_order) == (1, 2)
    assert [p.plugin_key for p in await list_plugins(db)] == ["paperclip.first", "paperclip.second"]


async def test_plugins_are_found_by_id_or_key(db: Database) -> None:
    plugin = await _install(db)

    assert (await find_plugin(db, plugin.id)) == plugin
    assert (await find_plugin(db, "paperclip.registry-test")) == plugin
    assert await find_plugin(db, "paperclip.unknown") is None
    with pytest.raises(NotFound, match="^Plugin not found$"):
        await require_plugin(db, "00000000-0000-4000-8000-000000000000")


async def test_installing_an_installed_key_is_a_conflict(db: Database) -> None:
    await _install(db)
    with pytest.raises(Conflict, match=r"^Plugin already installed: paperclip.registry-test$"):
        await _install(db)


async def test_reinstalling_an_uninstalled_key_reuses_its_row(db: Database) -> None:
    plugin = await _install(db)
    await set_status(db, plugin, "uninstalled")
    assert await list_plugins(db) == []

    again = await register_plugin(
        db,
        manifest("paperclip.registry-test", version="2.0.0"),
        package_name=plugin.package_name,
        package_path="/new/path",
    )

    assert again.id == plugin.id
    assert (again.status, again.version, again.package_path) == ("installed", "2.0.0", "/new/path")


async def test_another_package_reusing_an_uninstalled_key_starts_clean(db: Database) -> None:
    """A different package that takes an uninstalled plugin's key gets none of its rows."""
    plugin = await _install(db)
    await save_config(db, plugin.id, {"secret": "old"})
    await set_state(db, plugin.id, StateKey(scopeKind="instance", stateKey="s"), "old")
    await set_status(db, plugin, "uninstalled")

    newcomer = await register_plugin(
        db, manifest("paperclip.registry-test"), package_name="@other/pkg", package_path="/o"
    )

    assert newcomer.id != plugin.id
    assert (newcomer.package_name, newcomer.status) == ("@other/pkg", "installed")
    assert await find_plugin(db, plugin.id) is None
    async with db.read() as session:
        for table in (tables.plugin_config, tables.plugin_state):
            assert (await session.scalars(sa.select(table.c.plugin_id))).all() == []


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("12345678-1234-4234-8234-123456789abc", id="dashed"),
        pytest.param("123456781234423482341234567890ab", id="hex"),
    ],
)
async def test_a_key_that_looks_like_a_uuid_is_found_by_key_and_id(db: Database, key: str) -> None:
    plugin = await _install(db, key)

    assert (await find_plugin(db, key)) == plugin
    assert (await find_plugin(db, plugin.id)) == plugin
    assert (await require_plugin(db, key)).plugin_key == key


async def test_a_record_id_wins_over_a_key_equal_to_it(db: Database) -> None:
    first = await _install(db)
    second = await _install(db, first.id)  # a key spelled like the first plugin's id

    assert (await find_plugin(db, first.id)) == first
    assert second.plugin_key == first.id


async def test_status_changes_follow_upstreams_state_machine(db: Database) -> None:
    plugin = await _install(db)
    ready = await set_status(db, plugin, "ready")
    failed = await set_status(db, ready, "error", last_error="Activation failed: boom")
    assert (failed.status, failed.last_error) == ("error", "Activation failed: boom")

    with pytest.raises(
        InvalidInput,
        match="^Invalid lifecycle transition: error → disabled for plugin paperclip.registry-test$",
    ):
        await set_status(db, failed, "disabled")
    assert (await require_plugin(db, plugin.id)).status == "error"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("installed", "ready", True),
        ("installed", "disabled", False),
        ("ready", "ready", True),
        ("ready", "upgrade_pending", True),
        ("disabled", "ready", True),
        ("disabled", "error", False),
        ("uninstalled", "installed", True),
        ("uninstalled", "ready", False),
    ],
)
def test_transition_table(current: str, target: str, allowed: bool) -> None:
    assert (target in TRANSITIONS[current]) is allowed


def test_lifecycle_operation_guards_use_upstreams_messages() -> None:
    check_can_load("installed")
    check_can_enable("error")
    check_can_disable("ready")
    check_can_uninstall("k", "uninstalled", remove_data=True)
    with pytest.raises(
        InvalidInput,
        match=r"^Cannot load plugin in status 'disabled'\. Plugin "
        r"must be in 'installed' or 'ready' status\.$",
    ):
        check_can_load("disabled")
    with pytest.raises(
        InvalidInput,
        match=r"^Cannot enable plugin in status 'ready'\. Plugin must"
        r" be in 'disabled', 'error', or 'upgrade_pending' status to be enabled\.$",
    ):
        check_can_enable("ready")
    with pytest.raises(
        InvalidInput,
        match=r"^Cannot disable plugin in status 'error'\. Plugin "
        r"must be in 'ready' status to be disabled\.$",
    ):
        check_can_disable("error")
    with pytest.raises(
        InvalidInput,
        match=r"^Plugin k is already uninstalled\. Use "
        r"removeData=true to permanently delete it\.$",
    ):
        check_can_uninstall("k", "uninstalled", remove_data=False)


async def test_deleting_a_plugin_removes_its_config_state_and_logs(db: Database) -> None:
    plugin = await _install(db)
    other = await _install(db, "paperclip.other")
    for record in (plugin, other):
        await save_config(db, record.id, {"k": record.plugin_key})
        await set_state(db, record.id, StateKey(scopeKind="instance", stateKey="s"), 1)
        await write_lines(db, [LogLine(record.id, "info", "hello")])

    await delete_plugin(db, plugin.id)

    assert await find_plugin(db, plugin.id) is None
    async with db.read() as session:
        owners = {
            table.name: sorted(
                str(v) for v in (await session.scalars(sa.select(table.c.plugin_id))).all()
            )
            for table in (tables.plugin_config, tables.plugin_state, tables.plugin_logs)
        }
    assert owners == {
        "plugin_config": [other.id],
        "plugin_state": [other.id],
        "plugin_logs": [other.id],
    }
