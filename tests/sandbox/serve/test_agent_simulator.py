"""Simulated agents on real databases: profiles, seeded outcomes, concurrent hosts, recovery."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.event_bus import PluginEvent
from core.host_services.params import GetOrchestration, RequestWakeup
from core.hosts import get_host, register_host
from db import Database, create_db, tables
from sandbox.serve.agent_profiles import ProfileError, load_profiles, parse_profiles
from sandbox.serve.agent_simulator import AgentSimulator
from sandbox.serve.liveness import HostLiveness
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.protocol import wait_until

ROOT = Path(__file__).resolve().parents[3]


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


@pytest.fixture
async def second_db(db: Database) -> AsyncIterator[Database]:
    """Another engine on the same database, as a second ``sandbox serve`` process has."""
    other = create_db(db.url)
    yield other
    await other.dispose()


async def _host(db: Database, name: str, now: datetime | None = None) -> str:
    host = await register_host(
        db, hostname=name, pid=2000, url="http://h:1", now=now or datetime.now(UTC)
    )
    return host.id


async def _queue(world: World, count: int, **issue_values: object) -> list[str]:
    """Plugin wakeups of ``count`` new issues, oldest first; returns their run ids."""
    run_ids = []
    for index in range(count):
        issue_id = await world.issue(
            title=f"Work {index}", assignee_agent_id=world.agent_id, **issue_values
        )
        result = await world.services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
        assert result.run_id
        run_ids.append(result.run_id)
    return run_ids


def _profiles(**defaults: object):
    base: dict[str, object] = {"duration_seconds": [0, 0]}
    return parse_profiles({"defaults": {**base, **defaults}})


class TestProfiles:
    def test_the_example_file_validates_and_merges_defaults(self) -> None:
        profiles = load_profiles(ROOT / "fixtures" / "agent-profiles.toml")

        reviewer = profiles.for_agent("some-id", "Reviewer")
        assert (reviewer.model, reviewer.issue_status_on_success) == ("gpt-5-mini", "done")
        assert reviewer.failure_rate == profiles.defaults.failure_rate
        assert profiles.for_agent("some-id", "Nobody") == profiles.defaults

    def test_an_agent_id_wins_over_a_name(self) -> None:
        profiles = parse_profiles(
            {"agents": {"Engineer": {"model": "by-name"}, "id-1": {"model": "by-id"}}}
        )

        assert profiles.for_agent("id-1", "Engineer").model == "by-id"
        assert profiles.for_agent("id-2", "Engineer").model == "by-name"

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"defaults": {"failure_rate": 0.7, "timeout_rate": 0.5}}, "must not exceed 1"),
            ({"defaults": {"input_tokens": [10, 5]}}, "input_tokens must be"),
            ({"agents": {"X": {"colour": "red"}}}, "agents.X.colour"),
            ({"defaults": {"issue_status_on_success": "shipped"}}, "issue_status_on_success"),
            ({"defaults": {"billing_type": "barter"}}, "billing_type"),
        ],
    )
    def test_invalid_profiles_are_refused_with_the_field(self, data: dict, message: str) -> None:
        with pytest.raises(ProfileError, match=message):
            parse_profiles(data)

    def test_a_file_that_is_not_toml_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "profiles.toml"
        path.write_text("[defaults\n")

        with pytest.raises(ProfileError, match="not valid TOML"):
            load_profiles(path)


async def test_a_plugin_wakeup_is_run_and_billed_to_the_issues_code(world: World) -> None:
    [run_id] = await _queue(world, 1, billing_code="mission-9")
    events: list[PluginEvent] = []
    world.bus.subscribe("agent.run.*", events.append)
    host = await _host(world.db, "alpha")
    simulator = AgentSimulator(
        world.db,
        host,
        _profiles(
            input_tokens=[1_000_000, 1_000_000],
            output_tokens=[100_000, 100_000],
            cached_input_tokens=[0, 0],
            input_price_cents_per_million=300,
            output_price_cents_per_million=1500,
            comment="Done.",
        ),
        seed=1,
        bus=world.bus,
    )

    [played] = await simulator.run_once()
    await world.bus.drain()

    assert (played.run.id, played.finished.status) == (run_id, "succeeded")
    [cost] = await world.rows(tables.cost_events)
    assert (cost["billing_code"], cost["cost_cents"]) == ("mission-9", 450)
    assert (cost["input_tokens"], cost["output_tokens"], cost["model"]) == (
        1_000_000,
        100_000,
        "claude-sonnet-4-5",
    )
    assert [event.event_type for event in events] == ["agent.run.started", "agent.run.finished"]
    issue_id = played.run.issue_id
    summary = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=issue_id, company_id=world.company_id)
    )
    assert [(run.id, run.status) for run in summary.runs] == [(run_id, "succeeded")]
    assert (summary.costs.cost_cents, summary.costs.billing_code) == (450, "mission-9")
    [comment] = await world.rows(tables.issue_comments)
    assert comment["body"] == "Done."


async def test_a_paused_agents_runs_are_not_run(world: World) -> None:
    [run_id] = await _queue(world, 1)
    async with world.db.transaction() as session:
        await session.execute(
            sa.update(tables.agents)
            .where(tables.agents.c.id == world.agent_id)
            .values(status="paused")
        )
    simulator = AgentSimulator(world.db, await _host(world.db, "alpha"), _profiles(), seed=1)

    assert await simulator.run_once() == []
    [run] = await world.rows(tables.heartbeat_runs, tables.heartbeat_runs.c.id == run_id)
    assert run["status"] == "queued"


async def _outcomes(db: Database, seed: int, count: int) -> list[str]:
    """Statuses of ``count`` queued runs of a fresh company, played with ``seed``, by issue."""
    world = await make_world(db)
    run_ids = await _queue(world, count)
    profiles = _profiles(failure_rate=0.3, timeout_rate=0.2)
    simulator = AgentSimulator(db, await _host(db, f"seed-{seed}"), profiles, seed=seed)
    while len(simulator.completed) < count:
        assert await simulator.run_once()
    status = {played.run.id: played.finished.status for played in simulator.completed}
    return [status[run_id] for run_id in run_ids]


async def test_outcomes_are_deterministic_under_a_seed(db: Database) -> None:
    first = await _outcomes(db, seed=7, count=24)
    again = await _outcomes(db, seed=7, count=24)
    other = await _outcomes(db, seed=8, count=24)

    assert first == again
    assert first != other
    counts = Counter(first)
    assert set(counts) == {"succeeded", "failed", "timed_out"}
    runs = await _rows(db, tables.heartbeat_runs)
    timed_out = [run for run in runs if run["status"] == "timed_out"]
    assert {run["error_code"] for run in timed_out} == {"timeout"}
    requests = {str(r["id"]): r["status"] for r in await _rows(db, tables.agent_wakeup_requests)}
    assert {requests[str(run["wakeup_request_id"])] for run in timed_out} == {"failed"}


async def _rows(db: Database, table: sa.Table) -> list[dict]:
    async with db.read() as session:
        return [dict(row) for row in (await session.execute(sa.select(table))).mappings()]


async def test_two_hosts_on_two_engines_claim_200_runs_each_exactly_once(
    world: World, second_db: Database
) -> None:
    run_ids = await _queue(world, 200)
    profiles = _profiles()
    first = AgentSimulator(
        world.db, await _host(world.db, "first"), profiles, seed=1, max_concurrent=8
    )
    second = AgentSimulator(
        second_db, await _host(second_db, "second"), profiles, seed=2, max_concurrent=8
    )

    first.start()
    second.start()
    try:
        await wait_until(lambda: len(first.completed) + len(second.completed) >= 200, timeout=60)
    finally:
        await first.stop()
        await second.stop()

    played = [p.run.id for p in first.completed + second.completed]
    assert len(played) == 200
    assert sorted(played) == sorted(run_ids)
    assert first.completed and second.completed
    assert all(p.finished is not None for p in first.completed + second.completed)
    runs = await world.rows(tables.heartbeat_runs)
    assert Counter(run["status"] for run in runs) == {"succeeded": 200}
    assert len(await world.rows(tables.cost_events)) == 200
    assert await world.rows(tables.sandbox_run_leases) == []


async def test_a_host_that_stops_beating_has_its_runs_recovered_within_the_bound(
    world: World, second_db: Database
) -> None:
    clock = FakeClock()
    t0 = clock.now
    [run_id] = await _queue(world, 1)
    dying = await _host(world.db, "dying", now=t0)
    survivor = await _host(second_db, "survivor", now=t0)
    stuck = AgentSimulator(
        world.db, dying, _profiles(duration_seconds=[3600, 3600]), seed=1, clock=clock
    )
    stuck.start()
    await wait_until(lambda: stuck.in_flight == 1)
    await stuck.stop(drain=False)  # the process dies: no finish, no beat, lease left behind
    liveness = HostLiveness(second_db, survivor, beat_interval=5, dead_after=30, clock=clock)

    assert await liveness.tick(t0 + timedelta(seconds=30)) == []
    [recovered] = await liveness.tick(t0 + timedelta(seconds=35))

    assert recovered.run_id == run_id
    [lost] = await world.rows(tables.heartbeat_runs, tables.heartbeat_runs.c.id == run_id)
    assert (lost["status"], lost["error_code"]) == ("failed", "process_lost")
    # The retry is run by the surviving host.
    clock.now = t0 + timedelta(seconds=36)
    rescuer = AgentSimulator(second_db, survivor, _profiles(), seed=1, clock=clock)
    [retried] = await rescuer.run_once()
    assert (retried.run.id, retried.finished.status) == (recovered.retry_run_id, "succeeded")
    [retry] = await world.rows(
        tables.heartbeat_runs, tables.heartbeat_runs.c.id == recovered.retry_run_id
    )
    assert str(retry["retry_of_run_id"]) == run_id
    assert (await get_host(world.db, survivor)).heartbeat_at == t0 + timedelta(seconds=35)


async def test_stop_lets_in_flight_runs_finish(world: World) -> None:
    await _queue(world, 3)
    host = await _host(world.db, "alpha")
    simulator = AgentSimulator(
        world.db, host, _profiles(duration_seconds=[0.2, 0.3]), seed=3, max_concurrent=3
    )

    simulator.start()
    await wait_until(lambda: simulator.in_flight == 3)
    await simulator.stop()

    assert [p.finished.status for p in simulator.completed] == ["succeeded"] * 3
    assert await world.rows(tables.sandbox_run_leases) == []


async def test_liveness_beats_in_the_background_and_marks_the_host_stopped(
    world: World,
) -> None:
    t0 = datetime.now(UTC)
    host = await _host(world.db, "alpha", now=t0)
    ticks: list[datetime] = []

    def clock() -> datetime:
        ticks.append(t0 + timedelta(seconds=len(ticks) + 1))
        return ticks[-1]

    liveness = HostLiveness(world.db, host, beat_interval=0.01, dead_after=1, clock=clock)

    liveness.start()
    await wait_until(lambda: len(ticks) >= 3)
    await liveness.stop()

    stored = await get_host(world.db, host)
    assert stored.heartbeat_at == stored.stopped_at == ticks[-1]
    assert stored.heartbeat_at > t0
