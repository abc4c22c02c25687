"""``sandbox bench author-tests``, and what makes it fast staying invisible to a test.

The bench runs the test ``sandbox plugin new`` writes on the plugin it writes, and prints
figures for both backends, the Python and the JS plugin, and upstream's in-memory harness.
What the fixture shares between tests (databases made ahead, engines kept, worker processes
serving one generation per test, plugins installed once into templates: see README) must
leave every test as a fresh install would: a pytest run of an author's tests, on both backends,
writes plugin state, namespace rows (a migration's too), config and an event subscription in
the first and finds none of it in the second; seeding before installing, two plugins in one
test and a package edited between tests still install as usual; and a worker that hangs in its
shutdown neither holds up the test's end nor outlives it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.plugin_database.namespace import derive_namespace
from sandbox.cli import main
from tests.fixtures.author_projects import run_pytest, write_project

PROBE_KEY = "sandbox-tests.isolation-probe"


@pytest.mark.usefixtures("js_smoke_installed")
def test_the_bench_prints_both_backends_both_plugins_and_upstreams_harness() -> None:
    result = CliRunner().invoke(main, ["bench", "author-tests", "--runs", "1", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)

    assert figures["runs"] == 1
    assert set(figures["backends"]) == {"sqlite", "postgres"}
    for backend, plugins in figures["backends"].items():
        assert set(plugins) == {"python", "js"}
        for kind, row in plugins.items():
            assert row["median_ms"] > 0 and row["p90_ms"] >= row["median_ms"]
            assert set(row["phases_median_ms"]) == {
                "database",
                "install",
                "seed",
                "action",
                "check",
                "teardown",
            }
            python_target = {"sqlite": 40, "postgres": 120}[backend]
            assert row["target_ms"] == python_target * (2 if kind == "js" else 1)
    assert figures["upstream_harness"]["median_ms"] > 0


@pytest.mark.usefixtures("js_smoke_installed")
def test_the_bench_table_shows_upstreams_harness_beside_the_sandbox() -> None:
    result = CliRunner().invoke(
        main, ["bench", "author-tests", "--runs", "1", "--backend", "sqlite"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("The test `sandbox plugin new` writes")
    assert "add-note" in lines[0]
    assert lines[1].split()[:4] == ["backend", "plugin", "median", "ms"]
    assert lines[1].split("|")[1].split() == [
        "database",
        "install",
        "seed",
        "action",
        "check",
        "teardown",
    ]
    assert [line.split()[:2] for line in lines[2:5]] == [
        ["sqlite", "python"],
        ["sqlite", "js"],
        ["upstream", "js"],
    ]
    assert "createTestHarness" in lines[4]


_WORKER = """
import signal
import time
import uuid

from sandbox.sdk import define_plugin, run_worker

PROCESS = uuid.uuid4().hex  # a contained worker's pid is the same in every PID namespace
setups = 0


async def setup(ctx):
    global setups
    setups += 1
    table = f"{ctx.db.namespace}.notes"

    async def on_created(event):
        seen = await ctx.state.get(scope_kind="instance", state_key="events") or 0
        await ctx.state.set(scope_kind="instance", state_key="events", value=seen + 1)

    ctx.events.on("issue.created", on_created)

    async def remember(params, context):
        await ctx.state.set(scope_kind="instance", state_key="note", value=params["note"])
        await ctx.db.execute(f"INSERT INTO {table} (id, note) VALUES ($1, $2)",
                             [params["id"], params["note"]])
        return None

    async def forget_seeded(params, context):
        await ctx.db.execute(f"DELETE FROM {table} WHERE note LIKE 'seeded%'", [])
        return None

    async def recall(params, context):
        return {
            "config": await ctx.config.get(),
            "note": await ctx.state.get(scope_kind="instance", state_key="note"),
            "events": await ctx.state.get(scope_kind="instance", state_key="events"),
            "rows": len(await ctx.db.query(f"SELECT id FROM {table}")),
            "setups": setups,
            "process": PROCESS,
        }

    ctx.actions.register("remember", remember)
    ctx.actions.register("forget-seeded", forget_seeded)
    ctx.actions.register("recall", recall)


