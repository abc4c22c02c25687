"""The job scheduler (sandbox/serve/job_scheduler.py) with real worker processes on both backends.

Time is a settable clock; the scheduler never sleeps through a schedule in these tests. Only
the job timeout is real (a fraction of a second).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import Conflict
from core.plugin_jobs import JobRunRecord, get_job, list_jobs, list_runs
from core.plugin_state import StateKey, get_state
from db import Database, create_db
from sandbox.plugin_host import PluginHost
from sandbox.serve.job_scheduler import STOPPED_MESSAGE, JobScheduler
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.workers import FAST

WORKER = """
import asyncio

async def setup(ctx):
    async def sweep(job):
        count = await ctx.state.get(scope_kind="instance", state_key="sweeps") or 0
        await ctx.state.set(scope_kind="instance", state_key="sweeps", value=count + 1)
        await ctx.state.set(
            scope_kind="instance",
            state_key="last",
            value={"runId": job.run_id, "trigger": job.trigger,
                   "scheduledAt": job.scheduled_at.isoformat() if job.scheduled_at else None},
        )

    async def explode(job):
        raise RuntimeError("the sweep exploded")

    async def dawdle(job):
        await asyncio.sleep(3600)

    ctx.jobs.register("sweep", sweep)
    ctx.jobs.register("explode", explode)
    ctx.jobs.register("dawdle", dawdle)

plugin = define_plugin(setup=setup)
"""

CAPABILITIES = ("plugin.state.read", "plugin.state.write", "jobs.schedule")


class Clock:
    """A clock the test sets."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _plugin(directory: Path, job_key: str) -> Path:
    return write_plugin(
        directory,
        WORKER,
        key=f"sandbox-tests.{job_key}",
        capabilities=CAPABILITIES,
        jobs=[{"jobKey": job_key, "displayName": job_key.title(), "schedule": "*/5 * * * *"}],
    )


@pytest.fixture
async def host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="subprocess", timings=FAST) as plugin_host:
        yield plugin_host


async def _installed(host: PluginHost, tmp_path: Path, job_key: str) -> tuple[str, datetime]:
    """Install a plugin with one job on ``*/5 * * * *``; its id and first due time."""
    record = await host.install(_plugin(tmp_path / job_key, job_key))
    (job,) = await list_jobs(host.db, record.id)
    assert job.next_run_at is not None
    return record.id, job.next_run_at


