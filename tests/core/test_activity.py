"""Plugin-attributed activity: one row per mutation, the standard keys, redaction, events."""

from __future__ import annotations

import pytest

from core.errors import NotFound, Unprocessable
from core.event_bus import PluginEvent
from core.host_services.params import (
    CreateIssue,
    EditBlockers,
    LogActivity,
    RequestWakeup,
    UpdateIssue,
)
from db import tables
from tests.fixtures.orchestration import PLUGIN_ID, PLUGIN_KEY, World, make_world

STANDARD_KEYS = {
    "sourcePluginId",
    "sourcePluginKey",
    "initiatingActorType",
    "initiatingActorId",
    "initiatingAgentId",
    "initiatingUserId",
    "initiatingRunId",
    "pluginId",
    "pluginKey",
}


async def test_every_mutation_is_attributed_to_the_plugin_and_actor(world: World) -> None:
    run_id = await world.run()
    actor = {"actor_agent_id": world.agent_id, "actor_run_id": run_id}
    issues = world.services.issues
    company = world.company_id
    blocker = await issues.create(
        CreateIssue(company_id=company, title="Blocker", status="done", **actor)
    )
    issue = await issues.create(
        CreateIssue(
            company_id=company,
            title="Work",
            status="todo",
            assignee_agent_id=world.agent_id,
            blocked_by_issue_ids=[blocker.id],
            **actor,
        )
    )
    await issues.update(
        UpdateIssue(issue_id=issue.id, company_id=company, patch={"priority": "high"}, **actor)
    )
    await issues.relations.add_blockers(
        EditBlockers(issue_id=issue.id, company_id=company, blocker_issue_ids=[blocker.id], **actor)
    )
    await issues.request_wakeup(RequestWakeup(issue_id=issue.id, company_id=company, **actor))

    rows = await world.rows(tables.activity_log)
    assert [row["action"] for row in sorted(rows, key=lambda r: r["created_at"])] == [
        "issue.created",
        "issue.created",
        "issue.updated",
        "issue.relations.updated",
        "issue.assignment_wakeup_requested",
    ]
    for row in rows:
        assert (row["actor_type"], row["actor_id"]) == ("plugin", PLUGIN_ID)
        assert (str(row["agent_id"]), str(row["run_id"])) == (world.agent_id, run_id)
        assert set(row["details"]) >= STANDARD_KEYS
        assert row["details"]["sourcePluginKey"] == PLUGIN_KEY
        assert row["details"]["initiatingActorType"] == "agent"
        assert row["details"]["initiatingRunId"] == run_id
    created = next(r for r in rows if r["entity_id"] == issue.id and r["action"] == "issue.created")
    assert created["details"]["blockedByIssueIds"] == [blocker.id]
    assert created["details"]["originKind"] == "plugin:paperclip.missions"


async def test_user_actor_and_no_actor(world: World) -> None:
    await world.services.issues.create(
        CreateIssue(company_id=world.company_id, title="By a user", actor_user_id="board-user")
    )
    await world.services.issues.create(CreateIssue(company_id=world.company_id, title="By nobody"))
    rows = {row["details"]["title"]: row for row in await world.rows(tables.activity_log)}
    user = rows["By a user"]["details"]
    assert (user["initiatingActorType"], user["initiatingActorId"], user["initiatingUserId"]) == (
        "user",
        "board-user",
        "board-user",
    )
    nobody = rows["By nobody"]["details"]
    assert nobody["initiatingActorType"] is None and nobody["initiatingActorId"] is None


@pytest.mark.parametrize("case", ["foreign agent", "foreign run", "run of another agent", "bad id"])
async def test_named_actors_are_checked_before_anything_is_written(world: World, case: str) -> None:
    other = await make_world(world.db, name="Other")
    own_run = await world.run()
    second_agent = await world.insert(tables.agents, company_id=world.company_id, name="Second")
    fields = {
        "foreign agent": {"actor_agent_id": other.agent_id},
        "foreign run": {"actor_run_id": await other.run()},
        "run of another agent": {"actor_agent_id": second_agent, "actor_run_id": own_run},
        "bad id": {"actor_run_id": "run-1"},
    }[case]
    error = (
        Unprocessable
        if case == "run of another agent"
        else (NotFound if case != "bad id" else Exception)
    )
    with pytest.raises(error):
        await world.services.issues.create(
            CreateIssue(company_id=world.company_id, title="t", **fields)
        )
    assert await world.rows(tables.issues) == []
    assert await world.rows(tables.activity_log) == []


async def test_details_are_redacted_everywhere(world: World) -> None:
    events: list[PluginEvent] = []
    world.bus.subscribe("issue.created", events.append)
    await world.services.activity.log(
        LogActivity(
            company_id=world.company_id,
            message="plugin.synced",
            metadata={
                "apiKey": "sk-1",
                "nested": {"password": "p", "ok": 1},
                "token": "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
                "ref": {"type": "secret_ref", "secretId": "s1"},
            },
        )
    )
    [row] = await world.rows(tables.activity_log)
    assert row["details"]["apiKey"] == "***REDACTED***"
    assert row["details"]["nested"] == {"password": "***REDACTED***", "ok": 1}
    assert row["details"]["token"] == "***REDACTED***"
    assert row["details"]["ref"] == {"type": "secret_ref", "secretId": "s1"}


async def test_activity_log_defaults_and_cannot_forge_domain_events(world: World) -> None:
    events: list[PluginEvent] = []
    world.bus.subscribe("issue.*", events.append)
    await world.services.activity.log(
        LogActivity(company_id=world.company_id, message="issue.created")
    )
    [row] = await world.rows(tables.activity_log)
    assert (row["entity_type"], row["entity_id"], row["agent_id"]) == ("plugin", PLUGIN_ID, None)
    assert row["action"] == "issue.created"
    await world.bus.drain()
    assert events == []


async def test_domain_events_carry_redacted_details_and_actor(world: World) -> None:
    events: list[PluginEvent] = []
    world.bus.subscribe(
        "issue.created", events.append, event_filter={"companyId": world.company_id}
    )
    other = await make_world(world.db, name="Other")
    other.bus = world.bus
    issue = await world.services.issues.create(
        CreateIssue(company_id=world.company_id, title="Evented", actor_agent_id=world.agent_id)
    )
    await world.bus.drain()
    [event] = events
    wire = event.to_wire()
    assert (wire["eventType"], wire["entityType"], wire["entityId"]) == (
        "issue.created",
        "issue",
        issue.id,
    )
    assert (wire["actorType"], wire["actorId"], wire["companyId"]) == (
        "plugin",
        PLUGIN_ID,
        world.company_id,
    )
    assert wire["payload"]["agentId"] == world.agent_id and wire["payload"]["runId"] is None
    assert wire["payload"]["title"] == "Evented"


async def test_failed_mutations_publish_nothing(world: World) -> None:
    events: list[object] = []
    world.bus.subscribe("issue.*", events.append)
    world.bus.listen(events.append)
    with pytest.raises(Unprocessable):
        await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id, title="t", blocked_by_issue_ids=["not-an-issue"]
            )
        )
    await world.bus.drain()
    assert events == []
    assert await world.rows(tables.issues) == []
