"""Plugin jobs: the manifest's scheduled jobs (``plugin_jobs``) and each run of one
(``plugin_job_runs``).

As upstream's job store:

- ``sync_jobs`` runs at every activation: a new declared job is inserted ``active``, a changed
  schedule is updated, a ``paused`` job that is declared again becomes ``active``, and a job the
  manifest no longer declares is ``paused`` (not deleted, so its history stays).
- A run goes ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` (or ``cancelled``), with
  ``started_at``, ``finished_at``, ``duration_ms`` and ``error``.
- A manual trigger is refused with upstream's messages when the job is not active or already
  has a run in progress.

Beyond upstream, for several hosts on one database: ``claim_due_jobs`` advances a due job's
``next_run_at`` with a compare-and-set UPDATE (only the claimer that still sees the old value
wins) and inserts the run row in the same transaction, so a due occurrence runs exactly once
however many schedulers tick at the same instant. Upstream advances the pointer after the run
(from the time it finished); we advance it at claim time (from the claim time), which is what
makes the claim exclusive. A job without a schedule is never due (``next_run_at`` stays null);
it runs only when triggered.

A run whose host died (SIGKILL) would stay ``running`` forever and block its job. Runs record no
host, so a lost run is recognised by age: no run legitimately lasts longer than the scheduler's
job timeout, so a ``queued`` or ``running`` run older than ``lost_after`` (from ``started_at``, or
``created_at`` if it never started) is marked ``failed`` with ``LOST_RUN_MESSAGE`` by the claim or
trigger that finds it, in that same transaction, and stops blocking the job.

Time always comes from the caller's ``now``; nothing here reads a clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from croniter import croniter

from core.errors import Conflict, NotFound
from core.manifest import PluginJobDeclaration
from core.unit_of_work import UnitOfWork, write
from db import Database, lock_for_update, tables

JobStatus = Literal["active", "paused", "failed"]
RunStatus = Literal["pending", "queued", "running", "succeeded", "failed", "cancelled"]
RunTrigger = Literal["schedule", "manual", "retry"]

#: Run statuses that mean "in progress": the job is not triggered or claimed again meanwhile
#: (upstream's overlap prevention).
IN_PROGRESS: tuple[RunStatus, ...] = ("queued", "running")

#: Run statuses that end a run.
FINISHED: tuple[RunStatus, ...] = ("succeeded", "failed", "cancelled")

#: The error of a run found ``queued`` or ``running`` past ``lost_after``.
LOST_RUN_MESSAGE = "Job run lost: its host stopped before it finished"

#: Upstream's ``runJob`` timeout, for scheduled and manual runs alike: no run lasts longer.
JOB_TIMEOUT = timedelta(minutes=5)

#: Slack beyond the job timeout before an unfinished run counts as lost: covers marking the run
#: started and finished around the timed ``runJob`` call, and clock skew between hosts.
LOST_RUN_MARGIN = timedelta(seconds=60)

#: ``lost_after`` by default: the job timeout plus the margin.
DEFAULT_LOST_AFTER = JOB_TIMEOUT + LOST_RUN_MARGIN

_jobs = tables.plugin_jobs
_runs = tables.plugin_job_runs


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A ``plugin_jobs`` row."""

    id: str
    plugin_id: str
    job_key: str
    schedule: str
    status: str
    last_run_at: datetime | None
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class JobRunRecord:
    """A ``plugin_job_runs`` row, with its job's key for convenience."""

    id: str
    job_id: str
    job_key: str
    plugin_id: str
    trigger: str
    status: str
    duration_ms: int | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    """A due occurrence this claimer won: its queued run and the time it was due."""

    run: JobRunRecord
    scheduled_at: datetime


def next_run_after(schedule: str, after: datetime) -> datetime | None:
    """The first time strictly after ``after`` that the cron ``schedule`` matches (UTC).

    None for an empty schedule (a job that only runs when triggered).
    """
    if not schedule.strip():
        return None
    found: datetime = croniter(schedule, after).get_next(datetime)
    return found


