"""Executing heartbeat runs: claim, finish, paused agents, and recovery of a dead host's runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.agents import create_agent
from core.event_bus import PluginEvent
from core.heartbeat_runs import (
    RunCost,
    RunOutcome,
    claim_queued_runs,
    finish_run,
    recover_lost_runs,
)
from core.host_services.params import GetOrchestration, RequestWakeup
from core.hosts import register_host
from core.read_models.costs import cost_rollup
from db import Database, create_db, tables
from tests.fixtures.orchestration import World

DEAD_AFTER = timedelta(seconds=30)
COST = RunCost(
    provider="anthropic",
    model="claude-sonnet-4-5",
    cost_cents=42,
    input_tokens=1200,
    cached_input_tokens=300,
    output_tokens=450,
    billing_type="metered_api",
)


def _now() -> datetime:
    return datetime.now(UTC)


async def _host(db: Database, name: str = "alpha", now: datetime | None = None) -> str:
    host = await register_host(db, hostname=name, pid=1000, url="http://h:1", now=now or _now())
    return host.id


async def _wake(world: World, **issue_values: object) -> tuple[str, str]:
    """A plugin-style wakeup of a new issue's assignee; returns (issue id, run id)."""
    issue_values.setdefault("assignee_agent_id", world.agent_id)
    issue_id = await world.issue(title="Work", **issue_values)
    result = await world.services.issues.request_wakeup(
        RequestWakeup(issue_id=issue_id, company_id=world.company_id)
    )
    assert result.queued and result.run_id
    return issue_id, result.run_id


async def _one(world: World, table: sa.Table, row_id: str) -> dict:
    [row] = await world.rows(table, table.c.id == row_id)
    return row


async def test_a_plugin_wakeup_becomes_a_succeeded_run_with_its_cost(world: World) -> None:
    issue_id, run_id = await _wake(world, billing_code="mission-7")
    events: list[PluginEvent] = []
    world.bus.subscribe("agent.run.*", events.append)
    host = await _host(world.db)
    started = _now()

    batch = await claim_queued_runs(world.db, host_id=host, limit=5, now=started, bus=world.bus)

    [claimed] = batch.claimed
    assert (claimed.id, claimed.issue_id, claimed.agent_name) == (run_id, issue_id, "Engineer")
    run = await _one(world, tables.heartbeat_runs, run_id)
    assert (run["status"], run["started_at"], run["process_pid"]) == ("running", started, 1000)
    request = await _one(world, tables.agent_wakeup_requests, str(run["wakeup_request_id"]))
    assert (request["status"], request["claimed_at"]) == ("claimed", started)
    issue = await _one(world, tables.issues, issue_id)
    assert str(issue["execution_run_id"]) == run_id
    assert issue["execution_agent_name_key"] == "engineer"
    assert [str(r["host_id"]) for r in await world.rows(tables.sandbox_run_leases)] == [host]
    agent = await _one(world, tables.agents, world.agent_id)
    assert agent["status"] == "running"

    finished_at = started + timedelta(seconds=3)
    finished = await finish_run(
        world.db,
        run_id,
        host_id=host,
        outcome=RunOutcome(
            status="succeeded",
            exit_code=0,
            usage={"inputTokens": 1200, "outputTokens": 450},
            result={"summary": "done"},
            cost=COST,
        ),
        now=finished_at,
        bus=world.bus,
    )
    await world.bus.drain()

    assert finished is not None and finished.wakeup_status == "completed"
    run = await _one(world, tables.heartbeat_runs, run_id)
    assert (run["status"], run["finished_at"], run["error"]) == ("succeeded", finished_at, None)
    assert run["usage_json"] == {"inputTokens": 1200, "outputTokens": 450}
    assert run["result_json"] == {"summary": "done"}
    request = await _one(world, tables.agent_wakeup_requests, str(run["wakeup_request_id"]))
    assert (request["status"], request["finished_at"]) == ("completed", finished_at)
    issue = await _one(world, tables.issues, issue_id)
    assert (issue["execution_run_id"], issue["execution_locked_at"]) == (None, None)
    assert await world.rows(tables.sandbox_run_leases) == []
    assert (await _one(world, tables.agents, world.agent_id))["status"] == "idle"
    [cost] = await world.rows(tables.cost_events)
    assert {k: cost[k] for k in ("billing_code", "model", "provider", "biller")} == {
        "billing_code": "mission-7",
        "model": "claude-sonnet-4-5",
        "provider": "anthropic",
        "biller": "anthropic",
    }
    assert (cost["input_tokens"], cost["cached_input_tokens"], cost["output_tokens"]) == (
        1200,
        300,
        450,
    )
    assert (cost["cost_cents"], cost["billing_type"]) == (42, "metered_api")
    assert (str(cost["heartbeat_run_id"]), str(cost["issue_id"])) == (run_id, issue_id)
    assert (str(cost["agent_id"]), str(cost["company_id"])) == (world.agent_id, world.company_id)
    assert [(e.event_type, e.payload["status"]) for e in events] == [
        ("agent.run.started", "running"),
        ("agent.run.finished", "succeeded"),
    ]
    assert events[1].payload["issueId"] == issue_id
    assert (events[1].actor_type, events[1].entity_type) == ("agent", "heartbeat_run")

    summary = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=issue_id, company_id=world.company_id)
    )
    [summary_run] = summary.runs
    assert (summary_run.id, summary_run.status) == (run_id, "succeeded")
    assert (summary.costs.cost_cents, summary.costs.billing_code) == (42, "mission-7")
    assert (summary.costs.input_tokens, summary.costs.output_tokens) == (1200, 450)
    rollup = await cost_rollup(
        world.db, company_id=world.company_id, window="24h", now=finished_at + timedelta(minutes=1)
    )
    [group] = rollup.groups
    assert (group.key, group.totals.cost_cents, group.totals.events) == ("mission-7", 42, 1)


