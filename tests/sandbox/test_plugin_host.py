"""The plugin runtime (sandbox/plugin_host.py): lifecycle, calls, events, logs and crashes.

Every test runs on both backends with real workers: Python plugins in-process where the test is
about the host, in their own process where it is about the process (crashes, stderr).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import Conflict, NotFound
from core.event_bus import PluginEvent
from core.manifest import InvalidManifest
from core.plugin_logs import list_logs
from core.plugin_registry import find_plugin, list_plugins, require_plugin
from core.plugin_state import StateKey, get_state
from core.records import PluginRecord
from db import Database, tables
from sandbox.containment.policy import ContainmentSettings
from sandbox.plugin_host import PluginActivationError, PluginHost
from sandbox.protocol import RpcError, WorkerUnavailable
from sandbox.worker_process import WorkerStatus
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import FAST, PYTHON_SMOKE

ECHO = """
async def setup(ctx):
    ctx.logger.info("setup done", {"phase": "setup"})

    async def echo(params, context):
        return {"params": params, "actor": context.actor.model_dump(by_alias=True)}

    async def remember(params, context):
        await ctx.state.set(scope_kind="instance", state_key="memo", value=params.get("value"))
        return await ctx.state.get(scope_kind="instance", state_key="memo")

    async def list_other(params, context):
        return await ctx.issues.list(company_id=params["other"])

    async def config(params):
        return await ctx.config.get()

    ctx.actions.register("echo", echo)
    ctx.actions.register("remember", remember)
    ctx.actions.register("list-other", list_other)
    ctx.data.register("config", config)

plugin = define_plugin(setup=setup)
"""


@pytest.fixture
async def host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="in-process", timings=FAST) as plugin_host:
        yield plugin_host


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def test_install_validates_registers_and_starts_the_worker(
    host: PluginHost, world: World, tmp_path: Path
) -> None:
    record = await host.install(write_plugin(tmp_path / "echo", ECHO))

    assert record.status == "ready"
    assert record.package_path == str((tmp_path / "echo").resolve())
    active = host.active(record.plugin_key)
    assert active is not None and active.worker.status is WorkerStatus.RUNNING

    answer = await host.perform_action(
        record.plugin_key, "echo", {"x": 1, "companyId": "spoof"}, company_id=world.company_id
    )
    # as upstream: the company overwrites params.companyId; renderEnvironment is merged in
    assert answer["params"] == {"x": 1, "companyId": world.company_id, "renderEnvironment": None}
    assert answer["actor"]["type"] == "user"
    assert answer["actor"]["companyId"] == world.company_id


async def test_installing_an_unchanged_folder_again_is_a_conflict(
    host: PluginHost, tmp_path: Path
) -> None:
    """(A changed folder upgrades the plugin: tests/sandbox/test_plugin_reinstall.py.)"""
    await host.install(write_plugin(tmp_path / "a", ECHO))
    with pytest.raises(Conflict, match="^Plugin already installed: sandbox-tests.plugin$"):
        await host.install(tmp_path / "a")


async def test_an_invalid_manifest_is_refused_and_nothing_is_stored(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    with pytest.raises(InvalidManifest) as refused:
        await host.install(write_plugin(tmp_path / "bad", ECHO, key="Bad Key", version="one"))
    assert refused.value.message == (
        "Invalid plugin manifest: id: Plugin id must start with a lowercase alphanumeric and "
        "contain only lowercase letters, digits, dots, hyphens, or underscores; version: Version "
        "must follow semver (e.g. 1.0.0 or 1.0.0-beta.1)"
    )
    assert refused.value.status == 400
    assert await list_plugins(db, include_uninstalled=True) == []


async def test_a_failing_setup_leaves_the_plugin_in_error(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    body = """
async def setup(ctx):
    raise RuntimeError("setup exploded")

