"""``sandbox.testing``: the real-database harness for plugin authors.

The first test is the reason it exists: a plugin whose SQL is wrong passes on upstream's own
harness (``@paperclipai/plugin-sdk/testing``, run here with Node) and fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db import Database
from sandbox.harness import PluginSandbox
from sandbox.protocol import RpcError
from tests.fixtures.workers import ROOT, VISIT_COUNTER, ensure_npm_installed

BUG = 'column "issue_id" of relation "visits" does not exist'


@pytest.fixture
async def sandbox(db: Database) -> AsyncIterator[PluginSandbox]:
    sandbox = PluginSandbox(db, python_workers="in-process")
    try:
        yield sandbox
    finally:
        await sandbox.close()


@pytest.fixture(scope="session")
def visit_counter_installed() -> None:
    ensure_npm_installed(VISIT_COUNTER)


def _upstream_harness(issue_id: str) -> dict[str, object]:
    """What the plugin's action returns on upstream's in-memory harness."""
    result = subprocess.run(
        ["node", "harness-check.mjs", issue_id],
        cwd=VISIT_COUNTER,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def test_an_sql_bug_upstreams_harness_cannot_see_fails_here(
    sandbox: PluginSandbox, visit_counter_installed: None
) -> None:
    # Upstream's harness runs no SQL: the INSERT "succeeds" and the count query returns [].
    assert _upstream_harness(str(uuid.uuid4())) == {
        "result": {"visits": 0},
        "executes": 1,
        "queries": 1,
    }

    plugin = await sandbox.install(VISIT_COUNTER)
    company = await sandbox.add_company()
    issue = await sandbox.add_issue(company, "Visited")
    with pytest.raises(RpcError) as failure:
        await plugin.perform_action("record-visit", {"issueId": issue.id}, company=company)

    assert failure.value.message == BUG  # the same words on SQLite and PostgreSQL
    assert await plugin.namespace_rows("visits") == []


async def test_seeds_and_inspection_helpers(sandbox: PluginSandbox) -> None:
    company = await sandbox.add_company("Acme", issue_prefix="ACM")
    agent = await sandbox.add_agent(company, "Builder")
    parent = await sandbox.add_issue(company, "Parent", assignee_agent_id=agent.id)
    child = await sandbox.add_issue(
        company, "Child", parent_id=parent.id, status="in_progress", assignee_agent_id=agent.id
    )

    assert (parent.identifier, child.identifier) == ("ACM-1", "ACM-2")
    assert [row["title"] for row in await sandbox.issues(company)] == ["Parent", "Child"]
    assert str((await sandbox.issues(company))[1]["parent_id"]) == parent.id
    assert await sandbox.wakeups(company) == []
    assert await sandbox.activity(company) == []  # seeds are the board's, not a plugin's


PLUGIN_TEST = """
from pathlib import Path

PLUGIN = Path({plugin!r})


async def test_the_smoke_action(plugin_sandbox):
    plugin = await plugin_sandbox.install(PLUGIN)
    company = await plugin_sandbox.add_company()
    agent = await plugin_sandbox.add_agent(company)
    root = await plugin_sandbox.add_issue(company, "Root", assignee_agent_id=agent.id)

    params = {{"issueId": root.id}}
    result = await plugin.perform_action("initialize-smoke", params, company=company)

    assert result["wakeupQueued"] is True
    [row] = await plugin.namespace_rows("smoke_runs")
    assert row["root_issue_id"] == root.id
    assert len(await plugin_sandbox.wakeups(company)) == 1
    assert "{backend}" == plugin_sandbox.db.dialect.value
"""


def test_the_pytest_fixture_in_a_plugin_authors_project(backend: str, tmp_path: Path) -> None:
    """A plugin author's project: no conftest, only the installed pytest plugin."""
    plugin = ROOT / "fixtures" / "plugins" / "orchestration-smoke-python"
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "test_plugin.py").write_text(
        textwrap.dedent(PLUGIN_TEST.format(plugin=str(plugin), backend=backend))
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--sandbox-backend",
            backend,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