async def sync_jobs(
    db: Database,
    plugin_id: str,
    declarations: Iterable[PluginJobDeclaration],
    *,
    now: datetime,
) -> list[JobRecord]:
    """Bring the plugin's ``plugin_jobs`` rows in line with its manifest (see module doc).

    An active job whose ``next_run_at`` is missing or already past gets the next occurrence
    after ``now``, as upstream's scheduler does when a plugin registers: occurrences missed
    while the plugin was not running are skipped, not run late in a burst.

    Returns:
        The plugin's jobs after the sync, by key.
    """
    declared = {job.job_key: job.schedule or "" for job in declarations}
    async with db.transaction() as session:
        existing = {
            row.job_key: row
            for row in (
                await session.execute(
                    lock_for_update(
                        db.dialect, sa.select(_jobs).where(_jobs.c.plugin_id == plugin_id)
                    )
                )
            ).all()
        }
        for key, schedule in declared.items():
            row = existing.get(key)
            if row is None:
                await session.execute(
                    sa.insert(_jobs).values(
                        id=str(uuid.uuid4()),
                        plugin_id=plugin_id,
                        job_key=key,
                        schedule=schedule,
                        status="active",
                        next_run_at=next_run_after(schedule, now),
                        created_at=now,
                        updated_at=now,
                    )
                )
                continue
            changes: dict[str, Any] = {}
            if row.schedule != schedule:
                changes["schedule"] = schedule
            if row.status == "paused":
                changes["status"] = "active"
            stale = row.next_run_at is None or row.next_run_at <= now
            if "schedule" in changes or stale:
                changes["next_run_at"] = next_run_after(schedule, now)
            if changes:
                await session.execute(
                    sa.update(_jobs).where(_jobs.c.id == row.id).values(**changes, updated_at=now)
                )
        for key, row in existing.items():
            if key not in declared and row.status != "paused":
                await session.execute(
                    sa.update(_jobs)
                    .where(_jobs.c.id == row.id)
                    .values(status="paused", updated_at=now)
                )
    return await list_jobs(db, plugin_id)


async def list_jobs(db: Database, plugin_id: str) -> list[JobRecord]:
    """The plugin's jobs, by key."""
    async with db.read() as session:
        rows = (
            await session.execute(
                sa.select(_jobs).where(_jobs.c.plugin_id == plugin_id).order_by(_jobs.c.job_key)
            )
        ).all()
    return [_job(row) for row in rows]


async def get_job(db: Database, plugin_id: str, job_key: str) -> JobRecord | None:
    """The plugin's job with this key, if it has one."""
    async with db.read() as session:
        row = (
            await session.execute(
                sa.select(_jobs).where(_jobs.c.plugin_id == plugin_id, _jobs.c.job_key == job_key)
            )
        ).first()
    return None if row is None else _job(row)


async def list_runs(
    db: Database,
    plugin_id: str,
    *,
    job_key: str | None = None,
    status: RunStatus | None = None,
    limit: int = 50,
) -> list[JobRunRecord]:
    """The plugin's runs, newest first (optionally of one job, or in one status)."""
    statement = _run_select().where(_runs.c.plugin_id == plugin_id)
    if job_key is not None:
        statement = statement.where(_jobs.c.job_key == job_key)
    if status is not None:
        statement = statement.where(_runs.c.status == status)
    statement = statement.order_by(_runs.c.created_at.desc(), _runs.c.id.desc()).limit(limit)
    async with db.read() as session:
        rows = (await session.execute(statement)).all()
    return [_run(row) for row in rows]


async def get_run(db: Database, run_id: str) -> JobRunRecord:
    """One run.

    Raises:
        NotFound: ``Job run not found: <id>``.
    """
    async with db.read() as session:
        row = (await session.execute(_run_select().where(_runs.c.id == run_id))).first()
    if row is None:
        raise NotFound(f"Job run not found: {run_id}")
    return _run(row)


