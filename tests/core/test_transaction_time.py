"""One host call, one time: every row a call writes carries the same timestamp on both
backends, as PostgreSQL's ``now()`` is fixed for a transaction."""

from __future__ import annotations

from core.host_services.params import CreateIssue, RequestWakeup
from db import tables
from tests.fixtures.orchestration import World


async def test_an_issue_its_blocker_relation_and_activity_share_one_time(world: World) -> None:
    blocker = await world.issue(title="Blocker")
    issue = await world.services.issues.create(
        CreateIssue(
            company_id=world.company_id,
            title="Blocked",
            status="in_progress",
            assignee_agent_id=world.agent_id,
            blocked_by_issue_ids=[blocker],
            actor_agent_id=world.agent_id,
        )
    )

    [row] = await world.rows(tables.issues, tables.issues.c.id == issue.id)
    [relation] = await world.rows(
        tables.issue_relations, tables.issue_relations.c.related_issue_id == issue.id
    )
    [activity] = await world.rows(tables.activity_log, tables.activity_log.c.entity_id == issue.id)
    stamps = {
        row["created_at"],
        row["updated_at"],
        row["started_at"],
        relation["created_at"],
        relation["updated_at"],
        activity["created_at"],
    }
    assert stamps == {issue.created_at}


async def test_a_wakeup_request_its_run_and_activity_share_one_time(world: World) -> None:
    issue_id = await world.issue(title="Wake me", assignee_agent_id=world.agent_id)
    result = await world.services.issues.request_wakeup(
        RequestWakeup(issue_id=issue_id, company_id=world.company_id, reason="go")
    )

    assert result.queued
    [request] = await world.rows(tables.agent_wakeup_requests)
    [run] = await world.rows(tables.heartbeat_runs)
    activities = await world.rows(tables.activity_log, tables.activity_log.c.entity_id == issue_id)
    stamps = {request["created_at"], run["created_at"], run["updated_at"]}
    stamps |= {activity["created_at"] for activity in activities}
    assert len(activities) >= 1
    assert len(stamps) == 1


async def test_each_call_has_its_own_time(world: World) -> None:
    first, second = [
        await world.services.issues.create(CreateIssue(company_id=world.company_id, title=title))
        for title in ("First", "Second")
    ]
    assert first.created_at < second.created_at