async def test_the_wakeup_of_a_timed_out_run_is_recorded_as_failed(world: World) -> None:
    _, run_id = await _wake(world)
    host = await _host(world.db)
    await claim_queued_runs(world.db, host_id=host, limit=1, now=_now())

    finished = await finish_run(
        world.db,
        run_id,
        host_id=host,
        outcome=RunOutcome(status="timed_out", error="Timed out after 600s", error_code="timeout"),
        now=_now(),
    )

    assert finished is not None and finished.cost_event_id is None
    run = await _one(world, tables.heartbeat_runs, run_id)
    assert (run["status"], run["error_code"]) == ("timed_out", "timeout")
    request = await _one(world, tables.agent_wakeup_requests, str(run["wakeup_request_id"]))
    assert (request["status"], request["error"]) == ("failed", "Timed out after 600s")
    assert (await _one(world, tables.agents, world.agent_id))["status"] == "error"
    [activity] = await world.rows(
        tables.activity_log, tables.activity_log.c.action.like("agent.run.f%")
    )
    assert activity["action"] == "agent.run.failed"


async def test_runs_of_a_paused_agent_stay_queued(world: World) -> None:
    _, run_id = await _wake(world)
    host = await _host(world.db)
    async with world.db.transaction() as session:
        await session.execute(
            sa.update(tables.agents)
            .where(tables.agents.c.id == world.agent_id)
            .values(status="paused")
        )

    batch = await claim_queued_runs(world.db, host_id=host, limit=10, now=_now())

    assert (batch.claimed, batch.cancelled) == ([], [])
    assert (await _one(world, tables.heartbeat_runs, run_id))["status"] == "queued"
    async with world.db.transaction() as session:
        await session.execute(
            sa.update(tables.agents)
            .where(tables.agents.c.id == world.agent_id)
            .values(status="idle")
        )
    batch = await claim_queued_runs(world.db, host_id=host, limit=10, now=_now())
    assert [run.id for run in batch.claimed] == [run_id]