plugin = define_plugin(setup=setup)
"""
    with pytest.raises(PluginActivationError, match="setup exploded") as failure:
        await host.install(write_plugin(tmp_path / "broken", body))

    record = await require_plugin(db, "sandbox-tests.plugin")
    assert record.status == "error"
    assert record.last_error == failure.value.message
    assert record.last_error.startswith(
        f'Activation failed: Worker initialize failed for "{record.id}": setup exploded '
        f"(plugin {record.plugin_key})"
    )
    with pytest.raises(WorkerUnavailable, match=r"^Plugin is not ready \(current status: error\)$"):
        await host.perform_action(record.id, "echo")


async def test_a_failing_migration_leaves_the_plugin_in_error(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    path = write_plugin(
        tmp_path / "bad-sql",
        ECHO,
        capabilities=("database.namespace.migrate", "database.namespace.read"),
        migrations={"001_init.sql": "DROP TABLE public.issues;"},
    )
    with pytest.raises(PluginActivationError, match="Destructive plugin migrations"):
        await host.install(path)
    assert (await require_plugin(db, "sandbox-tests.plugin")).status == "error"
    async with db.read() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(tables.issues))
    assert count == 0  # the core table is untouched


async def test_disable_enable_and_uninstall(
    host: PluginHost, db: Database, world: World, tmp_path: Path
) -> None:
    record = await host.install(write_plugin(tmp_path / "echo", ECHO))
    await host.perform_action(record.id, "remember", {"value": "kept"})

    disabled = await host.disable(record.id, "maintenance")
    assert (disabled.status, disabled.last_error) == ("disabled", "maintenance")
    assert host.active(record.id) is None
    with pytest.raises(WorkerUnavailable, match=r"current status: disabled"):
        await host.perform_action(record.id, "echo")

    await host.enable(record.id)
    assert await host.perform_action(record.id, "remember", {"value": "again"}) == "again"

    await host.uninstall(record.id)
    assert (await require_plugin(db, record.id)).status == "uninstalled"
    reinstalled = await host.install(tmp_path / "echo")
    assert reinstalled.id == record.id  # state, config and namespace survive a reinstall
    key = StateKey(scopeKind="instance", stateKey="memo")
    assert await get_state(db, record.id, key) == "again"

    await host.uninstall(record.id, remove_data=True)
    assert await find_plugin(db, record.id) is None


async def test_a_purged_plugin_installs_again_from_scratch(
    host: PluginHost, db: Database, world: World
) -> None:
    """``--remove-data`` drops the plugin's tables too, so its migrations run again cleanly."""
    record = await host.install(PYTHON_SMOKE)
    root = await world.issue(title="Root", assignee_agent_id=world.agent_id)
    await host.perform_action(
        record.id, "initialize-smoke", {"issueId": root}, company_id=world.company_id
    )

    await host.uninstall(record.id, remove_data=True)
    again = await host.install(PYTHON_SMOKE)

    assert again.id != record.id and again.status == "ready"
    status = await host.get_data(
        again.id, "surface-status", {"issueId": root}, company_id=world.company_id
    )
    assert status["summary"] is None  # the old smoke_runs row went with the old table


async def test_config_is_validated_stored_and_pushed_to_the_worker(
    host: PluginHost, tmp_path: Path
) -> None:
    body = """
received = []

async def setup(ctx):
    async def config(params):
        return {"stored": await ctx.config.get(), "pushed": received}
    ctx.data.register("config", config)

def on_config_changed(config):
    received.append(config)

plugin = define_plugin(setup=setup, on_config_changed=on_config_changed)
"""
    record = await host.install(write_plugin(tmp_path / "cfg", body), config={"mode": "a"})
    assert await host.get_data(record.id, "config") == {"stored": {"mode": "a"}, "pushed": []}

    await host.configure(record.id, {"mode": "b"})
    assert await host.get_data(record.id, "config") == {
        "stored": {"mode": "b"},
        "pushed": [{"mode": "b"}],
    }


