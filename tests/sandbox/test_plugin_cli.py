"""The plugin commands (sandbox/plugin_commands.py), run as a user runs them: a real subprocess,
on a never-migrated database of each backend."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.plugin_database import derive_namespace
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.workers import JS_SMOKE, PYTHON_SMOKE

SMOKE_KEY = "paperclipai.plugin-orchestration-smoke-example"
JS_SMOKE_KEY = "sandbox-fixtures.orchestration-smoke-js"
SMOKE_NS = derive_namespace(SMOKE_KEY, "orchestration_smoke")


def sandbox(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``sandbox ARGS --db DATABASE`` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args, "--db", database],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must succeed."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], start: str) -> None:
    """The error line of a refused command: one line starting with ``start``, after progress
    lines (``Migrating ...``) if any."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    *progress, error = result.stderr.splitlines()
    assert all(line.endswith(" ...") for line in progress), result.stderr
    assert error.startswith(start), error


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  (\w+) +(.+?)(?:  (\{.*\}))?$")


def log_line(line: str) -> tuple[str, str, Any]:
    """A line of ``sandbox plugin logs``: level, message and meta."""
    match = _LOG_LINE.match(line)
    assert match is not None, line
    level, message, meta = match.groups()
    return level, message, meta and json.loads(meta)


def seeded(database: str, *options: str) -> dict[str, Any]:
    return json.loads(ok(sandbox(database, "seed", "--json", *options)))


def test_seed_install_call_and_manage_a_plugin(empty_database_url: str) -> None:
    db = empty_database_url
    first = sandbox(db, "seed")
    assert "Migrating" in first.stderr
    company_line, agent_line, issue_line = ok(first).splitlines()
    company_id, agent_id, issue_id = (
        line.split()[1] for line in (company_line, agent_line, issue_line)
    )
    assert company_line.endswith("Acme (prefix ACM)")
    assert agent_line.endswith("Engineer (engineer, idle)")
    assert issue_line.endswith("ACM-1 Try a plugin (todo, assigned to Engineer)")

    installed = sandbox(db, "plugin", "install", str(PYTHON_SMOKE))
    assert "Migrating" not in installed.stderr
    assert ok(installed).splitlines() == [
        f"Installed {SMOKE_KEY} 0.1.0 (ready) from {PYTHON_SMOKE}",
        f"Database namespace: {SMOKE_NS} (write {SMOKE_NS}.<table> in its SQL)",
    ]

    params = json.dumps({"issueId": issue_id, "assigneeAgentId": agent_id})
    action = ok(
        sandbox(db, "action", SMOKE_KEY, "initialize-smoke", "--company", "ACM", "--params", params)
    )
    assert action.startswith("{\n  ")  # pretty by default
    result = json.loads(action)
    assert result["rootIssueId"] == issue_id
    assert result["wakeupQueued"] is True
    assert len(result["subtreeIssueIds"]) == 3

    status = json.loads(
        ok(
            sandbox(
                db,
                "data",
                SMOKE_KEY,
                "surface-status",
                "--company",
                company_id,
                "--params",
                json.dumps({"issueId": issue_id}),
                "--json",
            )
        )
    )
    assert status["summary"]["childIssueId"] == result["childIssueId"]
    assert status["routeKeys"] == ["initialize", "summary"]

    health = json.loads(ok(sandbox(db, "health", SMOKE_KEY, "--json")))
    assert health["pluginKey"] == SMOKE_KEY
    assert health["status"] == "ready"
    assert health["health"]["message"] == "Orchestration smoke plugin worker is running"

    header, row = ok(sandbox(db, "plugin", "list")).splitlines()
    assert header.split() == [
        "KEY",
        "VERSION",
        "STATUS",
        "ISOLATION",
        "NAMESPACE",
        "PATH",
        "LAST",
        "ERROR",
    ]
    assert row.split() == [
        SMOKE_KEY,
        "0.1.0",
        "ready",
        "contained",
        SMOKE_NS,
        str(PYTHON_SMOKE),
        "-",
    ]

    disabled = sandbox(db, "plugin", "disable", SMOKE_KEY, "--reason", "too noisy")
    assert ok(disabled).strip() == f"Disabled {SMOKE_KEY}: too noisy"
    refused(
        sandbox(
            db, "action", SMOKE_KEY, "initialize-smoke", "--company", "ACM", "--params", params
        ),
        "Error: Plugin is not ready (current status: disabled)",
    )
    [record] = json.loads(ok(sandbox(db, "plugin", "list", "--json")))
    assert (record["status"], record["lastError"]) == ("disabled", "too noisy")

    assert (
        ok(sandbox(db, "plugin", "enable", record["id"])).strip() == f"Enabled {SMOKE_KEY} (ready)"
    )
    assert ok(sandbox(db, "plugin", "logs", SMOKE_KEY)).strip() == "No log lines."

    uninstalled = sandbox(db, "plugin", "uninstall", SMOKE_KEY)
    assert ok(uninstalled).strip() == f"Uninstalled {SMOKE_KEY} (data kept)"
    assert ok(sandbox(db, "plugin", "list")).strip() == "No plugins installed."
    _, row = ok(sandbox(db, "plugin", "list", "--all")).splitlines()
    assert row.split()[:3] == [SMOKE_KEY, "0.1.0", "uninstalled"]
    removed = sandbox(db, "plugin", "uninstall", SMOKE_KEY, "--remove-data")
    assert ok(removed).strip() == f"Uninstalled {SMOKE_KEY} and deleted its data"
    assert ok(sandbox(db, "plugin", "list", "--all")).strip() == "No plugins installed."


