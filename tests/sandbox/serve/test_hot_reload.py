"""Hot reload (sandbox/serve/hot_reload.py and ``PluginHost.reload``): edits to a plugin's folder
reach its worker.

Every test runs on both backends with real worker processes; the watcher tests edit files in
a watched folder and wait for the reload it causes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from watchfiles import Change

from core.event_bus import PluginEvent
from core.plugin_database import derive_namespace
from core.plugin_logs import list_logs
from core.plugin_registry import require_plugin
from core.plugin_state import StateKey, get_state
from db import Database
from sandbox.plugin_host import PluginHost, ReloadOutcome
from sandbox.protocol import RpcError
from sandbox.serve.hot_reload import PluginFileFilter, PluginWatcher
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import FAST

#: Generous: a reload spawns a Python worker on a loaded 2-core machine.
RELOAD_TIMEOUT = 30.0


def answering(answer: str) -> str:
    """A worker whose ``version`` action answers ``answer``."""
    return f"""
async def setup(ctx):
    async def version(params, context):
        return {answer!r}

    ctx.actions.register("version", version)

plugin = define_plugin(setup=setup)
"""


@dataclass
class Reloads:
    """What the watcher reported, and when."""

    outcomes: list[ReloadOutcome] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def record(self, outcome: ReloadOutcome) -> None:
        self.outcomes.append(outcome)
        self.times.append(asyncio.get_running_loop().time())

    async def wait_for(self, count: int) -> ReloadOutcome:
        await wait_until(lambda: len(self.outcomes) >= count, timeout=RELOAD_TIMEOUT)
        return self.outcomes[count - 1]


@pytest.fixture
async def host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="subprocess", timings=FAST) as plugin_host:
        yield plugin_host


@pytest.fixture
def reloads() -> Reloads:
    return Reloads()


@pytest.fixture
async def watcher(host: PluginHost, reloads: Reloads) -> AsyncIterator[PluginWatcher]:
    plugin_watcher = PluginWatcher(host, refresh_interval=None, on_reload=reloads.record)
    plugin_watcher.start()
    yield plugin_watcher
    await plugin_watcher.stop()


async def messages(db: Database, plugin_id: str, level: str) -> list[str]:
    return [line.message for line in await list_logs(db, plugin_id, level=level)]


async def test_editing_the_worker_changes_the_answer_after_the_debounce(
    host: PluginHost, watcher: PluginWatcher, reloads: Reloads, db: Database, tmp_path: Path
) -> None:
    folder = write_plugin(tmp_path / "versioned", answering("one"))
    record = await host.install(folder)
    await watcher.refresh()
    assert watcher.roots == {record.id: folder.resolve()}
    assert await host.perform_action(record.id, "version") == "one"

    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "worker.cpython-312.pyc").write_bytes(b"ignored")
    (folder / ".worker.py.swp").write_text("ignored")
    saved_at = asyncio.get_running_loop().time()
    write_plugin(folder, answering("two"))

    outcome = await reloads.wait_for(1)
    assert reloads.times[0] - saved_at >= watcher.debounce
    assert (outcome.status, outcome.changes) == ("reloaded", ())
    assert await host.perform_action(record.id, "version") == "two"
    assert "Plugin reloaded: manifest unchanged; worker restarted" in await messages(
        db, record.id, "info"
    )
    assert len(reloads.outcomes) == 1


async def test_a_new_migration_and_capability_apply_as_an_upgrade(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    namespace = derive_namespace("sandbox-tests.plugin")
    first = {"001_notes.sql": f"CREATE TABLE {namespace}.notes (body text NOT NULL);"}
    capabilities = ("database.namespace.migrate", "database.namespace.read")
    folder = write_plugin(
        tmp_path / "db", answering("one"), capabilities=capabilities, migrations=first
    )
    record = await host.install(folder, config={"mode": "kept"})
    with pytest.raises(RpcError):
        await host.perform_action(record.id, "tag", {"name": "x"})

    tagging = """
async def setup(ctx):
    async def tag(params, context):
        table = ctx.db.namespace + ".tags"
        await ctx.db.execute(f"INSERT INTO {table} (name) VALUES ($1)", [params["name"]])
        rows = await ctx.db.query(f"SELECT name FROM {table} ORDER BY name")
        return {"tags": [row["name"] for row in rows], "config": await ctx.config.get()}

    ctx.actions.register("tag", tag)

