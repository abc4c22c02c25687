"""The job store (core/plugin_jobs.py): syncing declared jobs, claiming due ones exactly once
across hosts, run bookkeeping, and upstream's manual-trigger refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.errors import Conflict, NotFound
from core.manifest import PluginJobDeclaration
from core.plugin_jobs import (
    DEFAULT_LOST_AFTER,
    LOST_RUN_MESSAGE,
    JobRunRecord,
    claim_due_jobs,
    finish_run,
    get_job,
    get_run,
    list_jobs,
    list_runs,
    next_run_after,
    start_run,
    sync_jobs,
    trigger_job,
)
from core.plugin_registry import register_plugin
from db import Database, create_db
from tests.fixtures.plugin_database import manifest

NOON = datetime(2026, 12, 5, 12, 3, 20, tzinfo=UTC)


def job(key: str, schedule: str | None = "*/5 * * * *") -> PluginJobDeclaration:
    declared: dict[str, Any] = {"jobKey": key, "displayName": key.title()}
    if schedule is not None:
        declared["schedule"] = schedule
    return PluginJobDeclaration.model_validate(declared)


async def _plugin(db: Database, key: str = "paperclip.jobs-test") -> str:
    record = await register_plugin(
        db, manifest(key), package_name=f"@test/{key}", package_path=f"/plugins/{key}"
    )
    return record.id


def test_next_run_after_is_strictly_later() -> None:
    assert next_run_after("*/5 * * * *", NOON) == datetime(2026, 12, 5, 12, 5, tzinfo=UTC)
    on_the_dot = datetime(2026, 12, 5, 12, 5, tzinfo=UTC)
    assert next_run_after("*/5 * * * *", on_the_dot) == on_the_dot + timedelta(minutes=5)
    assert next_run_after("0 3 * * *", NOON) == datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    assert next_run_after("", NOON) is None


async def test_sync_inserts_declared_jobs_with_their_next_run(db: Database) -> None:
    plugin_id = await _plugin(db)

    jobs = await sync_jobs(db, plugin_id, [job("sweep"), job("on-demand", None)], now=NOON)

    assert [(j.job_key, j.schedule, j.status, j.next_run_at) for j in jobs] == [
        ("on-demand", "", "active", None),
        ("sweep", "*/5 * * * *", "active", datetime(2026, 12, 5, 12, 5, tzinfo=UTC)),
    ]
    assert all(j.last_run_at is None and j.created_at == NOON for j in jobs)


async def test_sync_updates_schedules_pauses_undeclared_jobs_and_reactivates_them(
    db: Database,
) -> None:
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("sweep"), job("nightly", "0 3 * * *")], now=NOON)
    later = NOON + timedelta(minutes=1)

    # unchanged and still in the future: kept; changed schedule: recomputed; gone: paused
    jobs = await sync_jobs(db, plugin_id, [job("sweep", "0 * * * *")], now=later)
    by_key = {j.job_key: j for j in jobs}
    assert by_key["sweep"].schedule == "0 * * * *"
    assert by_key["sweep"].next_run_at == datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
    assert by_key["nightly"].status == "paused"
    assert by_key["nightly"].next_run_at == datetime(2026, 12, 6, 3, 0, tzinfo=UTC)

    # declared again: active again, its schedule pointer untouched while still ahead
    jobs = await sync_jobs(
        db, plugin_id, [job("sweep", "0 * * * *"), job("nightly", "0 3 * * *")], now=later
    )
    assert {j.job_key: j.status for j in jobs} == {"nightly": "active", "sweep": "active"}
    assert {j.job_key: j.next_run_at for j in jobs}["nightly"] == datetime(
        2026, 12, 6, 3, 0, tzinfo=UTC
    )


async def test_sync_skips_occurrences_missed_while_the_plugin_was_down(db: Database) -> None:
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("sweep")], now=NOON)

    hours_later = NOON + timedelta(hours=3, minutes=1)
    (sweep,) = await sync_jobs(db, plugin_id, [job("sweep")], now=hours_later)

    assert sweep.next_run_at == datetime(2026, 12, 5, 15, 5, tzinfo=UTC)


async def test_claim_takes_due_jobs_once_and_advances_them(db: Database) -> None:
    plugin_id = await _plugin(db)
    other_id = await _plugin(db, "paperclip.other-jobs")
    await sync_jobs(
        db, plugin_id, [job("sweep"), job("hourly", "0 * * * *"), job("manual", None)], now=NOON
    )
    await sync_jobs(db, other_id, [job("sweep")], now=NOON)
    due = datetime(2026, 12, 5, 12, 5, tzinfo=UTC)

    assert (
        await claim_due_jobs(db, now=due - timedelta(seconds=1), plugin_ids=[plugin_id], limit=10)
        == []
    )
    claimed = await claim_due_jobs(db, now=due, plugin_ids=[plugin_id], limit=10)

    assert [(c.run.job_key, c.run.trigger, c.run.status, c.scheduled_at) for c in claimed] == [
        ("sweep", "schedule", "queued", due)
    ]
    sweep = await get_job(db, plugin_id, "sweep")
    assert sweep is not None
    assert (sweep.last_run_at, sweep.next_run_at) == (due, due + timedelta(minutes=5))
    # the other plugin's job is due too, but it was not asked for
    other = await get_job(db, other_id, "sweep")
    assert other is not None and other.next_run_at == due
    assert await claim_due_jobs(db, now=due, plugin_ids=[plugin_id], limit=10) == []


async def test_claim_respects_the_limit_and_waits_for_a_run_in_progress(db: Database) -> None:
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("a"), job("b"), job("c")], now=NOON)
    due = datetime(2026, 12, 5, 12, 5, tzinfo=UTC)

    first = await claim_due_jobs(db, now=due, plugin_ids=[plugin_id], limit=2)
    assert len(first) == 2
    (left,) = {"a", "b", "c"} - {c.run.job_key for c in first}
    busy, done = first[0].run, first[1].run
    await start_run(db, busy.id, now=due)
    await finish_run(db, done.id, now=due, status="succeeded")

    # at the next occurrence the busy job is still running: it waits until its run ends
    next_due = due + timedelta(minutes=5)
    second = await claim_due_jobs(db, now=next_due, plugin_ids=[plugin_id], limit=10)
    assert sorted(c.run.job_key for c in second) == sorted([left, done.job_key])
    await finish_run(db, busy.id, now=next_due, status="succeeded")
    third = await claim_due_jobs(db, now=next_due, plugin_ids=[plugin_id], limit=10)
    assert [c.run.job_key for c in third] == [busy.job_key]


async def test_two_hosts_racing_on_one_database_claim_each_occurrence_once(
    db: Database,
) -> None:
    """Two claimers on separate engines tick at the same instant, round after round."""
    plugin_id = await _plugin(db)
    keys = [f"job-{n:02}" for n in range(12)]
    await sync_jobs(db, plugin_id, [job(key) for key in keys], now=NOON)
    other_host = create_db(db.url)
    try:
        due = datetime(2026, 12, 5, 12, 5, tzinfo=UTC)
        for round_number in range(4):
            now = due + timedelta(minutes=5 * round_number)
            first, second = await asyncio.gather(
                claim_due_jobs(db, now=now, plugin_ids=[plugin_id], limit=20),
                claim_due_jobs(other_host, now=now, plugin_ids=[plugin_id], limit=20),
            )
            claimed = [c.run.job_key for c in first] + [c.run.job_key for c in second]
            assert sorted(claimed) == keys, f"round {round_number}"
            for claim in (*first, *second):
                await finish_run(db, claim.run.id, now=now, status="succeeded")
    finally:
        await other_host.dispose()

    runs = await list_runs(db, plugin_id, limit=1000)
    assert len(runs) == 4 * len(keys)
    assert {(r.job_key, r.created_at) for r in runs} == {
        (key, due + timedelta(minutes=5 * n)) for key in keys for n in range(4)
    }


async def test_runs_record_their_start_end_duration_and_error(db: Database) -> None:
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("sweep")], now=NOON)
    run = await trigger_job(db, plugin_id, "sweep", now=NOON)
    assert (run.trigger, run.status, run.started_at) == ("manual", "queued", None)

    started = await start_run(db, run.id, now=NOON + timedelta(seconds=1))
    assert (started.status, started.started_at) == ("running", NOON + timedelta(seconds=1))
    ended = await finish_run(
        db, run.id, now=NOON + timedelta(seconds=3, milliseconds=250), status="failed", error="boom"
    )

    assert (ended.status, ended.error, ended.duration_ms) == ("failed", "boom", 2250)
    assert ended.finished_at == NOON + timedelta(seconds=3, milliseconds=250)
    assert await list_runs(db, plugin_id) == [ended]
    assert await list_runs(db, plugin_id, job_key="other") == []
    assert await list_runs(db, plugin_id, status="failed") == [ended]


async def test_manual_trigger_refusals_are_upstreams(db: Database) -> None:
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("sweep"), job("old")], now=NOON)
    await sync_jobs(db, plugin_id, [job("sweep")], now=NOON)  # "old" is paused

    with pytest.raises(Conflict, match=r'^Job "old" is not active \(status: paused\)$'):
        await trigger_job(db, plugin_id, "old", now=NOON)
    with pytest.raises(NotFound):
        await trigger_job(db, plugin_id, "missing", now=NOON)

    run = await trigger_job(db, plugin_id, "sweep", now=NOON)
    refusal = '^Job "sweep" is already running — cannot trigger while in progress$'
    with pytest.raises(Conflict, match=refusal):  # queued
        await trigger_job(db, plugin_id, "sweep", now=NOON)
    await start_run(db, run.id, now=NOON)
    with pytest.raises(Conflict, match=refusal):  # running
        await trigger_job(db, plugin_id, "sweep", now=NOON)
    await finish_run(db, run.id, now=NOON, status="succeeded")

    again = await trigger_job(db, plugin_id, "sweep", now=NOON + timedelta(seconds=5))
    assert again.status == "queued"
    sweep = await get_job(db, plugin_id, "sweep")
    assert sweep is not None and sweep.last_run_at == NOON + timedelta(seconds=5)
    assert len(await list_runs(db, plugin_id)) == 2
    assert [j.job_key for j in await list_jobs(db, plugin_id)] == ["old", "sweep"]


async def test_a_run_left_running_by_a_dead_host_is_failed_and_its_job_claimed_again(
    db: Database,
) -> None:
    """Runs have no host: a run older than the bound is lost, whoever left it."""
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("sweep")], now=NOON)
    due = datetime(2026, 12, 5, 12, 5, tzinfo=UTC)
    (claim,) = await claim_due_jobs(db, now=due, plugin_ids=[plugin_id], limit=10)
    started = due + timedelta(seconds=2)
    await start_run(db, claim.run.id, now=started)  # ... and then its host was killed

    # the next occurrence comes while the run could still be alive: it waits, and stays due
    next_due = due + timedelta(minutes=5)
    assert await claim_due_jobs(db, now=next_due, plugin_ids=[plugin_id], limit=10) == []
    # the bound counts from the start, not the claim: at exactly the bound the run still blocks
    at_bound = started + DEFAULT_LOST_AFTER
    assert await claim_due_jobs(db, now=at_bound, plugin_ids=[plugin_id], limit=10) == []

    later = due + timedelta(minutes=15)
    (again,) = await claim_due_jobs(db, now=later, plugin_ids=[plugin_id], limit=10)

    assert (again.run.job_key, again.run.status, again.scheduled_at) == (
        "sweep",
        "queued",
        next_due,
    )
    lost = await get_run(db, claim.run.id)
    assert (lost.status, lost.error, lost.finished_at) == ("failed", LOST_RUN_MESSAGE, later)
    assert lost.duration_ms == (later - started).total_seconds() * 1000
    assert [r.status for r in await list_runs(db, plugin_id)] == ["queued", "failed"]


async def test_a_run_younger_than_the_bound_still_blocks_its_job(db: Database) -> None:
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("sweep", "* * * * *")], now=NOON)
    due = datetime(2026, 12, 5, 12, 4, tzinfo=UTC)
    (claim,) = await claim_due_jobs(db, now=due, plugin_ids=[plugin_id], limit=10)
    # queued and never started: its age counts from its creation
    bound = timedelta(seconds=90)

    for minute in (1, 2):  # 60 s and 120 s later: the first is within the bound, the second not
        now = due + timedelta(minutes=minute)
        claimed = await claim_due_jobs(
            db, now=now, plugin_ids=[plugin_id], limit=10, lost_after=bound
        )
        if minute == 1:
            assert claimed == []
            assert (await get_run(db, claim.run.id)).status == "queued"
    assert [c.run.job_key for c in claimed] == ["sweep"]
    lost = await get_run(db, claim.run.id)
    assert (lost.status, lost.error, lost.started_at) == ("failed", LOST_RUN_MESSAGE, None)
    assert lost.duration_ms == 120_000


async def test_a_manual_trigger_also_clears_a_lost_run(db: Database) -> None:
    plugin_id = await _plugin(db)
    await sync_jobs(db, plugin_id, [job("on-demand", None)], now=NOON)
    first = await trigger_job(db, plugin_id, "on-demand", now=NOON)
    await start_run(db, first.id, now=NOON)
    refusal = '^Job "on-demand" is already running — cannot trigger while in progress$'
    with pytest.raises(Conflict, match=refusal):
        await trigger_job(db, plugin_id, "on-demand", now=NOON + DEFAULT_LOST_AFTER)

    later = NOON + DEFAULT_LOST_AFTER + timedelta(seconds=1)
    second = await trigger_job(db, plugin_id, "on-demand", now=later)

    assert second.status == "queued"
    lost = await get_run(db, first.id)
    assert (lost.status, lost.error, lost.finished_at) == ("failed", LOST_RUN_MESSAGE, later)
    with pytest.raises(Conflict, match=refusal):  # the new run blocks as any other does
        await trigger_job(db, plugin_id, "on-demand", now=later)


async def test_hosts_racing_over_a_lost_run_fail_it_once_and_claim_the_job_once(
    db: Database,
) -> None:
    plugin_id = await _plugin(db)
    keys = [f"job-{n:02}" for n in range(6)]
    await sync_jobs(db, plugin_id, [job(key) for key in keys], now=NOON)
    due = datetime(2026, 12, 5, 12, 5, tzinfo=UTC)
    for claim in await claim_due_jobs(db, now=due, plugin_ids=[plugin_id], limit=20):
        await start_run(db, claim.run.id, now=due)
    later = due + timedelta(minutes=10)
    other_host = create_db(db.url)
    try:
        first, second, triggered = await asyncio.gather(
            claim_due_jobs(db, now=later, plugin_ids=[plugin_id], limit=20),
            claim_due_jobs(other_host, now=later, plugin_ids=[plugin_id], limit=20),
            _trigger_or_refusal(other_host, plugin_id, keys[0], now=later),
        )
    finally:
        await other_host.dispose()

    queued = [c.run.job_key for c in (*first, *second)] + (
        [] if triggered is None else [triggered.job_key]
    )
    assert sorted(queued) == keys
    runs = await list_runs(db, plugin_id, limit=100)
    assert sorted((r.job_key, r.status) for r in runs) == sorted(
        [(key, "failed") for key in keys] + [(key, "queued") for key in keys]
    )
    assert {r.error for r in runs if r.status == "failed"} == {LOST_RUN_MESSAGE}
    assert {r.finished_at for r in runs if r.status == "failed"} == {later}


async def _trigger_or_refusal(
    db: Database, plugin_id: str, job_key: str, *, now: datetime
) -> JobRunRecord | None:
    """A manual trigger racing the claimers: it wins the job, or is refused as busy."""
    try:
        return await trigger_job(db, plugin_id, job_key, now=now)
    except Conflict:
        return None