def test_javascript_plugin_and_a_second_seed(
    empty_database_url: str, js_smoke_installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's commands on a fresh machine: the JS smoke plugin (SDK 2026.707.0) runs on
    the node on PATH (Node 20 on CI), not on the Node 24 the tests installed."""
    monkeypatch.delenv("SANDBOX_NODE", raising=False)
    db = empty_database_url
    first, second = seeded(db), seeded(db)
    assert [first["company"]["issuePrefix"], second["company"]["issuePrefix"]] == ["ACM", "ACMA"]
    assert second["issue"]["identifier"] == "ACMA-1"
    assert second["issue"]["assigneeAgentId"] == second["agent"]["id"]

    record = json.loads(ok(sandbox(db, "plugin", "install", str(JS_SMOKE), "--json")))
    assert (record["pluginKey"], record["status"]) == (JS_SMOKE_KEY, "ready")

    params = json.dumps({"issueId": second["issue"]["id"]})
    output = ok(
        sandbox(
            db,
            "action",
            JS_SMOKE_KEY,
            "initialize-smoke",
            "--company",
            "acma",
            "--params",
            params,
            "--json",
        )
    )
    assert len(output.splitlines()) == 1
    result = json.loads(output)
    assert result["rootIssueId"] == second["issue"]["id"]
    assert result["wakeupQueued"] is True


CONFIG_SCHEMA = {
    "type": "object",
    "properties": {"mode": {"enum": ["fast", "slow"]}, "retries": {"type": "integer"}},
    "required": ["mode"],
}

#: Logs a line, a metric and a stderr line at every start; reports itself degraded.
CONFIGURED_WORKER = """
async def setup(ctx):
    config = await ctx.config.get()
    ctx.logger.info("configured", {"mode": config.get("mode")})
    await ctx.metrics.write("setups", 1)
    print("a line on stderr", file=sys.stderr, flush=True)


plugin = define_plugin(
    setup=setup, on_health=lambda: {"status": "degraded", "message": "mode is slow"}
)
"""


def test_config_logs_and_an_unhealthy_worker(empty_database_url: str, tmp_path: Path) -> None:
    db = empty_database_url
    package = write_plugin(
        tmp_path / "configured", CONFIGURED_WORKER, instanceConfigSchema=CONFIG_SCHEMA
    )
    key = "sandbox-tests.plugin"
    refused(
        sandbox(
            db, "plugin", "install", str(package), "--config", '{"mode": "fast", "retries": "x"}'
        ),
        "Error: Configuration does not match the plugin's instanceConfigSchema: /retries: must be "
        "integer",
    )
    assert ok(sandbox(db, "plugin", "list", "--all")).strip() == "No plugins installed."

    ok(sandbox(db, "plugin", "install", str(package), "--config", '{"mode": "fast"}'))
    assert json.loads(ok(sandbox(db, "plugin", "config", key))) == {"mode": "fast"}
    refused(
        sandbox(db, "plugin", "config", key, '{"retries": 2}'),
        "Error: Configuration does not match the plugin's instanceConfigSchema: /: must have "
        "required property 'mode'",
    )
    stored = sandbox(db, "plugin", "config", key, '{"mode": "slow"}')
    assert ok(stored).strip() == f"Stored the config of {key}"
    assert json.loads(ok(sandbox(db, "plugin", "config", key))) == {"mode": "slow"}

    unhealthy = sandbox(db, "health", key)
    assert unhealthy.returncode == 1
    assert unhealthy.stdout.strip() == f"{key} 0.1.0: ready, worker degraded: mode is slow"

    lines = ok(sandbox(db, "plugin", "logs", key)).splitlines()
    metric = ("metric", "setups", {"value": 1, "tags": {}})
    stderr = ("warn", "a line on stderr", {"stream": "stderr"})
    assert [log_line(line) for line in lines] == [
        ("info", "configured", {"mode": "fast"}),
        metric,
        stderr,
        ("info", "configured", {"mode": "slow"}),
        metric,
        stderr,
    ]
    newest = json.loads(
        ok(sandbox(db, "plugin", "logs", key, "--level", "info", "--limit", "1", "--json"))
    )
    assert [(line["level"], line["meta"]) for line in newest] == [("info", {"mode": "slow"})]


def test_user_mistakes_are_one_error_line(empty_database_url: str, tmp_path: Path) -> None:
    db = empty_database_url
    assert seeded(db, "--prefix", "zed")["company"]["issuePrefix"] == "ZED"
    ok(sandbox(db, "plugin", "install", str(PYTHON_SMOKE)))
    missing = tmp_path / "missing"
    broken = write_plugin(tmp_path / "broken", "plugin = None", key="Not A Key!")
    unknown = str(uuid.uuid4())
    mistakes = [
        (["seed", "--prefix", "A1"], "--prefix must be letters A-Z, got 'A1'"),
        (["plugin", "install", str(missing)], f"Local plugin path does not exist: {missing}"),
        (["plugin", "install", str(broken)], "Invalid plugin manifest: id: "),
        (["plugin", "install", str(PYTHON_SMOKE)], f"Plugin already installed: {SMOKE_KEY}"),
        (["plugin", "install", str(PYTHON_SMOKE), "--config", "{"], "--config is not valid JSON: "),
        (["plugin", "logs", "nobody.plugin"], "Plugin not found: nobody.plugin"),
        (["action", SMOKE_KEY, "initialize-smoke", "--company", "ACM"], "Company not found: ACM"),
        (["data", SMOKE_KEY, "surface-status", "--params", "{"], "--params is not valid JSON: "),
        (
            ["data", SMOKE_KEY, "surface-status", "--params", "[1]"],
            "--params must be a JSON object",
        ),
        (
            [
                "action",
                SMOKE_KEY,
                "initialize-smoke",
                "--company",
                "Zed",
                "--params",
                f'{{"issueId": "{unknown}"}}',
            ],
            f"RuntimeError: Issue not found: {unknown} (WORKER_ERROR -32002)",
        ),
    ]
    for args, message in mistakes:
        refused(sandbox(db, *args), f"Error: {message}")


def test_a_js_plugin_that_needs_a_newer_node_is_one_error_line(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node on PATH is asked its version and refused; nothing is installed."""
    db = empty_database_url
    package = tmp_path / "future-node"
    package.mkdir()
    (package / "package.json").write_text(
        json.dumps(
            {
                "name": "@sandbox-tests/future-node",
                "version": "0.1.0",
                "type": "module",
                "engines": {"node": ">=99"},
                "paperclipPlugin": {"manifest": "./manifest.mjs", "worker": "./worker.mjs"},
            }
        )
    )
    manifest = {"id": "sandbox-tests.future-node", "entrypoints": {"worker": "./worker.mjs"}}
    (package / "manifest.mjs").write_text(f"export default {json.dumps(manifest)};\n")
    (package / "worker.mjs").write_text("")
    monkeypatch.delenv("SANDBOX_NODE", raising=False)
    node = shutil.which("node")
    assert node is not None, "node is required for the tests of JavaScript plugins"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()

    result = sandbox(db, "plugin", "install", str(package))
    message = (
        "Error: Plugin needs Node >=99 (@sandbox-tests/future-node 0.1.0 declares it); node on"
        f" PATH is {version} -- install Node 99 or newer, or set SANDBOX_NODE to one"
    )
    refused(result, message)
    assert result.stderr.splitlines()[-1] == message
    assert ok(sandbox(db, "plugin", "list", "--all")).strip() == "No plugins installed."


def test_the_demo_runs_the_smoke_plugin_end_to_end(empty_database_url: str) -> None:
    """The README's main job: seed, install the smoke plugin, run it, show what it did."""
    first = json.loads(ok(sandbox(empty_database_url, "demo", "--json")))
    again = json.loads(ok(sandbox(empty_database_url, "demo", "--json")))  # reuses the plugin

    for run in (first, again):
        assert run["plugin"]["key"] == SMOKE_KEY
        assert run["result"]["wakeupQueued"] is True
        assert [i["status"] for i in run["issues"]] == ["todo", "done", "todo"]
        assert [w["status"] for w in run["wakeups"]] == ["queued"]
        [row] = run["namespaceRows"]
        assert row["root_identifier"] == run["issues"][0]["identifier"]
        plugin_actions = [a["action"] for a in run["activity"] if a["actorType"] == "plugin"]
        assert plugin_actions == [
            "issue.created",
            "issue.created",
            "issue.relations.updated",
            "issue.document_upserted",
            "issue.assignment_wakeup_requested",
        ]
    assert first["plugin"]["id"] == again["plugin"]["id"]
    assert first["company"]["issuePrefix"] != again["company"]["issuePrefix"]

    report = ok(sandbox(empty_database_url, "demo"))
    assert "ran initialize-smoke" in report and "Plugin table: 1 row joined" in report