plugin = define_plugin(setup=setup)
"""
    second = {**first, "002_tags.sql": f"CREATE TABLE {namespace}.tags (name text PRIMARY KEY);"}
    write_plugin(
        folder,
        tagging,
        capabilities=(*capabilities, "database.namespace.write"),
        migrations=second,
        version="0.2.0",
    )
    outcome = await host.reload(record.id)

    assert outcome.status == "reloaded", outcome.reason
    assert outcome.changes == (
        "version 0.1.0 -> 0.2.0",
        "capabilities added: database.namespace.write",
    )
    assert await host.perform_action(record.id, "tag", {"name": "b"}) == {
        "tags": ["b"],
        "config": {"mode": "kept"},
    }
    stored = await require_plugin(db, record.id)
    assert (stored.status, stored.version) == ("ready", "0.2.0")
    assert "database.namespace.write" in stored.manifest_json["capabilities"]
    assert (
        "Plugin reloaded: version 0.1.0 -> 0.2.0; capabilities added: database.namespace.write; "
        "worker restarted"
    ) in await messages(db, record.id, "info")


async def test_an_invalid_manifest_is_refused_and_the_old_worker_keeps_serving(
    host: PluginHost, watcher: PluginWatcher, reloads: Reloads, db: Database, tmp_path: Path
) -> None:
    folder = write_plugin(tmp_path / "versioned", answering("one"))
    record = await host.install(folder)
    await watcher.refresh()

    write_plugin(folder, answering("two"), version="one")
    refused = await reloads.wait_for(1)

    reason = (
        "Invalid plugin manifest: version: Version must follow semver (e.g. 1.0.0 or 1.0.0-beta.1)"
    )
    assert (refused.status, refused.reason) == ("refused", reason)
    assert await host.perform_action(record.id, "version") == "one"
    assert f"Reload refused: {reason}" in await messages(db, record.id, "error")
    stored = await require_plugin(db, record.id)
    assert (stored.status, stored.version) == ("ready", "0.1.0")

    write_plugin(folder, answering("two"), version="0.2.0")  # fixed: the next save reloads
    assert (await reloads.wait_for(2)).status == "reloaded"
    assert await host.perform_action(record.id, "version") == "two"


async def test_a_reload_keeps_event_subscriptions_exactly_once(
    host: PluginHost, db: Database, world: World, tmp_path: Path
) -> None:
    def recording(label: str) -> str:
        return f"""
async def setup(ctx):
    async def on_created(event):
        seen = await ctx.state.get(scope_kind="instance", state_key="seen") or []
        seen.append({label!r} + ":" + event.payload["title"])
        await ctx.state.set(scope_kind="instance", state_key="seen", value=seen)

    ctx.events.on("issue.created", on_created)

plugin = define_plugin(setup=setup)
"""

    folder = write_plugin(tmp_path / "events", recording("v1"))
    record = await host.install(folder)
    await wait_until(lambda: host.bus.subscription_count(record.id) == 1)
    seen = StateKey(scopeKind="instance", stateKey="seen")
    host.emit_event(_created(world.company_id, "First"))
    await host.drain()

    write_plugin(folder, recording("v2"))
    assert (await host.reload(record.id)).status == "reloaded"
    # at once, before the new worker may have subscribed again: the carried subscription
    host.emit_event(_created(world.company_id, "Second"))
    await host.drain()
    assert await get_state(db, record.id, seen) == ["v1:First", "v2:Second"]

    # once the new worker has subscribed again, it took the carried subscription over
    await wait_until(lambda: host.carried_subscriptions(record.id) == 0)
    assert host.bus.subscription_count(record.id) == 1
    host.emit_event(_created(world.company_id, "Third"))
    await host.drain()
    assert await get_state(db, record.id, seen) == ["v1:First", "v2:Second", "v2:Third"]


async def test_an_event_published_during_a_reload_reaches_the_new_worker_once(
    host: PluginHost, db: Database, world: World, tmp_path: Path
) -> None:
    # Each worker names itself at setup (a pid would not do: a contained worker's pid is its
    # number inside its own PID namespace, the same for every worker).
    body = """
