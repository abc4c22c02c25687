"""Every activity row names the user answerable for the change (2026.916.1), and so does the
payload of the event it announces: the acting user, else the user who created the issue."""

from __future__ import annotations

from core.activity import record_activity
from core.event_bus import PluginEvent
from core.host_services.params import CreateIssue, UpdateIssue
from core.unit_of_work import write
from db import tables
from tests.fixtures.orchestration import World


async def test_plugin_changes_answer_to_the_issues_creator(world: World) -> None:
    events: list[PluginEvent] = []
    world.bus.subscribe("issue.*", events.append)
    issue = await world.services.issues.create(
        CreateIssue(company_id=world.company_id, title="Asked by Ada", actor_user_id="user-ada")
    )
    await world.services.issues.update(
        UpdateIssue(issue_id=issue.id, company_id=world.company_id, patch={"priority": "high"})
    )
    rows = await world.rows(tables.activity_log, tables.activity_log.c.entity_id == issue.id)
    assert sorted(row["action"] for row in rows) == ["issue.created", "issue.updated"]
    assert {row["responsible_user_id"] for row in rows} == {"user-ada"}
    assert [event.payload["responsibleUserId"] for event in events] == ["user-ada", "user-ada"]


async def test_no_user_to_answer_is_null_and_a_user_actor_answers_itself(world: World) -> None:
    events: list[PluginEvent] = []
    world.bus.subscribe("issue.*", events.append)
    world.bus.subscribe("goal.*", events.append)
    issue = await world.services.issues.create(
        CreateIssue(company_id=world.company_id, title="Nobody asked")
    )
    async with write(world.db, world.bus) as unit:
        await record_activity(
            unit,
            company_id=world.company_id,
            actor_type="user",
            actor_id="user-bob",
            action="goal.created",
            entity_type="goal",
            entity_id="g1",
        )
    by_action = {
        row["action"]: row["responsible_user_id"] for row in await world.rows(tables.activity_log)
    }
    assert by_action == {"issue.created": None, "goal.created": "user-bob"}
    payloads = {event.event_type: event.payload for event in events}
    assert payloads["issue.created"]["responsibleUserId"] is None
    assert payloads["goal.created"]["responsibleUserId"] == "user-bob"
    assert issue.created_by_user_id is None
