"""``sandbox.testing``: the real-database harness for plugin authors.

The first test is the reason it exists: a plugin whose SQL is wrong passes on upstream's own
harness (``@paperclipai/plugin-sdk/testing``, run here with Node) and fails here.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core import records
from core.errors import NotFound
from core.heartbeat_runs import RunCost
from core.read_models.runs import RunRow
from db import Database
from sandbox.harness import PluginSandbox
from sandbox.harness_records import DocumentRevision, IssueRelations
from sandbox.node_runtime import find_node
from sandbox.protocol import RpcError, RpcTimeout
from sandbox.worker_process import WorkerTimings
from tests.fixtures.author_projects import run_pytest, write_project
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
    """What the plugin's action returns on upstream's in-memory harness (under the node its
    SDK needs, as its worker runs)."""
    result = subprocess.run(
        [find_node(VISIT_COUNTER), "harness-check.mjs", issue_id],
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
    issues = await sandbox.issues(company)
    assert all(isinstance(issue, records.Issue) for issue in issues)
    assert [issue.title for issue in issues] == ["Parent", "Child"]
    assert issues[1].parent_id == parent.id
    assert (await sandbox.issue(child.id)).status == "in_progress"
    assert await sandbox.wakeups(company) == []
    assert await sandbox.runs(company) == []
    assert await sandbox.costs(company) == []
    assert await sandbox.activity(company) == []  # seeds are the board's, not a plugin's


async def test_seeded_runs_go_through_the_hosts_lifecycle(sandbox: PluginSandbox) -> None:
    company = await sandbox.add_company("Acme", issue_prefix="ACM")
    agent = await sandbox.add_agent(company, "Builder")
    queued_on, done_on, failed_on = [
        await sandbox.add_issue(company, title, assignee_agent_id=agent.id)
        for title in ("Queued", "Done", "Failed")
    ]

    queued = await sandbox.add_run(queued_on)
    cost = RunCost(provider="anthropic", model="claude-sonnet-4", cost_cents=42)
    done = await sandbox.add_run(done_on, status="succeeded", cost=cost, comment="Shipped.")
    failed = await sandbox.add_run(failed_on, status="failed", error="adapter exited 1")

    assert isinstance(queued, RunRow)
    assert (queued.status, queued.issue_id, queued.agent_name) == (
        "queued",
        queued_on.id,
        "Builder",
    )
    assert (done.status, failed.status, failed.error) == ("succeeded", "failed", "adapter exited 1")
    assert done.started_at is not None and done.finished_at is not None
    assert [run.id for run in await sandbox.runs(company)] == [queued.id, done.id, failed.id]
    wakeups = await sandbox.wakeups(company)
    assert [(w.issue_id, w.run_id) for w in wakeups] == [
        (queued_on.id, queued.id),
        (done_on.id, done.id),
        (failed_on.id, failed.id),
    ]
    assert [w.status for w in wakeups] == ["queued", "completed", "failed"]

    [comment] = await sandbox.comments(done_on)
    assert (comment.body, comment.author_agent_id, comment.created_by_run_id) == (
        "Shipped.",
        agent.id,
        done.id,
    )
    extra = await sandbox.add_cost_event(company, agent, 8, billing_code="mission-1")
    costs = await sandbox.costs(company)
    assert [(c.cost_cents, c.heartbeat_run_id) for c in costs] == [(42, done.id), (8, None)]
    assert costs[1] == extra and extra.billing_code == "mission-1"
    spent = [e.details for e in await sandbox.activity(company, action="cost_event.created")]
    assert [details["costCents"] for details in spent if details] == [42, 8]


async def test_a_checkout_is_held_by_a_running_run_of_the_agent(sandbox: PluginSandbox) -> None:
    company = await sandbox.add_company()
    agent = await sandbox.add_agent(company, "Builder")
    issue = await sandbox.add_issue(company, "Build it", assignee_agent_id=agent.id)

    ownership = await sandbox.add_checkout(issue)

    assert isinstance(ownership, records.CheckoutOwnership)
    [run] = await sandbox.runs(company)
    assert (run.status, run.agent_id) == ("running", agent.id)
    now = await sandbox.issue(issue)
    assert (now.status, now.checkout_run_id, ownership.checkout_run_id) == (
        "in_progress",
        run.id,
        run.id,
    )


async def test_a_user_assignee_needs_a_membership(sandbox: PluginSandbox) -> None:
    company = await sandbox.add_company()
    with pytest.raises(NotFound, match="^Assignee user not found$"):
        await sandbox.add_issue(company, "For Ada", assignee_user_id="ada")

    member = await sandbox.add_member(company, "ada", role="owner")
    issue = await sandbox.add_issue(company, "For Ada", assignee_user_id="ada")

    assert isinstance(member, records.CompanyMembership)
    assert (member.principal_type, member.membership_role, member.status) == (
        "user",
        "owner",
        "active",
    )
    assert issue.assignee_user_id == "ada"


async def test_relations_and_documents_of_what_a_plugin_made(sandbox: PluginSandbox) -> None:
    plugin = await sandbox.install(ROOT / "fixtures" / "plugins" / "orchestration-smoke-python")
    company = await sandbox.add_company()
    agent = await sandbox.add_agent(company)
    root = await sandbox.add_issue(company, "Root", assignee_agent_id=agent.id)

    result = await plugin.perform_action("initialize-smoke", {"issueId": root.id}, company=company)

    tree = await sandbox.relations(root)
    assert isinstance(tree, IssueRelations) and tree.parent is None
    assert [c.id for c in tree.children] == [result["blockerIssueId"], result["childIssueId"]]
    child = await sandbox.relations(result["childIssueId"])
    assert child.parent is not None and child.parent.id == root.id
    assert [b.id for b in child.blocked_by] == [result["blockerIssueId"]]
    blocker = await sandbox.relations(result["blockerIssueId"])
    assert [b.id for b in blocker.blocks] == [result["childIssueId"]]

    [document] = await sandbox.documents(result["childIssueId"])
    assert (document.key, document.latest_revision_number) == ("orchestration-smoke", 1)
    [revision] = await sandbox.document_revisions(result["childIssueId"], "orchestration-smoke")
    assert isinstance(revision, DocumentRevision)
    assert (revision.revision_number, revision.body, revision.change_summary) == (
        1,
        document.body,
        "Recorded orchestration smoke output",
    )
    with pytest.raises(NotFound, match="^Document not found: plan$"):
        await sandbox.document_revisions(result["childIssueId"], "plan")
    assert await sandbox.comments(root) == []


async def test_a_slow_action_hits_a_short_call_timeout(db: Database) -> None:
    sandbox = PluginSandbox(db, timings=WorkerTimings(call=0.2))
    try:
        plugin = await sandbox.install(ROOT / "fixtures" / "plugins" / "wire-probe-python")
        with pytest.raises(RpcTimeout) as timeout:
            await plugin.perform_action("sleep", {"ms": 5000})
    finally:
        await sandbox.close()

    assert timeout.value.message == 'RPC call "performAction" timed out after 200ms'


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
    project = write_project(tmp_path, PLUGIN_TEST.format(plugin=str(plugin), backend=backend))
    result = run_pytest(project, "-q", "--sandbox-backend", backend)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