async def claim_due_jobs(
    db: Database,
    *,
    now: datetime,
    plugin_ids: Sequence[str],
    limit: int,
    lost_after: timedelta = DEFAULT_LOST_AFTER,
) -> list[ClaimedRun]:
    """Claim the jobs of these plugins that are due at ``now``, each with a new ``queued``
    run (trigger ``schedule``), exactly once across every claimer on the database.

    A job is due when it is ``active``, its ``next_run_at`` is at or before ``now``, and it has
    no run in progress (a due job whose previous run is still going waits for a later tick, as
    upstream's overlap prevention does); a run in progress for longer than ``lost_after`` does
    not count: the winning claimer marks it failed as lost (see module doc). Claiming moves
    ``next_run_at`` to the next occurrence after ``now`` with ``UPDATE ... WHERE next_run_at =
    <the value read>``: on PostgreSQL a concurrent claimer blocks on the row and then matches
    nothing; on SQLite the write lock orders the claimers and the later one reads the advanced
    value. Only the winner inserts the run, in the same transaction, after checking again (now
    holding the job row) that no manual trigger started a run meanwhile.

    Args:
        plugin_ids: the plugins whose workers the caller runs (a host only claims jobs it can
            run).
        limit: claim at most this many jobs (the caller's free concurrency).
        lost_after: how long a run may stay in progress before it counts as lost (the
            caller's job timeout plus ``LOST_RUN_MARGIN``).
    """
    if limit <= 0 or not plugin_ids:
        return []
    in_progress = (
        sa.select(_runs.c.id)
        .where(
            _runs.c.job_id == _jobs.c.id,
            _runs.c.status.in_(IN_PROGRESS),
            ~_lost(now - lost_after),
        )
        .exists()
    )
    due = (
        sa.select(_jobs)
        .where(
            _jobs.c.status == "active",
            _jobs.c.next_run_at.is_not(None),
            _jobs.c.next_run_at <= now,
            _jobs.c.plugin_id.in_(list(plugin_ids)),
            ~in_progress,
        )
        .order_by(_jobs.c.next_run_at, _jobs.c.id)
        .limit(limit)
    )
    claimed: list[ClaimedRun] = []
    async with write(db, None) as unit:
        session = unit.session
        for job in (await session.execute(due)).all():
            won = (
                await session.execute(
                    sa.update(_jobs)
                    .where(
                        _jobs.c.id == job.id,
                        _jobs.c.status == "active",
                        _jobs.c.next_run_at == job.next_run_at,
                    )
                    .values(
                        next_run_at=next_run_after(job.schedule, now),
                        last_run_at=now,
                        updated_at=now,
                    )
                    .returning(_jobs.c.id)
                )
            ).first()
            if won is None:
                continue
            # only the winner gets here, holding the job row: each lost run is failed once
            await _fail_lost_runs(unit, job.id, now=now, lost_after=lost_after)
            if await _has_run_in_progress(unit, job.id):
                # a manual trigger committed between our read and our claim; the job row is
                # ours now, so put its pointer back: the job stays due until that run ends
                await session.execute(
                    sa.update(_jobs)
                    .where(_jobs.c.id == job.id)
                    .values(
                        next_run_at=job.next_run_at,
                        last_run_at=job.last_run_at,
                        updated_at=job.updated_at,
                    )
                )
                continue
            run = await _insert_run(unit, job, trigger="schedule", now=now)
            claimed.append(ClaimedRun(run, job.next_run_at))
    return claimed


async def trigger_job(
    db: Database,
    plugin_id: str,
    job_key: str,
    *,
    now: datetime,
    trigger: RunTrigger = "manual",
    lost_after: timedelta = DEFAULT_LOST_AFTER,
) -> JobRunRecord:
    """Create a ``queued`` run of the job now, outside its schedule (upstream's ``triggerJob``).

    A run in progress for longer than ``lost_after`` is first marked failed as lost (see
    module doc), so it no longer refuses the trigger.

    Raises:
        NotFound: the plugin has no job with this key.
        Conflict: ``Job "<key>" is not active (status: <s>)``, or
            ``Job "<key>" is already running — cannot trigger while in progress``.
    """
    async with write(db, None) as unit:
        session = unit.session
        job = (
            await session.execute(
                lock_for_update(
                    unit.dialect,
                    sa.select(_jobs).where(
                        _jobs.c.plugin_id == plugin_id, _jobs.c.job_key == job_key
                    ),
                )
            )
        ).first()
        if job is None:
            raise NotFound(f"Job not found: {job_key}")
        if job.status != "active":
            raise Conflict(f'Job "{job_key}" is not active (status: {job.status})')
        await _fail_lost_runs(unit, job.id, now=now, lost_after=lost_after)
        if await _has_run_in_progress(unit, job.id):
            raise Conflict(f'Job "{job_key}" is already running — cannot trigger while in progress')
        await session.execute(
            sa.update(_jobs).where(_jobs.c.id == job.id).values(last_run_at=now, updated_at=now)
        )
        return await _insert_run(unit, job, trigger=trigger, now=now)


async def start_run(db: Database, run_id: str, *, now: datetime) -> JobRunRecord:
    """Mark a queued run ``running`` from ``now``."""
    async with db.transaction() as session:
        await session.execute(
            sa.update(_runs).where(_runs.c.id == run_id).values(status="running", started_at=now)
        )
    return await get_run(db, run_id)