HANG_ON_SHUTDOWN = False


async def on_shutdown():
    if HANG_ON_SHUTDOWN:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(3600)  # never answers shutdown, ignores SIGTERM


plugin = define_plugin(setup=setup, on_shutdown=on_shutdown)

if __name__ == "__main__":
    run_worker(plugin)
"""

_AUTHOR_TESTS = """
import asyncio
import os
import pathlib
import time
import uuid

import pytest

PLUGIN = {plugin!r}
TWIN = {twin!r}
EDITED = {edited!r}
HANGING = {hanging!r}
SEED_SQL = {seed_sql!r}
hung = {{}}
SEEDED = [{{"note": "seeded by 002_seed.sql"}}]
processes = {{}}


async def subscribed(sandbox, plugin):
    async with asyncio.timeout(10):
        while sandbox.host.bus.subscription_count(plugin.id) < 1:
            await asyncio.sleep(0.01)
    return sandbox.host.bus.subscription_count(plugin.id)


async def emit_created(sandbox, company):
    await sandbox.emit_event("issue.created", company=company, entity_type="issue",
                             entity_id=str(uuid.uuid4()))


async def install_from_template(sandbox):
    # The installed-plugin template was copied: the install ran no SQL on this database.
    with sandbox.db.statement_counter() as statements:
        plugin = await sandbox.install(PLUGIN)
    assert statements == []
    return plugin


async def test_1_writes_everything(plugin_sandbox, sandbox_backend):
    plugin = await install_from_template(plugin_sandbox)
    company = await plugin_sandbox.add_company("Acme")
    assert await subscribed(plugin_sandbox, plugin) == 1
    await plugin.perform_action("remember", {{"id": str(uuid.uuid4()), "note": "from test 1"}})
    await plugin.perform_action("forget-seeded")
    await plugin.configure({{"greeting": "changed in test 1"}})
    await emit_created(plugin_sandbox, company)
    recalled = await plugin.perform_action("recall")
    assert (recalled["note"], recalled["events"], recalled["rows"]) == ("from test 1", 1, 1)
    assert recalled["config"] == {{"greeting": "changed in test 1"}}
    processes[sandbox_backend] = recalled["process"]


async def test_2_finds_a_fresh_install(plugin_sandbox, sandbox_backend):
    plugin = await install_from_template(plugin_sandbox)
    company = await plugin_sandbox.add_company("Acme")
    assert await subscribed(plugin_sandbox, plugin) == 1
    fresh = await plugin.perform_action("recall")
    assert (fresh["note"], fresh["events"], fresh["rows"], fresh["setups"]) == (None, None, 1, 1)
    assert fresh["config"] == {{}}
    assert fresh["process"] != processes[sandbox_backend]  # a new worker process
    rows = await plugin.namespace_rows("notes")
    assert [{{"note": row["note"]}} for row in rows] == SEEDED  # as the migration left it
    assert await plugin.state("instance", "note") is None
    await emit_created(plugin_sandbox, company)
    assert (await plugin.perform_action("recall"))["events"] == 1  # one subscription, not two


async def test_3_seeding_first_installs_as_usual(plugin_sandbox):
    company = await plugin_sandbox.add_company("Acme")
    with plugin_sandbox.db.statement_counter() as statements:
        plugin = await plugin_sandbox.install(PLUGIN)
    assert statements  # the usual install, in this database
    await plugin.perform_action("remember", {{"id": str(uuid.uuid4()), "note": "seeded first"}})
    recalled = await plugin.perform_action("recall", company=company)
    assert (recalled["note"], recalled["rows"], recalled["config"]) == ("seeded first", 2, {{}})


async def test_4_two_plugins(plugin_sandbox):
    first = await install_from_template(plugin_sandbox)
    second = await plugin_sandbox.install(TWIN)
    assert first.id != second.id
    await second.perform_action("remember", {{"id": str(uuid.uuid4()), "note": "twin"}})
    assert (await first.perform_action("recall"))["note"] is None
    assert (await second.perform_action("recall"))["note"] == "twin"
    assert len(await second.namespace_rows("notes")) == 2