WORKER = os.urandom(8).hex()

async def setup(ctx):
    await ctx.state.set(scope_kind="instance", state_key="worker", value=WORKER)

    async def on_created(event):
        seen = await ctx.state.get(scope_kind="instance", state_key="seen") or []
        await ctx.state.set(scope_kind="instance", state_key="seen", value=[*seen, WORKER])

    ctx.events.on("issue.created", on_created)

plugin = define_plugin(setup=setup)
"""
    folder = write_plugin(tmp_path / "events", body)
    record = await host.install(folder)
    await wait_until(lambda: host.bus.subscription_count(record.id) == 1)
    old = host.active(record.id)
    assert old is not None and old.worker.pid is not None

    reload = asyncio.create_task(host.reload(record.id))
    await wait_until(lambda: host.active(record.id) is not old)  # the old worker is going
    assert not reload.done()
    host.emit_event(_created(world.company_id, "During"))
    assert (await reload).status == "reloaded"
    await host.drain()

    new = host.active(record.id)
    assert new is not None
    worker = await get_state(db, record.id, StateKey(scopeKind="instance", stateKey="worker"))
    seen = await get_state(db, record.id, StateKey(scopeKind="instance", stateKey="seen"))
    assert seen == [worker]
    assert new.worker.pid != old.worker.pid


async def test_a_burst_of_writes_causes_one_reload(
    host: PluginHost, watcher: PluginWatcher, reloads: Reloads, db: Database, tmp_path: Path
) -> None:
    folder = write_plugin(tmp_path / "versioned", answering("v0"))
    record = await host.install(folder)
    await watcher.refresh()

    for n in range(10):
        (folder / "worker.py").write_text(
            (folder / "worker.py").read_text().replace(f"'v{n}'", f"'v{n + 1}'")
        )
    await reloads.wait_for(1)
    assert await host.perform_action(record.id, "version") == "v10"

    # a later save reloads again: had the burst caused a second reload, it would show here
    write_plugin(folder, answering("after"))
    assert (await reloads.wait_for(2)).status == "reloaded"
    assert await host.perform_action(record.id, "version") == "after"
    assert [outcome.status for outcome in reloads.outcomes] == ["reloaded", "reloaded"]
    reloaded = [m for m in await messages(db, record.id, "info") if m.startswith("Plugin reloaded")]
    assert len(reloaded) == 2


async def test_a_plugin_installed_later_is_watched_after_refresh(
    host: PluginHost, watcher: PluginWatcher, reloads: Reloads, tmp_path: Path
) -> None:
    await watcher.refresh()
    assert watcher.roots == {}
    folder = write_plugin(tmp_path / "late", answering("one"))
    record = await host.install(folder)
    await watcher.refresh()
    assert watcher.roots == {record.id: folder.resolve()}

    write_plugin(folder, answering("two"))
    assert (await reloads.wait_for(1)).plugin_id == record.id
    assert await host.perform_action(record.id, "version") == "two"


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


def _created(company_id: str, title: str) -> PluginEvent:
    return PluginEvent("issue.created", company_id, entity_type="issue", payload={"title": title})


@pytest.mark.parametrize(
    ("name", "watched"),
    [
        pytest.param("worker.py", True, id="worker"),
        pytest.param("migrations/002_tags.sql", True, id="migration"),
        pytest.param("node_modules/pkg/index.js", False, id="node_modules"),
        pytest.param("__pycache__/worker.cpython-312.pyc", False, id="pycache"),
        pytest.param(".git/index", False, id="git"),
        pytest.param(".worker.py.swp", False, id="vim-swap"),
        pytest.param("4913", False, id="vim-probe"),
        pytest.param("worker.py~", False, id="backup"),
        pytest.param("#worker.py#", False, id="emacs"),
        pytest.param("plugin.db-wal", False, id="sqlite"),
    ],
)
def test_the_filter_ignores_dependencies_caches_and_editor_files(
    name: str, watched: bool, tmp_path: Path
) -> None:
    assert PluginFileFilter()(Change.modified, str(tmp_path / name)) is watched