async def test_runs_of_a_terminated_agent_are_cancelled(world: World) -> None:
    _, run_id = await _wake(world)
    host = await _host(world.db)
    async with world.db.transaction() as session:
        await session.execute(
            sa.update(tables.agents)
            .where(tables.agents.c.id == world.agent_id)
            .values(status="terminated")
        )

    batch = await claim_queued_runs(world.db, host_id=host, limit=10, now=_now())

    assert (batch.claimed, batch.cancelled) == ([], [run_id])
    run = await _one(world, tables.heartbeat_runs, run_id)
    assert (run["status"], run["error"]) == (
        "cancelled",
        "Cancelled because the agent is not invokable",
    )
    request = await _one(world, tables.agent_wakeup_requests, str(run["wakeup_request_id"]))
    assert request["status"] == "cancelled"
    assert await world.rows(tables.sandbox_run_leases) == []


async def test_a_stopped_host_claims_nothing(world: World) -> None:
    from core.hosts import stop_host

    await _wake(world)
    host = await _host(world.db)
    await stop_host(world.db, host, now=_now())

    assert (await claim_queued_runs(world.db, host_id=host, limit=10, now=_now())).claimed == []


async def test_finish_promotes_the_issues_deferred_wakeup(world: World) -> None:
    other = await create_agent(world.db, company_id=world.company_id, name="Reviewer")
    issue_id, run_id = await _wake(world)
    host = await _host(world.db)
    await claim_queued_runs(world.db, host_id=host, limit=1, now=_now())
    async with world.db.transaction() as session:
        await session.execute(
            sa.update(tables.issues)
            .where(tables.issues.c.id == issue_id)
            .values(assignee_agent_id=other.id)
        )
    deferred = await world.services.issues.request_wakeup(
        RequestWakeup(issue_id=issue_id, company_id=world.company_id)
    )
    assert not deferred.queued

    finished = await finish_run(
        world.db, run_id, host_id=host, outcome=RunOutcome(status="succeeded"), now=_now()
    )

    assert finished is not None and finished.promoted_run_id is not None
    promoted = await _one(world, tables.heartbeat_runs, finished.promoted_run_id)
    assert (promoted["status"], str(promoted["agent_id"])) == ("queued", other.id)
    assert promoted["context_snapshot"]["issueId"] == issue_id
    request = await _one(world, tables.agent_wakeup_requests, str(promoted["wakeup_request_id"]))
    assert (request["status"], str(request["run_id"])) == ("queued", finished.promoted_run_id)
    issue = await _one(world, tables.issues, issue_id)
    assert str(issue["execution_run_id"]) == finished.promoted_run_id


async def test_success_leaves_the_profiles_comment_and_status(world: World) -> None:
    issue_id, run_id = await _wake(world, status="in_progress")
    host = await _host(world.db)
    await claim_queued_runs(world.db, host_id=host, limit=1, now=_now())

    finished = await finish_run(
        world.db,
        run_id,
        host_id=host,
        outcome=RunOutcome(status="succeeded", comment="All done.", issue_status="in_review"),
        now=_now(),
    )

    assert finished is not None and finished.comment_id
    [comment] = await world.rows(tables.issue_comments)
    assert (comment["body"], str(comment["author_agent_id"])) == ("All done.", world.agent_id)
    assert str(comment["created_by_run_id"]) == run_id
    assert (await _one(world, tables.issues, issue_id))["status"] == "in_review"


