"""``sandbox show`` (sandbox/show_commands.py) after a real plugin run, on both backends.

The orchestration smoke plugin's ``initialize-smoke`` action runs through a real worker: it
creates a blocker and a child under a root issue, relates them, writes a document on the child,
wakes the engineer (a wakeup and its queued run) and logs activity. A comment and a cost event
on the child are added through the core functions. The commands run with click's CliRunner.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner, Result

from core.agents import create_agent
from core.comments import create_comment
from core.companies import create_company
from core.costs import record_cost_event
from core.issues import IssueCreate, create_issue, require_issue
from core.unit_of_work import write
from db import Database
from sandbox.cli import main
from sandbox.plugin_host import PluginHost
from tests.fixtures.workers import PYTHON_SMOKE

SMOKE_KEY = "paperclipai.plugin-orchestration-smoke-example"


@dataclass(frozen=True)
class SmokeWorld:
    url: str
    company_id: str
    agent_id: str
    plugin_id: str
    result: dict[str, Any]

    @property
    def root_id(self) -> str:
        return str(self.result["rootIssueId"])

    @property
    def child_id(self) -> str:
        return str(self.result["childIssueId"])

    @property
    def blocker_id(self) -> str:
        return str(self.result["blockerIssueId"])


async def smoke_world(db: Database) -> SmokeWorld:
    company = await create_company(db, name="Acme", issue_prefix="ACM")
    agent = await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
    async with write(db, None) as unit:
        root, _ = await create_issue(
            unit,
            company_id=company.id,
            values=IssueCreate(title="Ship it", status="todo", assignee_agent_id=agent.id),
            origin_kind="manual",
        )
    async with PluginHost(db) as host:
        plugin = await host.install(PYTHON_SMOKE)
        result = await host.perform_action(
            plugin.id, "initialize-smoke", {"issueId": root.id}, company_id=company.id
        )
    async with write(db, None) as unit:
        child = await require_issue(unit, company.id, result["childIssueId"])
        await create_comment(unit, child, body="Looks good", author_agent_id=agent.id)
        await record_cost_event(
            unit,
            company_id=company.id,
            agent_id=agent.id,
            provider="anthropic",
            model="claude",
            cost_cents=125,
            input_tokens=1000,
            output_tokens=200,
            billing_code=result["billingCode"],
            issue_id=child["id"],
        )
    return SmokeWorld(
        db.url.render_as_string(hide_password=False), company.id, agent.id, plugin.id, result
    )


async def sandbox(world: SmokeWorld, *args: str) -> Result:
    """``sandbox ARGS --db URL``, in a thread (the command runs its own event loop)."""
    return await asyncio.to_thread(
        CliRunner().invoke, main, [*args, "--db", world.url], catch_exceptions=False
    )


async def ok(world: SmokeWorld, *args: str) -> str:
    result = await sandbox(world, *args)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


async def as_json(world: SmokeWorld, *args: str) -> Any:
    return json.loads(await ok(world, *args, "--json"))


async def test_the_issue_tree_shows_children_under_parents_and_marks_blockers(
    db: Database,
) -> None:
    world = await smoke_world(db)
    text = (await ok(world, "show", "issues")).splitlines()
    assert text[0] == "Acme (ACM): 3 issues"
    assert text[1].split() == ["ISSUE", "STATUS", "ASSIGNEE", "TITLE"]
    assert text[2].split() == ["ACM-1", "todo", "Engineer", "Ship", "it"]
    assert text[3].startswith("  ACM-2  done ")
    assert text[3].endswith("Orchestration smoke blocker")
    assert text[4].startswith("  ACM-3  todo ")
    assert text[4].endswith("Orchestration smoke child  [blocked by ACM-2 (done)]")

    nodes = await as_json(world, "show", "issues", "--company", "acm")
    assert [(n["identifier"], n["depth"], n["parentId"]) for n in nodes] == [
        ("ACM-1", 0, None),
        ("ACM-2", 1, world.root_id),
        ("ACM-3", 1, world.root_id),
    ]
    child = nodes[2]
    assert child["id"] == world.child_id
    assert child["assigneeAgentName"] == "Engineer"
    assert [b["identifier"] for b in child["blockedBy"]] == ["ACM-2"]
    assert [b["identifier"] for b in nodes[1]["blocks"]] == ["ACM-3"]
    assert child["originKind"].startswith(f"plugin:{SMOKE_KEY}")

    mine = await as_json(world, "show", "issues", "--plugin", SMOKE_KEY, "--status", "todo")
    assert [(n["identifier"], n["depth"]) for n in mine] == [("ACM-3", 0)]


async def test_one_issue_with_relations_documents_comments_wakeups_runs_activity(
    db: Database,
) -> None:
    world = await smoke_world(db)
    shown = await as_json(world, "show", "issue", "acm-3")
    assert shown["issue"]["id"] == world.child_id
    assert shown["assigneeAgentName"] == "Engineer"
    assert shown["parent"]["identifier"] == "ACM-1"
    assert shown["children"] == []
    assert [b["id"] for b in shown["blockedBy"]] == [world.blocker_id]
    [document] = shown["documents"]
    assert document["key"] == "orchestration-smoke"
    assert [r["revisionNumber"] for r in document["revisions"]] == [1]
    assert document["revisions"][0]["body"] == document["body"]
    assert [c["body"] for c in shown["comments"]] == ["Looks good"]
    [wakeup] = shown["wakeups"]
    assert (wakeup["issueId"], wakeup["requestedBy"]) == (
        world.child_id,
        f"system:{world.plugin_id}",
    )
    [run] = shown["runs"]
    assert (run["id"], run["status"]) == (wakeup["runId"], "queued")
    actions = [row["action"] for row in shown["activity"]]
    assert "issue.created" in actions and "issue.document_upserted" in actions
    assert {row["entityId"] for row in shown["activity"]} == {world.child_id}

    text = await ok(world, "show", "issue", world.child_id)
    lines = text.splitlines()
    assert lines[0] == "ACM-3  Orchestration smoke child"
    assert "  parent        ACM-1 Ship it (todo)" in lines
    assert "  blocked by    ACM-2 Orchestration smoke blocker (done)" in lines
    assert f"  assignee      Engineer ({world.agent_id})" in lines
    assert "Documents (1):" in lines and "Comments (1):" in lines
    assert any(line.startswith("    r1  ") for line in lines)
    [wakeup_line] = [line for line in lines if "plugin:orchestration_smoke" in line]
    assert wakeup_line.endswith(f"by {SMOKE_KEY}")  # the plugin named by its key


async def test_activity_wakeups_runs_and_costs_with_filters(db: Database) -> None:
    world = await smoke_world(db)
    rows = await as_json(world, "show", "activity", "--plugin", SMOKE_KEY)
    assert rows and {row["pluginKey"] for row in rows} == {SMOKE_KEY}
    times = [row["createdAt"] for row in rows]
    assert times == sorted(times)  # oldest first
    newest = await as_json(world, "show", "activity", "--limit", "2")
    everything = await as_json(world, "show", "activity")
    assert newest == everything[-2:]
    about_blocker = await as_json(world, "show", "activity", "--issue", "ACM-2")
    assert {row["entityId"] for row in about_blocker} == {world.blocker_id}
    created = await as_json(world, "show", "activity", "--action", "issue.created")
    assert {row["identifier"] for row in created} == {"ACM-2", "ACM-3"}
    future = await as_json(world, "show", "activity", "--since", "2999-01-01T00:00:00Z")
    assert future == []
    text = (await ok(world, "show", "activity", "--action", "issue.created")).splitlines()
    assert text[-1].split()[2:] == ["issue.created", "ACM-3", "by", SMOKE_KEY]

    [wakeup] = await as_json(world, "show", "wakeups", "--plugin", SMOKE_KEY, "--company", "ACM")
    assert wakeup["identifier"] == "ACM-3"
    assert await as_json(world, "show", "wakeups", "--issue", "ACM-1") == []
    assert await as_json(world, "show", "wakeups", "--status", "finished") == []
    [run] = await as_json(world, "show", "runs", "--plugin", SMOKE_KEY)
    assert (run["id"], run["identifier"], run["agentName"]) == (
        wakeup["runId"],
        "ACM-3",
        "Engineer",
    )
    assert [r["id"] for r in await as_json(world, "show", "runs", "--issue", "ACM-3")] == [
        run["id"]
    ]
    assert (await ok(world, "show", "runs", "--status", "succeeded")).strip() == "No runs."

    [rollup] = await as_json(world, "show", "costs")
    assert rollup["companyId"] == world.company_id
    [group] = rollup["groups"]
    assert (group["key"], group["costCents"], group["events"]) == (
        world.result["billingCode"],
        125,
        1,
    )
    assert rollup["total"]["inputTokens"] == 1000
    [by_plugin] = await as_json(world, "show", "costs", "--by", "plugin", "--company", "ACM")
    assert [(g["key"], g["costCents"]) for g in by_plugin["groups"]] == [(SMOKE_KEY, 125)]
    text = (await ok(world, "show", "costs", "--by", "issue_subtree")).splitlines()
    assert text[1].split() == ["GROUP", "COST", "EVENTS", "INPUT", "TOKENS", "OUTPUT", "TOKENS"]
    assert text[2].split() == ["ACM-1", "Ship", "it", "$1.25", "1", "1,000", "200"]
    assert text[3].split() == ["total", "$1.25", "1", "1,000", "200"]


async def test_mistakes_are_one_line_errors(db: Database) -> None:
    world = await smoke_world(db)
    for args, message in (
        (("show", "issue", "ACM-99"), "Error: Issue not found: ACM-99"),
        (("show", "issues", "--company", "NOPE"), "Error: Company not found: NOPE"),
        (("show", "runs", "--plugin", "no.such"), "Error: Plugin not found: no.such"),
        (("show", "wakeups", "--issue", "not-an-issue"), "Error: Issue not found: not-an-issue"),
    ):
        result = await sandbox(world, *args)
        assert (result.exit_code, result.stderr.strip()) == (1, message)
    result = await sandbox(world, "show", "activity", "--since", "yesterday")
    assert result.exit_code == 2
    assert "'yesterday' is not an ISO-8601 time" in result.stderr
