"""A hostile manifest or instanceConfigSchema is refused with a clear error, stalls nothing, and
leaves the database as it was, on both backends."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.manifest import InvalidManifest
from core.plugin_config import ConfigCheckTooSlow, InvalidConfigSchema, get_config
from core.plugin_registry import list_plugins
from db import Database
from sandbox.plugin_host import PluginHost
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.workers import FAST

IDLE = "async def setup(ctx):\n    pass\n\nplugin = define_plugin(setup=setup)\n"
BACKTRACKING = {"type": "object", "properties": {"v": {"type": "string", "pattern": "^(a|aa)+$"}}}
STALLING = {"v": "a" * 60 + "b"}
REF_CYCLE = {"definitions": {"a": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"}


@pytest.fixture
async def host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="in-process", timings=FAST) as plugin_host:
        yield plugin_host


async def test_a_backtracking_pattern_is_refused_in_time_and_nothing_is_stored(
    host: PluginHost, tmp_path: Path
) -> None:
    package = write_plugin(tmp_path / "p", IDLE, instanceConfigSchema=BACKTRACKING)
    started = time.monotonic()
    with pytest.raises(ConfigCheckTooSlow, match="SANDBOX_PLUGIN_CONFIG_CHECK_TIMEOUT_MS"):
        await host.install(package, config=STALLING)
    assert time.monotonic() - started < 2.0
    assert await list_plugins(host.db) == []

    record = await host.install(package, config={"v": "aa"})
    started = time.monotonic()
    with pytest.raises(ConfigCheckTooSlow):
        await host.configure(record.id, STALLING)
    assert time.monotonic() - started < 1.0
    assert await get_config(host.db, record.id) == {"v": "aa"}


async def test_a_ref_cycle_is_refused_as_the_plugins_fault(
    host: PluginHost, tmp_path: Path
) -> None:
    record = await host.install(write_plugin(tmp_path / "p", IDLE, instanceConfigSchema=REF_CYCLE))
    with pytest.raises(InvalidConfigSchema, match=r"its \$ref references loop without end"):
        await host.configure(record.id, {"mode": "a"})
    assert await get_config(host.db, record.id) == {}


@pytest.mark.parametrize(
    ("changes", "issue"),
    [
        (
            {"entrypoints": {"worker": "./worker.py\0.txt"}},
            "entrypoints.worker: entrypoints.worker must not contain NUL bytes",
        ),
        (
            {
                "database": {"migrationsDir": "migrations\0", "coreReadTables": ["issues"]},
                "capabilities": ["database.namespace.migrate", "database.namespace.read"],
            },
            "database.migrationsDir: migrationsDir must not contain NUL bytes",
        ),
    ],
    ids=["entrypoints.worker", "migrationsDir"],
)
async def test_a_nul_byte_in_a_package_path_is_a_manifest_error(
    host: PluginHost, tmp_path: Path, changes: dict[str, Any], issue: str
) -> None:
    with pytest.raises(InvalidManifest) as raised:
        await host.install(write_plugin(tmp_path / "p", IDLE, **changes))
    assert raised.value.message == f"Invalid plugin manifest: {issue}"
    assert await list_plugins(host.db) == []
