"""Reinstalling a plugin: ``sandbox plugin install`` of an installed key upgrades it from the
changed folder, ``enable`` re-reads the folder, and the plugin's database namespace is shown at
install, in ``plugin list`` and in the "fully qualified" migration error.

The CLI tests run ``sandbox`` in a subprocess on a never-migrated database of each backend,
with real (contained) Python and Node workers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.plugin_database import derive_namespace
from core.plugin_database.errors import PluginSqlRejected
from core.plugin_database.upstream_rules import check_migration_statement
from core.plugin_registry import PluginAlreadyInstalled, find_plugin
from core.plugin_state import StateKey, get_state
from db import Database
from sandbox.harness import PluginSandbox
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.workers import JS_SMOKE
from tests.sandbox.test_plugin_cli import ok, refused, sandbox, seeded

KEY = "sandbox-tests.plugin"
NS = derive_namespace(KEY)
CAPABILITIES = (
    "database.namespace.migrate",
    "database.namespace.read",
    "database.namespace.write",
)
NOTES = f"CREATE TABLE {NS}.notes (body text NOT NULL);"
TAGS = f"CREATE TABLE {NS}.tags (body text PRIMARY KEY);"
NAMESPACE_LINE = f"Database namespace: {NS} (write {NS}.<table> in its SQL)"

#: ``add`` inserts a row into one of the plugin's tables and answers the table's rows and the
#: plugin's config; ``remember`` keeps a value in the plugin's state.
WORKER = """
async def setup(ctx):
    async def add(params, context):
        table = ctx.db.namespace + "." + params["table"]
        await ctx.db.execute(f"INSERT INTO {table} (body) VALUES ($1)", [params["body"]])
        rows = await ctx.db.query(f"SELECT body FROM {table} ORDER BY body")
        return {"rows": [row["body"] for row in rows], "config": await ctx.config.get()}

    async def remember(params, context):
        await ctx.state.set(scope_kind="instance", state_key="memo", value=params["value"])
        return params["value"]

    ctx.actions.register("add", add)
    ctx.actions.register("remember", remember)