async def test_calls_name_real_companies_and_stay_in_their_scope(
    host: PluginHost, world: World, tmp_path: Path
) -> None:
    record = await host.install(write_plugin(tmp_path / "echo", ECHO))
    other = await make_world(world.db, name="Other")

    with pytest.raises(NotFound, match="^Company not found$"):
        await host.perform_action(
            record.id, "echo", company_id="00000000-0000-4000-8000-000000000000"
        )
    with pytest.raises(RpcError) as denied:
        await host.perform_action(
            record.id, "list-other", {"other": other.company_id}, company_id=world.company_id
        )
    assert denied.value.code == -32005
    assert "the current invocation is scoped to company" in denied.value.message


async def test_events_reach_subscribed_plugins_once_per_subscription(
    host: PluginHost, db: Database, world: World, tmp_path: Path
) -> None:
    body = """
async def setup(ctx):
    async def on_created(event):
        seen = await ctx.state.get(scope_kind="instance", state_key="seen") or []
        seen.append(event.payload["title"])
        await ctx.state.set(scope_kind="instance", state_key="seen", value=seen)

    ctx.events.on("issue.created", on_created)

plugin = define_plugin(setup=setup)
"""
    record = await host.install(write_plugin(tmp_path / "events", body))
    # the SDK subscribes in the background after setup
    await wait_until(lambda: host.bus.subscription_count(record.id) == 1)
    key = StateKey(scopeKind="instance", stateKey="seen")

    host.emit_event(_created(world.company_id, "First"))
    host.emit_event(PluginEvent("issue.updated", world.company_id, payload={"title": "no"}))
    await host.drain()
    assert await get_state(db, record.id, key) == ["First"]

    active = host.active(record.id)
    assert active is not None
    await active.worker.restart()  # the new worker subscribes again; the old subscription goes
    await wait_until(lambda: host.bus.subscription_count(record.id) == 1)
    host.emit_event(_created(world.company_id, "Second"))
    await host.drain()
    assert await get_state(db, record.id, key) == ["First", "Second"]


def _created(company_id: str, title: str) -> PluginEvent:
    return PluginEvent("issue.created", company_id, entity_type="issue", payload={"title": title})


@pytest.fixture
async def process_host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="subprocess", timings=FAST) as plugin_host:
        yield plugin_host


async def test_logger_lines_and_stderr_are_stored(
    process_host: PluginHost, db: Database, tmp_path: Path
) -> None:
    body = """
async def setup(ctx):
    ctx.logger.warn("from the logger", {"n": 1})
    print("printed", flush=True)  # the Python SDK keeps stdout for the protocol
    print("to stderr", file=sys.stderr, flush=True)

plugin = define_plugin(setup=setup)
"""
    record = await process_host.install(write_plugin(tmp_path / "noisy", body))
    expected = {
        ("warn", "from the logger", "{'n': 1}"),
        ("warn", "printed", "{'stream': 'stderr'}"),
        ("warn", "to stderr", "{'stream': 'stderr'}"),
    }
    lines: set[tuple[str, str, str]] = set()
    for _ in range(250):  # stderr is read alongside the protocol: wait until its lines are in
        await process_host.drain()
        lines = {
            (line.level, line.message, str(line.meta)) for line in await list_logs(db, record.id)
        }
        if expected <= lines:
            break
        await asyncio.sleep(0.02)

    assert ("warn", "from the logger", "{'n': 1}") in lines
    assert ("warn", "printed", "{'stream': 'stderr'}") in lines
    assert ("warn", "to stderr", "{'stream': 'stderr'}") in lines