class TestRecovery:
    async def test_a_dead_hosts_run_fails_with_process_lost_and_is_retried_once(
        self, world: World
    ) -> None:
        t0 = _now()
        issue_id, run_id = await _wake(world)
        dead = await _host(world.db, "dead", now=t0)
        live = await _host(world.db, "live", now=t0)
        await claim_queued_runs(world.db, host_id=dead, limit=1, now=t0)

        early = await recover_lost_runs(
            world.db, host_id=live, now=t0 + DEAD_AFTER, dead_after=DEAD_AFTER
        )
        assert early == []

        later = t0 + DEAD_AFTER + timedelta(seconds=1)
        [recovered] = await recover_lost_runs(
            world.db, host_id=live, now=later, dead_after=DEAD_AFTER
        )

        error = "Process lost -- child pid 1000 is no longer running; retrying once"
        assert (recovered.run_id, recovered.host_id, recovered.error) == (run_id, dead, error)
        run = await _one(world, tables.heartbeat_runs, run_id)
        assert (run["status"], run["error_code"], run["error"]) == ("failed", "process_lost", error)
        assert run["finished_at"] == later
        request = await _one(world, tables.agent_wakeup_requests, str(run["wakeup_request_id"]))
        assert (request["status"], request["error"]) == ("failed", error)
        retry = await _one(world, tables.heartbeat_runs, recovered.retry_run_id)
        assert (retry["status"], str(retry["retry_of_run_id"])) == ("queued", run_id)
        assert retry["process_loss_retry_count"] == 1
        assert (retry["invocation_source"], retry["trigger_detail"]) == ("automation", "system")
        assert retry["context_snapshot"]["wakeReason"] == "process_lost_retry"
        assert retry["context_snapshot"]["issueId"] == issue_id
        retry_request = await _one(
            world, tables.agent_wakeup_requests, str(retry["wakeup_request_id"])
        )
        assert (retry_request["reason"], retry_request["status"]) == (
            "process_lost_retry",
            "queued",
        )
        assert str(retry_request["run_id"]) == recovered.retry_run_id
        issue = await _one(world, tables.issues, issue_id)
        assert str(issue["execution_run_id"]) == recovered.retry_run_id
        assert await world.rows(tables.sandbox_run_leases) == []

        # The dead host comes back late: its finish writes nothing.
        late = await finish_run(
            world.db, run_id, host_id=dead, outcome=RunOutcome(status="succeeded"), now=later
        )
        assert late is None
        assert (await _one(world, tables.heartbeat_runs, run_id))["status"] == "failed"

        # The retry is lost too: no second retry, and the issue is released.
        [claimed] = (await claim_queued_runs(world.db, host_id=dead, limit=5, now=later)).claimed
        assert claimed.id == recovered.retry_run_id
        [again] = await recover_lost_runs(
            world.db, host_id=live, now=later + 2 * DEAD_AFTER, dead_after=DEAD_AFTER
        )
        assert again.retry_run_id is None
        assert again.error == "Process lost -- child pid 1000 is no longer running"
        issue = await _one(world, tables.issues, issue_id)
        assert issue["execution_run_id"] is None

    async def test_a_stopped_hosts_leftover_runs_are_recovered_at_once(self, world: World) -> None:
        from core.hosts import stop_host

        t0 = _now()
        _, run_id = await _wake(world)
        gone = await _host(world.db, "gone", now=t0)
        live = await _host(world.db, "live", now=t0)
        await claim_queued_runs(world.db, host_id=gone, limit=1, now=t0)
        await stop_host(world.db, gone, now=t0)

        [recovered] = await recover_lost_runs(
            world.db, host_id=live, now=t0 + timedelta(seconds=1), dead_after=DEAD_AFTER
        )
        assert recovered.run_id == run_id

    async def test_two_live_hosts_recover_a_lost_run_exactly_once(self, world: World) -> None:
        t0 = _now()
        for _ in range(6):
            await _wake(world)
        dead = await _host(world.db, "dead", now=t0)
        first = await _host(world.db, "first", now=t0)
        second = await _host(world.db, "second", now=t0)
        await claim_queued_runs(world.db, host_id=dead, limit=10, now=t0)
        other_db = create_db(world.db.url)
        later = t0 + 2 * DEAD_AFTER
        try:
            results = await asyncio.gather(
                recover_lost_runs(world.db, host_id=first, now=later, dead_after=DEAD_AFTER),
                recover_lost_runs(other_db, host_id=second, now=later, dead_after=DEAD_AFTER),
            )
        finally:
            await other_db.dispose()

        recovered = [r.run_id for batch in results for r in batch]
        assert len(recovered) == len(set(recovered)) == 6
        retries = await world.rows(
            tables.heartbeat_runs, tables.heartbeat_runs.c.retry_of_run_id.is_not(None)
        )
        assert sorted(str(r["retry_of_run_id"]) for r in retries) == sorted(recovered)


async def test_finish_rejects_a_status_that_is_not_final(world: World) -> None:
    with pytest.raises(ValueError, match="succeeded, failed or timed_out"):
        await finish_run(
            world.db,
            "00000000-0000-4000-8000-000000000000",
            host_id="00000000-0000-4000-8000-000000000000",
            outcome=RunOutcome(status="cancelled"),  # type: ignore[arg-type]
            now=_now(),
        )
