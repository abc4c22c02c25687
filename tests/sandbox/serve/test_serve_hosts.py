"""Several ``sandbox serve`` processes on one database: each queued run is claimed once, and the
runs of a host killed with SIGKILL are recovered by the others.

Real processes on each backend; wakeups are queued the way a plugin queues them (the host
services), while the hosts are already running.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from core.host_services.params import RequestWakeup
from db import Database, tables
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.serve import ServeProcess

TERMINAL = ("succeeded", "failed", "cancelled", "timed_out")


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _profile(directory: Path, duration: float) -> Path:
    path = directory / "agents.toml"
    path.write_text(
        "[defaults]\n"
        f"duration_seconds = [{duration}, {duration}]\n"
        "failure_rate = 0.0\ntimeout_rate = 0.0\n"
    )
    return path


async def _queue(world: World, count: int, *, concurrency: int = 8) -> list[str]:
    """``count`` plugin wakeups of new issues; returns their run ids."""

    async def one(index: int) -> str:
        issue_id = await world.issue(title=f"Work {index}", assignee_agent_id=world.agent_id)
        result = await world.services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
        assert result.run_id
        return result.run_id

    run_ids: list[str] = []
    for start in range(0, count, concurrency):
        batch = range(start, min(start + concurrency, count))
        run_ids += await asyncio.gather(*(one(index) for index in batch))
    return run_ids


async def _statuses(db: Database, run_ids: list[str]) -> dict[str, str]:
    runs = tables.heartbeat_runs
    async with db.read() as session:
        rows = await session.execute(sa.select(runs.c.id, runs.c.status))
        return {str(id_): status for id_, status in rows if str(id_) in set(run_ids)}


async def _started_per_run(db: Database) -> Counter[str]:
    """How many times each run was started (an ``agent.run.started`` activity row per claim)."""
    activity = tables.activity_log
    async with db.read() as session:
        rows = await session.execute(
            sa.select(activity.c.entity_id).where(activity.c.action == "agent.run.started")
        )
        return Counter(str(entity_id) for (entity_id,) in rows)


async def _wait_terminal(db: Database, run_ids: list[str], timeout: float) -> dict[str, str]:
    statuses: dict[str, str] = {}

    async def all_terminal() -> bool:
        statuses.update(await _statuses(db, run_ids))
        return len(statuses) == len(run_ids) and all(s in TERMINAL for s in statuses.values())

    deadline = asyncio.get_running_loop().time() + timeout
    while not await all_terminal():
        assert asyncio.get_running_loop().time() < deadline, Counter(statuses.values())
        await asyncio.sleep(0.2)
    return statuses


async def test_four_hosts_run_each_wakeup_exactly_once(
    db: Database, backend: str, tmp_path: Path
) -> None:
    count = 1000 if backend == "postgres" else 200
    world = await make_world(db)
    profile = _profile(tmp_path, 0)
    hosts = [
        ServeProcess(_url(db), "--no-watch", "--agent-profiles", str(profile)) for _ in range(4)
    ]
    try:
        for host in hosts:
            host.start()
        run_ids = await _queue(world, count)
        statuses = await _wait_terminal(db, run_ids, timeout=300)
        assert Counter(statuses.values()) == {"succeeded": count}

        started = await _started_per_run(db)
        assert {run_id: started[run_id] for run_id in run_ids} == dict.fromkeys(run_ids, 1)
        costs = await world.rows(tables.cost_events)
        assert Counter(str(row["heartbeat_run_id"]) for row in costs) == Counter(run_ids)
        leases = await world.rows(tables.sandbox_run_leases)
        assert leases == []
        for host in hosts:
            assert host.terminate() == 0
    finally:
        for host in hosts:
            host.close()


async def test_a_killed_hosts_runs_are_recovered_by_the_others(
    db: Database, tmp_path: Path
) -> None:
    world = await make_world(db)
    profile = _profile(tmp_path, 3)
    victim = ServeProcess(_url(db), "--no-watch", "--agent-profiles", str(profile))
    survivor = ServeProcess(_url(db), "--no-watch", "--agents", "off")
    try:
        victim_id = victim.start()["hostId"]
        survivor.start()
        run_ids = await _queue(world, 4)

        async def victim_holds_runs() -> list[str]:
            leases = await world.rows(
                tables.sandbox_run_leases, tables.sandbox_run_leases.c.host_id == victim_id
            )
            return [str(lease["run_id"]) for lease in leases]

        held: list[str] = []

        async def poll() -> None:
            while not held:
                held.extend(await victim_holds_runs())
                await asyncio.sleep(0.05)

        await asyncio.wait_for(poll(), timeout=60)
        victim.kill()

        # The survivor simulates no agents: it only recovers, so each lost run ends failed with
        # process_lost and gets one queued retry.
        runs = tables.heartbeat_runs

        async def recovered() -> list[dict[str, object]]:
            lost = await world.rows(runs, runs.c.id.in_(held), runs.c.error_code == "process_lost")
            return lost if len(lost) == len(held) else []

        lost: list[dict[str, object]] = []

        async def poll_recovered() -> None:
            while not lost:
                lost.extend(await recovered())
                await asyncio.sleep(0.2)

        await asyncio.wait_for(poll_recovered(), timeout=60)
        assert {row["status"] for row in lost} == {"failed"}
        retries = await world.rows(runs, runs.c.retry_of_run_id.in_(held))
        assert sorted(str(row["retry_of_run_id"]) for row in retries) == sorted(held)
        assert {row["status"] for row in retries} == {"queued"}
        assert {row["process_loss_retry_count"] for row in retries} == {1}
        assert await world.rows(tables.sandbox_run_leases) == []
        assert set(held) <= set(run_ids)
        assert survivor.terminate() == 0
    finally:
        victim.close()
        survivor.close()