async def test_a_crashed_worker_restarts_and_one_that_keeps_crashing_marks_an_error(
    db: Database, tmp_path: Path
) -> None:
    marker = tmp_path / "broken-for-good"
    body = f"""
BROKEN = {str(marker)!r}

async def setup(ctx):
    if os.path.exists(BROKEN):
        os._exit(4)  # every start from now on fails

    async def die(params, context):
        if params.get("forever"):
            open(BROKEN, "w").close()
        os._exit(3)

    async def echo(params, context):
        return "alive"

    ctx.actions.register("die", die)
    ctx.actions.register("echo", echo)

plugin = define_plugin(setup=setup)
"""
    timings = dataclasses.replace(FAST, max_consecutive_crashes=2)
    # Uncontained: the worker leaves its marker outside its package, which containment forbids.
    uncontained = ContainmentSettings(enabled=False)
    async with PluginHost(
        db, python_workers="subprocess", timings=timings, containment=uncontained
    ) as host:
        record = await host.install(write_plugin(tmp_path / "crashy", body))

        with pytest.raises(WorkerUnavailable, match=r"Worker process exited \(code=3"):
            await host.perform_action(record.id, "die")
        assert await _eventually(lambda: host.perform_action(record.id, "echo")) == "alive"

        with pytest.raises(WorkerUnavailable):
            await host.perform_action(record.id, "die", {"forever": True})
        stored = await _eventually_errored(db, record.id)
        assert stored.last_error is not None
        assert stored.last_error.startswith("Worker stopped restarting")
        await host.drain()
        messages = [line.message for line in await list_logs(db, record.id, level="error")]
        assert sum("Worker crashed" in message for message in messages) >= 3
        assert any("not restarting" in message for message in messages)


async def _eventually_errored(db: Database, plugin_id: str) -> PluginRecord:
    for _ in range(100):
        record = await require_plugin(db, plugin_id)
        if record.status == "error":
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"plugin still {record.status}")


async def _eventually(call: Callable[[], Awaitable[Any]]) -> Any:
    """The call's result once the restarted worker answers."""
    for _ in range(50):
        try:
            return await call()
        except WorkerUnavailable:
            await asyncio.sleep(0.05)
    return await call()


async def test_jobs_tools_and_denied_capabilities(
    host: PluginHost, db: Database, world: World, tmp_path: Path
) -> None:
    body = """
async def setup(ctx):
    async def nightly(job):
        await ctx.state.set(scope_kind="instance", state_key="job", value=job.trigger)

    async def lookup(parameters, run):
        found = f"{parameters['q']} for {run.agent_id}"
        return {"content": found, "data": {"company": run.company_id}}

    async def forbidden(params, context):
        return await ctx.issues.create(company_id=params["companyId"], title="Not allowed")

    ctx.jobs.register("nightly", nightly)
    ctx.tools.register("lookup", lookup, display_name="Lookup", description="Finds",
                       parameters_schema={"type": "object"})
    ctx.actions.register("forbidden", forbidden)

plugin = define_plugin(setup=setup)
"""
    record = await host.install(
        write_plugin(
            tmp_path / "jobs",
            body,
            capabilities=(
                "plugin.state.read",
                "plugin.state.write",
                "jobs.schedule",
                "agent.tools.register",
            ),
            jobs=[{"jobKey": "nightly", "displayName": "Nightly", "schedule": "0 3 * * *"}],
            tools=[
                {
                    "name": "lookup",
                    "displayName": "Lookup",
                    "description": "Finds",
                    "parametersSchema": {"type": "object"},
                }
            ],
        )
    )

    await host.run_job(record.id, "nightly")
    assert await get_state(db, record.id, StateKey(scopeKind="instance", stateKey="job")) == (
        "manual"
    )
    with pytest.raises(NotFound, match='^Job "weekly" is not declared by plugin sandbox-tests'):
        await host.run_job(record.id, "weekly")

    answer = await host.execute_tool(
        record.id,
        "lookup",
        {"q": "docs"},
        {"agentId": world.agent_id, "runId": "r1", "companyId": world.company_id},
    )
    assert answer == {
        "content": f"docs for {world.agent_id}",
        "data": {"company": world.company_id},
    }

    with pytest.raises(RpcError) as denied:
        await host.perform_action(record.id, "forbidden", company_id=world.company_id)
    assert denied.value.code == -32001  # the host's code reaches the plugin, which rethrows it
    assert denied.value.message == (
        f'Plugin "{record.id}" is missing required capability "issues.create" '
        f'for method "issues.create" (plugin {record.plugin_key})'
    )
