"""The orchestration smoke scenario on real plugins: our JS plugin on the published npm SDK and
the Python port of upstream's example, on both backends, with the same results.

Upstream's own spec (``tests/plugin.spec.ts`` of the smoke example) runs the scenario on the
in-memory harness; the assertions below are its assertions plus what only a real host can show:
joined namespace rows, stored relations, documents, wakeups and activity.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.scoped_routes import ApiCaller
from db import Database
from sandbox.harness import PluginSandbox, SandboxPlugin
from tests.fixtures.workers import JS_SMOKE, PYTHON_SMOKE

PACKAGES = {"js": JS_SMOKE, "python": PYTHON_SMOKE}


@pytest.fixture
async def sandbox(db: Database) -> AsyncIterator[PluginSandbox]:
    sandbox = PluginSandbox(db)
    try:
        yield sandbox
    finally:
        await sandbox.close()


@pytest.fixture(params=["js", "python"])
def package(request: pytest.FixtureRequest) -> Path:
    if request.param == "js":
        request.getfixturevalue("js_smoke_installed")
    return PACKAGES[request.param]


async def _scenario(sandbox: PluginSandbox, plugin: SandboxPlugin) -> dict[str, Any]:
    """Upstream's seed (a root issue assigned to an agent), then ``initialize-smoke``."""
    company = await sandbox.add_company("Smoke Co")
    agent = await sandbox.add_agent(company)
    root = await sandbox.add_issue(company, "Root", assignee_agent_id=agent.id)
    result = await plugin.perform_action(
        "initialize-smoke",
        {"companyId": company.id, "issueId": root.id, "assigneeAgentId": agent.id},
        company=company,
    )
    return {"company": company, "agent": agent, "root": root, "result": result}


async def test_the_smoke_scenario_runs_on_a_real_host(
    sandbox: PluginSandbox, package: Path
) -> None:
    plugin = await sandbox.install(package)
    run = await _scenario(sandbox, plugin)
    company, root, result = run["company"], run["root"], run["result"]

    # upstream's assertions
    assert result["rootIssueId"] == root.id
    assert isinstance(result["childIssueId"], str) and isinstance(result["blockerIssueId"], str)
    assert result["billingCode"] == f"plugin-smoke:{root.id}"
    assert result["wakeupQueued"] is True
    assert {root.id, result["childIssueId"]} <= set(result["subtreeIssueIds"])

    # only a real host: the namespace row joined to public.issues, and the stored records
    [joined] = result["joinedRows"]
    assert (joined["billing_code"], joined["root_title"]) == (result["billingCode"], "Root")
    [row] = await plugin.namespace_rows("smoke_runs")
    assert (row["root_issue_id"], row["child_issue_id"]) == (root.id, result["childIssueId"])
    assert row["last_summary"]["wakeupQueued"] is True

    children = {i.title: i for i in await sandbox.issues(company) if i.parent_id}
    blocker = children["Orchestration smoke blocker"]
    child = children["Orchestration smoke child"]
    assert (blocker.status, child.status) == ("done", "todo")
    assert child.origin_kind == f"plugin:{plugin.key}:child"
    assert child.identifier is not None and child.identifier.startswith(company.issue_prefix)

    [wakeup] = await sandbox.wakeups(company)
    assert wakeup.agent_id == run["agent"].id
    assert wakeup.idempotency_key == f"{root.id}:child"
    actions = [entry.action for entry in await sandbox.activity(company)]
    for action in (
        "issue.created",
        "issue.relations.updated",
        "issue.document_upserted",
        "issue.assignment_wakeup_requested",
    ):
        assert action in actions

    status = await plugin.get_data("surface-status", {"issueId": root.id}, company=company)
    assert status["summary"]["childIssueId"] == result["childIssueId"]
    assert status["routeKeys"] == ["initialize", "summary"]
    assert (await plugin.health())["status"] == "ok"


async def test_a_missing_root_issue_is_the_plugins_error(
    sandbox: PluginSandbox, package: Path
) -> None:
    plugin = await sandbox.install(package)
    company = await sandbox.add_company("Smoke Co")
    missing = "00000000-0000-4000-8000-000000000001"
    with pytest.raises(Exception, match=f"Issue not found: {missing}") as failure:
        await plugin.perform_action("initialize-smoke", {"issueId": missing}, company=company)
    assert getattr(failure.value, "code", None) == -32002  # the worker's WORKER_ERROR
    assert await sandbox.issues(company) == []


def _shape(run: dict[str, Any]) -> dict[str, Any]:
    """A run's result with its ids replaced by what they name, so two runs compare."""
    result = run["result"]
    names = {
        run["root"].id: "<root>",
        result["childIssueId"]: "<child>",
        result["blockerIssueId"]: "<blocker>",
        run["company"].id: "<company>",
    }

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items() if k != "id"}
        if isinstance(value, list):
            return sorted((rename(v) for v in value), key=repr)
        if isinstance(value, str):
            for real, name in names.items():
                value = value.replace(real, name)
        return value

    return rename(result)


async def test_js_and_python_plugins_get_the_same_results(
    sandbox: PluginSandbox, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("js_smoke_installed")
    js = await sandbox.install(JS_SMOKE)
    python = await sandbox.install(PYTHON_SMOKE)

    js_run = await _scenario(sandbox, js)
    python_run = await _scenario(sandbox, python)

    assert _shape(js_run) == _shape(python_run)
    assert _shape(js_run)["joinedRows"] == [
        {"billing_code": "plugin-smoke:<root>", "root_title": "Root"}
    ]


async def test_the_scoped_route_runs_the_same_scenario(
    sandbox: PluginSandbox, package: Path
) -> None:
    """Upstream's third spec case, through route matching, auth and company resolution."""
    plugin = await sandbox.install(package)
    company = await sandbox.add_company("Smoke Co")
    agent = await sandbox.add_agent(company)
    root = await sandbox.add_issue(company, "Root", assignee_agent_id=agent.id)
    path = f"/issues/{root.id}/smoke"

    created = await plugin.api_request("POST", path, body={"assigneeAgentId": agent.id})
    assert created.status == 201
    assert (created.body["rootIssueId"], created.body["wakeupQueued"]) == (root.id, True)

    summary = await plugin.api_request("GET", path)
    assert summary.status == 200
    assert summary.body["childIssueId"] == created.body["childIssueId"]

    other = await sandbox.add_company("Other Co")
    outsider = await sandbox.add_agent(other)
    refused = await plugin.api_request("GET", path, caller=ApiCaller.agent(outsider.id, other.id))
    assert (refused.status, refused.body) == (
        403,
        {"error": "Agent key cannot access another company"},
    )
    missing = await plugin.api_request("PUT", path)
    assert (missing.status, missing.body) == (404, {"error": "Plugin API route not found"})