async def finish_run(
    db: Database,
    run_id: str,
    *,
    now: datetime,
    status: Literal["succeeded", "failed", "cancelled"],
    error: str | None = None,
) -> JobRunRecord:
    """End a run: its final status, ``finished_at``, the error if any, and ``duration_ms``
    (from ``started_at``, or from creation for a run that never started)."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                sa.select(_runs.c.started_at, _runs.c.created_at).where(_runs.c.id == run_id)
            )
        ).first()
        if row is None:
            raise NotFound(f"Job run not found: {run_id}")
        since = row.started_at or row.created_at
        duration = max(0, round((now - since).total_seconds() * 1000))
        await session.execute(
            sa.update(_runs)
            .where(_runs.c.id == run_id)
            .values(status=status, error=error, duration_ms=duration, finished_at=now)
        )
    return await get_run(db, run_id)


def _lost(cutoff: datetime) -> sa.ColumnElement[bool]:
    """Whether an in-progress run began (or, never started, was created) before ``cutoff``."""
    return sa.or_(
        sa.and_(_runs.c.started_at.is_not(None), _runs.c.started_at < cutoff),
        sa.and_(_runs.c.started_at.is_(None), _runs.c.created_at < cutoff),
    )


async def _has_run_in_progress(unit: UnitOfWork, job_id: str) -> bool:
    """Whether the job has a ``queued`` or ``running`` run.

    Called with the job row held, as its own statement: on PostgreSQL (read committed) it sees
    a run that another transaction committed while we waited for the row.
    """
    busy = (
        await unit.session.execute(
            sa.select(_runs.c.id)
            .where(_runs.c.job_id == job_id, _runs.c.status.in_(IN_PROGRESS))
            .limit(1)
        )
    ).first()
    return busy is not None


async def _fail_lost_runs(
    unit: UnitOfWork, job_id: str, *, now: datetime, lost_after: timedelta
) -> int:
    """Mark the job's lost runs ``failed``; the number marked.

    Each UPDATE still requires the run to be in progress, so a run finished meanwhile (or
    failed by a concurrent claimer) is left alone.
    """
    session = unit.session
    lost = (
        await session.execute(
            sa.select(_runs.c.id, _runs.c.started_at, _runs.c.created_at).where(
                _runs.c.job_id == job_id,
                _runs.c.status.in_(IN_PROGRESS),
                _lost(now - lost_after),
            )
        )
    ).all()
    failed = 0
    for row in lost:
        since = row.started_at or row.created_at
        marked = (
            await session.execute(
                sa.update(_runs)
                .where(_runs.c.id == row.id, _runs.c.status.in_(IN_PROGRESS))
                .values(
                    status="failed",
                    error=LOST_RUN_MESSAGE,
                    finished_at=now,
                    duration_ms=max(0, round((now - since).total_seconds() * 1000)),
                )
                .returning(_runs.c.id)
            )
        ).first()
        failed += marked is not None
    return failed


async def _insert_run(
    unit: UnitOfWork, job: Any, *, trigger: RunTrigger, now: datetime
) -> JobRunRecord:
    run_id = str(uuid.uuid4())
    await unit.session.execute(
        sa.insert(_runs).values(
            id=run_id,
            job_id=job.id,
            plugin_id=job.plugin_id,
            trigger=trigger,
            status="queued",
            logs=[],
            created_at=now,
        )
    )
    return JobRunRecord(
        id=run_id,
        job_id=str(job.id),
        job_key=job.job_key,
        plugin_id=str(job.plugin_id),
        trigger=trigger,
        status="queued",
        duration_ms=None,
        error=None,
        started_at=None,
        finished_at=None,
        created_at=now,
    )


def _run_select() -> sa.Select[Any]:
    return sa.select(_runs, _jobs.c.job_key).join(_jobs, _jobs.c.id == _runs.c.job_id)


def _job(row: Any) -> JobRecord:
    return JobRecord(
        id=str(row.id),
        plugin_id=str(row.plugin_id),
        job_key=row.job_key,
        schedule=row.schedule,
        status=row.status,
        last_run_at=row.last_run_at,
        next_run_at=row.next_run_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _run(row: Any) -> JobRunRecord:
    return JobRunRecord(
        id=str(row.id),
        job_id=str(row.job_id),
        job_key=row.job_key,
        plugin_id=str(row.plugin_id),
        trigger=row.trigger,
        status=row.status,
        duration_ms=row.duration_ms,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        created_at=row.created_at,
    )