plugin = define_plugin(setup=setup)
"""


def version_one(folder: Path, **manifest: Any) -> Path:
    return write_plugin(
        folder,
        WORKER,
        capabilities=(*CAPABILITIES, "plugin.state.write"),
        migrations={"001_notes.sql": NOTES},
        **manifest,
    )


def version_two(folder: Path) -> Path:
    """0.2.0: one more capability and a second migration."""
    return write_plugin(
        folder,
        WORKER,
        capabilities=(*CAPABILITIES, "plugin.state.write", "issues.read"),
        migrations={"001_notes.sql": NOTES, "002_tags.sql": TAGS},
        version="0.2.0",
    )


def add(db: str, table: str, body: str) -> dict[str, Any]:
    params = json.dumps({"table": table, "body": body})
    return json.loads(ok(sandbox(db, "action", KEY, "add", "--company", "ACM", "--params", params)))


def listed(db: str) -> dict[str, Any]:
    [record] = json.loads(ok(sandbox(db, "plugin", "list", "--json")))
    return record


def test_installing_a_changed_folder_upgrades_the_plugin(
    empty_database_url: str, tmp_path: Path
) -> None:
    db = empty_database_url
    seeded(db)
    folder = version_one(tmp_path / "notes")
    installed = ok(sandbox(db, "plugin", "install", str(folder), "--config", '{"mode": "kept"}'))
    assert installed.splitlines() == [
        f"Installed {KEY} 0.1.0 (ready) from {folder}",
        NAMESPACE_LINE,
    ]
    assert add(db, "notes", "first")["rows"] == ["first"]

    version_two(folder)
    upgraded = ok(sandbox(db, "plugin", "install", str(folder)))
    assert upgraded.splitlines() == [
        f"Upgraded {KEY} 0.1.0 -> 0.2.0 (ready): capabilities added: issues.read; "
        "applied 1 new migration: 002_tags.sql",
        NAMESPACE_LINE,
    ]
    # the new migration ran; the config and the rows of the first version are kept
    assert add(db, "tags", "b") == {"rows": ["b"], "config": {"mode": "kept"}}
    assert add(db, "notes", "second")["rows"] == ["first", "second"]
    record = listed(db)
    assert (record["version"], record["status"], record["databaseNamespace"]) == (
        "0.2.0",
        "ready",
        NS,
    )
    assert "issues.read" in record["manifestJson"]["capabilities"]

    refused(
        sandbox(db, "plugin", "install", str(folder)),
        f"Error: Plugin already installed: {KEY} -- nothing changed in {folder} (manifest, "
        "migrations and config are as installed; worker code is read each time the worker "
        f"starts); to start over: sandbox plugin uninstall {KEY} --remove-data, then install "
        "it again",
    )

    applied = folder / "migrations" / "001_notes.sql"
    applied.write_text(NOTES + "\n-- edited after it was applied\n")
    refused(
        sandbox(db, "plugin", "install", str(folder)),
        "Error: Activation failed: Plugin migration checksum mismatch for 001_notes.sql",
    )
    assert listed(db)["status"] == "error"
    applied.write_text(NOTES)  # undone: installing the folder again retries the plugin
    assert ok(sandbox(db, "plugin", "install", str(folder))).splitlines() == [
        f"Reinstalled {KEY} 0.2.0 (error -> ready)",
        NAMESPACE_LINE,
    ]
    assert add(db, "notes", "third")["rows"] == ["first", "second", "third"]


def test_a_fixed_migration_is_installed_over_the_failed_one(
    empty_database_url: str, tmp_path: Path
) -> None:
    """The author's loop: the "fully qualified" error names the namespace to write, and
    installing the fixed folder applies the migration (no uninstall)."""
    db = empty_database_url
    seeded(db)
    folder = write_plugin(
        tmp_path / "notes",
        WORKER,
        capabilities=CAPABILITIES,
        migrations={"001_notes.sql": "CREATE TABLE notes (body text NOT NULL);"},
    )
    failed = sandbox(db, "plugin", "install", str(folder))
    refused(failed, "Error: Activation failed: Plugin migration objects must use fully ")
    assert (
        "Plugin migration objects must use fully qualified schema names "
        f"(this plugin's namespace is {NS}: write {NS}.notes)"
    ) in failed.stderr
    header, row = ok(sandbox(db, "plugin", "list")).splitlines()
    assert header.split()[:6] == ["KEY", "VERSION", "STATUS", "ISOLATION", "NAMESPACE", "PATH"]
    assert row.split()[:6] == [KEY, "0.1.0", "error", "contained", NS, str(folder)]

    (folder / "migrations" / "001_notes.sql").write_text(NOTES)
    assert ok(sandbox(db, "plugin", "install", str(folder))).splitlines() == [
        f"Reinstalled {KEY} 0.1.0 (error -> ready): applied 1 new migration: 001_notes.sql",
        NAMESPACE_LINE,
    ]
    assert add(db, "notes", "works")["rows"] == ["works"]


def test_enable_picks_up_a_changed_manifest(empty_database_url: str, tmp_path: Path) -> None:
    db = empty_database_url
    seeded(db)
    folder = version_one(tmp_path / "notes")
    ok(sandbox(db, "plugin", "install", str(folder)))
    ok(sandbox(db, "plugin", "disable", KEY))

    version_two(folder)
    refused(
        sandbox(db, "plugin", "install", str(folder)),
        "Error: Cannot upgrade plugin in status 'disabled'. Plugin must be in 'ready' or "
        "'upgrade_pending' status to be upgraded. Enable it instead: enabling re-reads the "
        "plugin's folder.",
    )
    assert ok(sandbox(db, "plugin", "enable", KEY)).strip() == (
        f"Enabled {KEY} 0.1.0 -> 0.2.0 (disabled -> ready): capabilities added: issues.read; "
        "applied 1 new migration: 002_tags.sql"
    )
    assert listed(db)["version"] == "0.2.0"
    assert add(db, "tags", "a")["rows"] == ["a"]

    ok(sandbox(db, "plugin", "disable", KEY))
    assert ok(sandbox(db, "plugin", "enable", KEY)).strip() == f"Enabled {KEY} (ready)"


JS_KEY = "sandbox-fixtures.orchestration-smoke-js"
JS_NS = derive_namespace(JS_KEY, "orchestration_smoke_js")


def test_a_javascript_plugin_upgrades_from_its_manifest_module(
    empty_database_url: str, tmp_path: Path, js_smoke_installed: None
) -> None:
    """The manifest of a JS plugin is a module Node imports; its edits are picked up at install
    and at enable alike."""
    db = empty_database_url
    world = seeded(db)
    folder = tmp_path / "smoke-js"
    shutil.copytree(JS_SMOKE, folder, ignore=shutil.ignore_patterns(".npm-install.lock"))
    installed = ok(sandbox(db, "plugin", "install", str(folder)))
    assert installed.splitlines() == [
        f"Installed {JS_KEY} 0.1.0 (ready) from {folder}",
        f"Database namespace: {JS_NS} (write {JS_NS}.<table> in its SQL)",
    ]

    manifest = folder / "manifest.mjs"
    original = manifest.read_text()
    assert original.count('version: "0.1.0"') == original.count('"issues.read",') == 1
    manifest.write_text(
        original.replace('version: "0.1.0"', 'version: "0.2.0"').replace(
            '"issues.read",', '"issues.read",\n    "issues.update",'
        )
    )
    (folder / "migrations" / "002_extra.sql").write_text(
        f"CREATE TABLE {JS_NS}.extra (id text PRIMARY KEY);"
    )
    upgraded = ok(sandbox(db, "plugin", "install", str(folder), "--json"))
    record = json.loads(upgraded)
    assert (record["version"], record["status"], record["databaseNamespace"]) == (
        "0.2.0",
        "ready",
        JS_NS,
    )
    assert record["upgrade"] == {
        "previousVersion": "0.1.0",
        "previousStatus": "ready",
        "changes": ["capabilities added: issues.update"],
        "migrations": ["002_extra.sql"],
    }
    params = json.dumps({"issueId": world["issue"]["id"]})
    action = ("action", JS_KEY, "initialize-smoke", "--company", "ACM", "--params", params)
    smoke = sandbox(db, *action)
    result = json.loads(ok(smoke))
    assert result["rootIssueId"] == world["issue"]["id"]

    ok(sandbox(db, "plugin", "disable", JS_KEY))
    manifest.write_text(manifest.read_text().replace('version: "0.2.0"', 'version: "0.3.0"'))
    assert ok(sandbox(db, "plugin", "enable", JS_KEY)).strip() == (
        f"Enabled {JS_KEY} 0.2.0 -> 0.3.0 (disabled -> ready)"
    )


async def test_the_test_harness_upgrades_a_key_installed_twice(
    db: Database, tmp_path: Path
) -> None:
    """``PluginSandbox.install`` goes through the same upgrade: a second install of a changed
    folder keeps the plugin (id, state, rows) and applies what is new."""
    plugin_sandbox = PluginSandbox(db, python_workers="in-process")
    try:
        folder = version_one(tmp_path / "notes")
        first = await plugin_sandbox.install(folder)
        company = await plugin_sandbox.add_company()
        await first.perform_action("remember", {"value": "kept"}, company=company)

        version_two(folder)
        second = await plugin_sandbox.install(folder)
        assert (second.id, second.record.version) == (first.id, "0.2.0")
        tagged = await second.perform_action("add", {"table": "tags", "body": "t"}, company=company)
        assert tagged == {"rows": ["t"], "config": {}}
        key = StateKey(scopeKind="instance", stateKey="memo")
        assert await get_state(db, first.id, key) == "kept"

        with pytest.raises(PluginAlreadyInstalled, match=f"^Plugin already installed: {KEY}$"):
            await plugin_sandbox.install(folder)
        stored = await find_plugin(db, KEY)
        assert stored is not None and stored.status == "ready"
    finally:
        await plugin_sandbox.close()


@pytest.mark.parametrize(
    ("statement", "written"),
    [
        ("CREATE TABLE notes (id int)", "ns.notes"),
        ('CREATE TABLE IF NOT EXISTS "Notes" (id int)', 'ns."Notes"'),
        ("CREATE INDEX notes_id ON notes (id)", "ns.notes"),
        ("INSERT INTO notes (id) VALUES (1)", "ns.notes"),
        # the scaffold's migration starts with comments: their words are not the statement's
        ("-- every table a migration makes\n/* into x */ CREATE TABLE notes (id int)", "ns.notes"),
        ("CREATE SEQUENCE ns.counter", "ns.<table>"),  # qualified, but not an object upstream knows
    ],
)
def test_the_fully_qualified_error_names_the_namespace(statement: str, written: str) -> None:
    with pytest.raises(PluginSqlRejected) as refused_statement:
        check_migration_statement(statement, "ns", ["issues"])
    assert refused_statement.value.message == (
        "Plugin migration objects must use fully qualified schema names "
        f"(this plugin's namespace is ns: write {written})"
    )