async def _state(db: Database, plugin_id: str, key: str) -> object:
    return await get_state(db, plugin_id, StateKey(scopeKind="instance", stateKey=key))


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_a_five_minute_job_runs_once_when_due_and_moves_to_its_next_time(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    plugin_id, due = await _installed(host, tmp_path, "sweep")
    after = datetime.now(UTC)
    # activation computed the first occurrence from the wall clock
    assert (due.minute % 5, due.second, due.microsecond) == (0, 0, 0)
    assert before < due <= after + timedelta(minutes=5)
    clock = Clock(due - timedelta(seconds=1))
    scheduler = JobScheduler(host, clock=clock)

    assert await scheduler.tick() == []
    assert await list_runs(db, plugin_id) == []

    clock.now = due
    (run,) = await scheduler.tick()

    assert (run.job_key, run.trigger, run.status, run.error) == (
        "sweep",
        "schedule",
        "succeeded",
        None,
    )
    assert (run.started_at, run.finished_at, run.duration_ms) == (due, due, 0)
    assert await _state(db, plugin_id, "sweeps") == 1
    last = await _state(db, plugin_id, "last")
    assert last == {"runId": run.id, "trigger": "schedule", "scheduledAt": due.isoformat()}
    job = await get_job(db, plugin_id, "sweep")
    assert job is not None
    assert (job.last_run_at, job.next_run_at) == (due, due + timedelta(minutes=5))
    assert await list_runs(db, plugin_id) == [run]

    # the same instant again: nothing is due
    assert await scheduler.tick() == []
    assert await _state(db, plugin_id, "sweeps") == 1


async def test_a_job_of_a_plugin_whose_worker_is_not_running_is_not_claimed(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    plugin_id, due = await _installed(host, tmp_path, "sweep")
    await host.disable(plugin_id)
    scheduler = JobScheduler(host, clock=Clock(due))

    assert await scheduler.tick() == []

    job = await get_job(db, plugin_id, "sweep")
    assert job is not None and job.next_run_at == due  # still due for a host that runs it
    assert await list_runs(db, plugin_id) == []


async def test_a_throwing_handler_fails_the_run_with_its_message(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    plugin_id, due = await _installed(host, tmp_path, "explode")
    scheduler = JobScheduler(host, clock=Clock(due))

    (run,) = await scheduler.tick()

    assert (run.status, run.error) == ("failed", "the sweep exploded")
    assert run.finished_at == due
    job = await get_job(db, plugin_id, "explode")
    assert job is not None and job.next_run_at == due + timedelta(minutes=5)


async def test_a_slow_handler_fails_the_run_as_a_timeout(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    plugin_id, due = await _installed(host, tmp_path, "dawdle")
    scheduler = JobScheduler(host, clock=Clock(due), timeout=0.3)

    (run,) = await scheduler.tick()

    assert (run.status, run.error) == ("failed", 'RPC call "runJob" timed out after 300ms')
    assert await list_runs(db, plugin_id) == [run]


async def test_two_hosts_on_one_database_ticking_at_once_run_the_job_once(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    plugin_id, due = await _installed(host, tmp_path, "sweep")
    other_db = create_db(db.url)
    try:
        async with PluginHost(other_db, python_workers="subprocess", timings=FAST) as other:
            await other.activate(plugin_id)  # its own worker, on its own engine
            clock = Clock(due)
            schedulers = [JobScheduler(host, clock=clock), JobScheduler(other, clock=clock)]

            results = await asyncio.gather(*(s.tick() for s in schedulers))

            runs: list[JobRunRecord] = [run for result in results for run in result]
            assert [(r.status, r.trigger) for r in runs] == [("succeeded", "schedule")]
            assert await _state(db, plugin_id, "sweeps") == 1
            assert await list_runs(db, plugin_id) == runs
            # and the next occurrence also runs once, whichever host wins it
            clock.now = due + timedelta(minutes=5)
            results = await asyncio.gather(*(s.tick() for s in schedulers))
            assert sum(len(result) for result in results) == 1
            assert await _state(db, plugin_id, "sweeps") == 2
    finally:
        await other_db.dispose()


async def test_stop_ends_the_loop_and_records_an_abandoned_run(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    plugin_id, due = await _installed(host, tmp_path, "dawdle")
    scheduler = JobScheduler(host, clock=Clock(due), tick_interval=3600)

    scheduler.start()  # ticks right away
    assert scheduler.running

    async def run_started() -> bool:
        return [r.status for r in await list_runs(db, plugin_id)] == ["running"]

    await _eventually(run_started)
    await scheduler.stop(grace=0.05)

    assert not scheduler.running
    (run,) = await list_runs(db, plugin_id)
    assert (run.status, run.error) == ("cancelled", STOPPED_MESSAGE)
    assert run.finished_at == due
    assert await scheduler.tick() == []  # a stopped scheduler claims nothing


async def test_a_manual_run_is_recorded_and_refused_while_one_is_in_progress(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    plugin_id, _ = await _installed(host, tmp_path, "sweep")

    run = await host.run_job(plugin_id, "sweep")

    assert (run.trigger, run.status, run.job_key) == ("manual", "succeeded", "sweep")
    assert await _state(db, plugin_id, "sweeps") == 1
    last = await _state(db, plugin_id, "last")
    assert isinstance(last, dict) and (last["runId"], last["trigger"]) == (run.id, "manual")
    assert await list_runs(db, plugin_id) == [run]

    dawdler_id, _ = await _installed(host, tmp_path, "dawdle")
    first = asyncio.create_task(host.run_job(dawdler_id, "dawdle"))

    async def dawdling() -> bool:
        return [r.status for r in await list_runs(db, dawdler_id)] == ["running"]

    try:
        await _eventually(dawdling)
        with pytest.raises(
            Conflict, match='^Job "dawdle" is already running — cannot trigger while in progress$'
        ):
            await host.run_job(dawdler_id, "dawdle")
    finally:
        first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    (abandoned,) = await list_runs(db, dawdler_id)
    assert abandoned.status == "failed"


async def test_the_jobs_command_lists_jobs_with_their_last_run(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    plugin_id, due = await _installed(host, tmp_path, "explode")
    (run,) = await JobScheduler(host, clock=Clock(due)).tick()
    url = db.url.render_as_string(hide_password=False)

    listed = await _sandbox(url, "plugin", "jobs", "sandbox-tests.explode", "--json")
    table = await _sandbox(url, "plugin", "jobs", plugin_id)

    next_due = (due + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert json.loads(listed) == [
        {
            "id": (await list_jobs(db, plugin_id))[0].id,
            "jobKey": "explode",
            "schedule": "*/5 * * * *",
            "status": "active",
            "lastRunAt": due.isoformat().replace("+00:00", "Z"),
            "nextRunAt": next_due,
            "lastRun": {
                "id": run.id,
                "trigger": "schedule",
                "status": "failed",
                "durationMs": 0,
                "error": "the sweep exploded",
                "startedAt": due.isoformat().replace("+00:00", "Z"),
                "finishedAt": due.isoformat().replace("+00:00", "Z"),
                "createdAt": due.isoformat().replace("+00:00", "Z"),
            },
        }
    ]
    header, row = table.splitlines()
    assert header.split() == ["JOB", "SCHEDULE", "STATUS", "NEXT", "RUN", "LAST", "RUN", "ERROR"]
    when = due.strftime("%Y-%m-%d %H:%M:%S")
    assert row.startswith("explode  */5 * * * *  active")
    assert row.endswith(f"failed at {when}  the sweep exploded")


async def _sandbox(url: str, *args: str) -> str:
    """``sandbox ARGS --db URL`` in a subprocess; its output (it must succeed)."""
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_DATABASE_URL"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        *args,
        "--db",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()
