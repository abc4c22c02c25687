"""The wakeup queue and run read models (core/read_models/runs.py)."""

from __future__ import annotations

import json

from core.host_services.params import CreateIssue, RequestWakeup
from core.read_models.runs import (
    QueueFilter,
    list_runs,
    list_wakeups,
    runs_by_id,
    wakeups_by_id,
)
from db import tables
from tests.fixtures.orchestration import PLUGIN_ID, World


async def _queued(world: World, count: int) -> list[str]:
    """Issues assigned to the world's agent, each woken by the plugin (one queued run each)."""
    issue_ids = []
    for index in range(count):
        issue = await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id,
                title=f"Work {index}",
                status="todo",
                assignee_agent_id=world.agent_id,
            )
        )
        result = await world.services.issues.request_wakeup(
            RequestWakeup(issue_id=issue.id, company_id=world.company_id, reason="go")
        )
        assert result.queued
        issue_ids.append(issue.id)
    return issue_ids


async def test_a_plugin_s_wakeups_and_the_runs_they_queued(world: World) -> None:
    issue_ids = await _queued(world, 3)
    # A run nobody's wakeup asked for: not the plugin's.
    await world.run(context_snapshot={"issueId": issue_ids[0]})

    wakeups = (await list_wakeups(world.db, QueueFilter(plugin_id=PLUGIN_ID))).items
    runs = (await list_runs(world.db, QueueFilter(plugin_id=PLUGIN_ID))).items
    every_run = (await list_runs(world.db, QueueFilter(company_id=world.company_id))).items

    assert [wakeup.issue_id for wakeup in wakeups] == list(reversed(issue_ids))
    assert {wakeup.status for wakeup in wakeups} == {"queued"}
    assert all(wakeup.requested_by == f"system:{PLUGIN_ID}" for wakeup in wakeups)
    assert all(wakeup.agent_name == "Engineer" for wakeup in wakeups)
    assert [run.id for run in runs] == [wakeup.run_id for wakeup in wakeups]
    assert [run.issue_id for run in runs] == list(reversed(issue_ids))
    # The issue's identifier comes along (the id is text inside JSON on both backends).
    identifiers = [f"{world.prefix}-{number}" for number in (3, 2, 1)]
    assert [wakeup.identifier for wakeup in wakeups] == identifiers
    assert [run.identifier for run in runs] == identifiers
    assert {run.status for run in runs} == {"queued"}
    assert all(run.wakeup_request_id for run in runs)
    assert len(every_run) == 4
    json.dumps([row.to_json() for row in (*wakeups, *runs)])


async def test_pages_and_lookups_by_id(world: World) -> None:
    await _queued(world, 5)
    first = await list_wakeups(world.db, limit=2)
    second = await list_wakeups(world.db, before=first.next, limit=2)
    third = await list_wakeups(world.db, before=second.next, limit=2)
    ids = [row.id for page in (first, second, third) for row in page.items]
    assert len(ids) == len(set(ids)) == 5
    assert third.next is None

    runs = (await list_runs(world.db, limit=100)).items
    assert [run.id for run in await runs_by_id(world.db, [run.id for run in runs])] == [
        run.id for run in runs
    ]
    wanted = [ids[1], ids[3], "00000000-0000-4000-8000-000000000000"]
    assert [row.id for row in await wakeups_by_id(world.db, wanted)] == [ids[1], ids[3]]
    assert await runs_by_id(world.db, []) == []


async def test_filters_agree_with_rows_already_read(world: World) -> None:
    await _queued(world, 2)
    run_id = await world.run(status="failed", error="boom")
    every_wakeup = (await list_wakeups(world.db)).items
    every_run = (await list_runs(world.db)).items
    for queue_filter in (
        QueueFilter(),
        QueueFilter(company_id=world.company_id),
        QueueFilter(plugin_id=PLUGIN_ID),
        QueueFilter(agent_id=world.agent_id),
        QueueFilter(status="failed"),
        QueueFilter(status="queued", plugin_id=PLUGIN_ID),
    ):
        read = [row.id for row in (await list_runs(world.db, queue_filter)).items]
        assert read == [row.id for row in every_run if queue_filter.matches(row)], queue_filter
        read = [row.id for row in (await list_wakeups(world.db, queue_filter)).items]
        assert read == [row.id for row in every_wakeup if queue_filter.matches(row)], queue_filter
    (failed,) = await runs_by_id(world.db, [run_id])
    assert (failed.status, failed.error, failed.requested_by) == ("failed", "boom", None)


async def test_a_queued_run_stamps_its_request_s_updated_at(world: World) -> None:
    """Every writer that changes a wakeup bumps ``updated_at``: viewers follow changes by it."""
    await _queued(world, 1)
    (request,) = await world.rows(tables.agent_wakeup_requests)
    assert request["run_id"] is not None
    assert request["updated_at"] >= request["created_at"]
    (run,) = await world.rows(tables.heartbeat_runs)
    assert request["updated_at"] == run["created_at"]