def write_seed(note):
    (pathlib.Path(EDITED) / "migrations" / "002_seed.sql").write_text(
        SEED_SQL.format(note=note)
    )


async def test_5_edited_package_first(plugin_sandbox):
    write_seed("before the edit")
    plugin = await plugin_sandbox.install(EDITED)
    rows = await plugin.namespace_rows("notes")
    assert [row["note"] for row in rows] == ["before the edit"]


async def test_6_edited_package_after_the_edit(plugin_sandbox):
    write_seed("after the migration was edited")  # the template is built again
    plugin = await plugin_sandbox.install(EDITED)
    rows = await plugin.namespace_rows("notes")
    assert [row["note"] for row in rows] == ["after the migration was edited"]


@pytest.mark.sandbox_timeouts(shutdown=120)
async def test_7_a_worker_hanging_in_shutdown(plugin_sandbox, sandbox_backend):
    plugin = await plugin_sandbox.install(HANGING)
    hung[sandbox_backend] = (plugin_sandbox.host.active(plugin.id).worker.pid, time.monotonic())


async def test_8_held_up_nothing_and_is_gone(plugin_sandbox, sandbox_backend):
    pid, ended = hung[sandbox_backend]
    assert time.monotonic() - ended < 60  # not the 120 s its shutdown would have been given
    assert not os.path.exists(f"/proc/{{pid}}")
"""


def _write_probe(root: Path, key: str = PROBE_KEY) -> Path:
    plugin = root / key
    (plugin / "migrations").mkdir(parents=True)
    manifest = {
        "id": key,
        "apiVersion": 1,
        "version": "0.1.0",
        "displayName": "Isolation probe",
        "description": "Writes state, namespace rows and event counts; reads them back.",
        "author": "paperclip-sandbox tests",
        "categories": ["automation"],
        "capabilities": [
            "plugin.state.read",
            "plugin.state.write",
            "events.subscribe",
            "database.namespace.migrate",
            "database.namespace.read",
            "database.namespace.write",
        ],
        "entrypoints": {"worker": "./worker.py"},
        "instanceConfigSchema": {
            "type": "object",
            "properties": {"greeting": {"type": "string"}},
        },
        "database": {"namespaceSlug": "isolation_probe", "migrationsDir": "migrations"},
    }
    (plugin / "manifest.json").write_text(json.dumps(manifest))
    namespace = derive_namespace(key, "isolation_probe")
    (plugin / "migrations" / "001_notes.sql").write_text(
        f"CREATE TABLE {namespace}.notes (id uuid PRIMARY KEY, note text NOT NULL);\n"
    )
    (plugin / "migrations" / "002_seed.sql").write_text(
        _SEED_SQL.format(namespace=namespace, note="seeded by 002_seed.sql")
    )
    (plugin / "worker.py").write_text(_WORKER)
    return plugin


_SEED_SQL = (
    "INSERT INTO {namespace}.notes (id, note) "
    "VALUES ('6f1c0d1e-5a3b-4c2d-9e8f-0a1b2c3d4e5f', '{note}');\n"
)


def test_nothing_a_test_wrote_reaches_the_next_test_on_either_backend(tmp_path: Path) -> None:
    edited_key = "sandbox-tests.edited-probe"
    hanging = _write_probe(tmp_path, "sandbox-tests.hanging-probe")
    worker = (hanging / "worker.py").read_text()
    (hanging / "worker.py").write_text(worker.replace("SHUTDOWN = False", "SHUTDOWN = True"))
    tests = _AUTHOR_TESTS.format(
        plugin=str(_write_probe(tmp_path)),
        twin=str(_write_probe(tmp_path, "sandbox-tests.twin-probe")),
        edited=str(_write_probe(tmp_path, edited_key)),
        hanging=str(hanging),
        seed_sql=_SEED_SQL.replace("{namespace}", derive_namespace(edited_key, "isolation_probe")),
    )
    author = write_project(tmp_path / "author", tests, name="test_isolation.py")
    done = run_pytest(author, "-q", "-n", "0", "--sandbox-backend=both", "test_isolation.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "16 passed" in done.stdout
    assert "sqlite: 8 tests (8 passed) | postgres: 8 tests (8 passed)" in done.stdout
