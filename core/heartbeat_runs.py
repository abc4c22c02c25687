"""Executing heartbeat runs: claim a queued run, finish it, recover runs whose host died.

Upstream's heartbeat service runs every queued run inside the one server that queued it. Here
several ``sandbox serve`` hosts share a database, so a run is claimed by exactly one host (a
``sandbox_run_leases`` row names it) and a host's death is noticed by the others.

Lifecycle, as upstream (server/src/services/heartbeat.ts):

- **claim**: the run goes ``queued`` -> ``running`` (``started_at``), its wakeup request
  ``claimed`` (``claimed_at``), the issue's execution lock is stamped with the run, the agent
  becomes ``running``, and ``agent.run.started`` is announced. Runs of ``paused`` or
  ``pending_approval`` agents stay queued (upstream does not start an agent's queue while it
  is paused); runs of ``terminated`` agents are cancelled.
- **finish**: ``succeeded`` / ``failed`` / ``timed_out`` with ``finished_at``, error, usage and
  result; the wakeup ``completed`` on success, else ``failed`` (see ``WAKEUP_STATUS_OF_RUN``);
  the issue's execution lock is released and the oldest deferred wakeup of the issue promoted
  to a queued run; one ``cost_events`` row carries the issue's billing code; the agent goes
  ``idle`` (or ``error`` after a failure); ``agent.run.finished`` or ``agent.run.failed``.
- **recovery** (upstream's ``reapOrphanedRuns``): a running run whose host stopped beating
  fails with ``process_lost``; a run that was not itself a process-loss retry is retried once
  by a new queued run (``retry_of_run_id``, ``process_loss_retry_count`` + 1) that inherits
  the issue's execution lock.

Every step is one transaction. The lease decides who may finish a run: finishing deletes it,
recovery deletes it, and whoever deletes it first wins, so a slow host whose run was already
recovered writes nothing. Beyond upstream, run lifecycle events are also activity rows (every
mutation is audited); their domain events reach subscribed plugins through the bus.

Lock order, to keep PostgreSQL free of deadlocks against plugin wakeups (which lock the issue
and then touch its run): issue rows are taken before run rows, and rows another transaction
holds are skipped (and retried later) rather than waited for.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from core.activity import record_activity
from core.comments import SNIPPET_CHARS, create_comment
from core.costs import record_cost_event
from core.event_bus import EventBus, LiveEvent
from core.hosts import dead_condition
from core.ids import as_uuid
from core.issues import update_issue
from core.unit_of_work import UnitOfWork, write
from core.wakeups import agent_name_key
from db import Database, any_of, lock_for_update, tables
from db.claims import claim_rows
from db.constants import HEARTBEAT_RUN_ACTIVE_STATUSES
from db.types import JsonText

#: Agent statuses whose queued runs wait (upstream leaves a paused agent's queue untouched).
LEFT_QUEUED_AGENT_STATUSES = ("paused", "pending_approval")
#: Agent statuses whose queued runs are cancelled when a host reaches them.
CANCELLED_AGENT_STATUSES = ("terminated",)

FinishStatus = Literal["succeeded", "failed", "timed_out"]

#: The wakeup request's final status per run status. Upstream copies the run's status, which
#: writes ``timed_out`` although ``WAKEUP_REQUEST_STATUSES`` has no such value; we keep the
#: request inside its value set and record a timed-out run's request as ``failed`` (the run
#: keeps ``timed_out`` and the request's ``error`` says why).
WAKEUP_STATUS_OF_RUN: Mapping[str, str] = {
    "succeeded": "completed",
    "failed": "failed",
    "timed_out": "failed",
    "cancelled": "cancelled",
}

#: The domain event announcing each final run status (upstream: timed out counts as failed).
_RUN_EVENT = {
    "succeeded": "agent.run.finished",
    "failed": "agent.run.failed",
    "timed_out": "agent.run.failed",
    "cancelled": "agent.run.cancelled",
}

PROCESS_LOST = "process_lost"
_SERVER_LOST = "Process lost -- server may have restarted"
_NOT_INVOKABLE = "Cancelled because the agent is not invokable"
#: Process-loss retries a run may have behind it before a loss is final (upstream: one).
MAX_PROCESS_LOSS_RETRIES = 1


@dataclass(frozen=True)
class ClaimedRun:
    """A run a host now executes."""

    id: str
    company_id: str
    agent_id: str
    agent_name: str
    wakeup_request_id: str | None
    issue_id: str | None
    invocation_source: str
    trigger_detail: str | None
    context_snapshot: Mapping[str, Any]
    started_at: datetime


@dataclass(frozen=True)
class RunCost:
    """What a run's model calls cost (one ``cost_events`` row)."""

    provider: str
    model: str
    cost_cents: int
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    biller: str | None = None
    billing_type: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, as its executor reports it."""

    status: FinishStatus
    error: str | None = None
    error_code: str | None = None
    exit_code: int | None = None
    usage: Mapping[str, Any] | None = None
    result: Mapping[str, Any] | None = None
    cost: RunCost | None = None
    #: A comment the agent leaves on the run's issue (written on success only).
    comment: str | None = None
    #: The status the agent moves the run's issue to (on success only).
    issue_status: str | None = None


@dataclass(frozen=True)
class FinishedRun:
    """What finishing a run wrote."""

    run_id: str
    status: str
    wakeup_status: str | None
    cost_event_id: str | None
    comment_id: str | None
    promoted_run_id: str | None


@dataclass(frozen=True)
class RecoveredRun:
    """A run lost with its host: failed, and retried when the rules allow."""

    run_id: str
    host_id: str
    error: str
    retry_run_id: str | None


@dataclass
class ClaimBatch:
    """The outcome of one claim: runs to execute, and runs cancelled on the way."""

    claimed: list[ClaimedRun] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _issue_of(snapshot: Mapping[str, Any] | None) -> str | None:
    return as_uuid((snapshot or {}).get("issueId"))


async def _announce(unit: UnitOfWork, run: Mapping[str, Any], status: str) -> None:
    """The activity row and domain event of a run's lifecycle step (upstream's payload)."""
    action = "agent.run.started" if status == "running" else _RUN_EVENT[status]
    agent_id = str(run["agent_id"])
    await record_activity(
        unit,
        company_id=str(run["company_id"]),
        actor_type="agent",
        actor_id=agent_id,
        action=action,
        entity_type="heartbeat_run",
        entity_id=str(run["id"]),
        agent_id=agent_id,
        run_id=str(run["id"]),
        details={
            "runId": str(run["id"]),
            "agentId": agent_id,
            "status": status,
            "invocationSource": run["invocation_source"],
            "triggerDetail": run["trigger_detail"],
            "error": run.get("error"),
            "errorCode": run.get("error_code"),
            "issueId": _issue_of(run["context_snapshot"]),
            "startedAt": _iso(run.get("started_at")),
            "finishedAt": _iso(run.get("finished_at")),
        },
    )


async def _lock_free_issues(unit: UnitOfWork, issue_ids: Sequence[str]) -> dict[str, Any]:
    """Lock the issues no other transaction holds; the others are left out (retried later)."""
    if not issue_ids:
        return {}
    issues = tables.issues
    query = claim_rows(
        unit.dialect,
        sa.select(issues).where(issues.c.id.in_(sorted(set(issue_ids)))).order_by(issues.c.id),
    )
    return {str(row["id"]): row for row in (await unit.session.execute(query)).mappings()}


async def _set_wakeup(
    unit: UnitOfWork, request_id: Any, status: str, now: datetime, **values: Any
) -> None:
    if request_id is None:
        return
    requests = tables.agent_wakeup_requests
    await unit.session.execute(
        sa.update(requests)
        .where(requests.c.id == request_id)
        .values(status=status, updated_at=now, **values)
    )


async def _set_agent_status(
    unit: UnitOfWork, agent_ids: Sequence[str], now: datetime, outcome: str | None
) -> None:
    """Upstream's agent status after a run starts (``outcome`` None) or ends.

    Paused and terminated agents keep their status. After a run ends the agent is ``running``
    while it has other running runs, else ``idle`` after success or cancellation and ``error``
    after a failure. Agents are updated in id order so concurrent hosts lock them alike.
    """
    agents, runs = tables.agents, tables.heartbeat_runs
    for agent_id in sorted(set(agent_ids)):
        if outcome is None:
            status: Any = sa.literal("running")
        else:
            after = "idle" if outcome in ("succeeded", "cancelled") else "error"
            running = (
                sa.select(sa.func.count())
                .where(runs.c.agent_id == agent_id, runs.c.status == "running")
                .scalar_subquery()
            )
            status = sa.case((running > 0, "running"), else_=after)
        await unit.session.execute(
            sa.update(agents)
            .where(agents.c.id == agent_id, agents.c.status.not_in(("paused", "terminated")))
            .values(status=status, last_heartbeat_at=now, updated_at=now)
        )


async def _stamp_issue_lock(
    unit: UnitOfWork, issue: Mapping[str, Any], run_id: str, agent_name: str, now: datetime
) -> None:
    """Point the issue's execution lock at the run unless another live run holds it."""
    issues, runs = tables.issues, tables.heartbeat_runs
    holder = issue["execution_run_id"]
    if holder is not None and str(holder) != run_id:
        status = await unit.session.scalar(sa.select(runs.c.status).where(runs.c.id == holder))
        if status in HEARTBEAT_RUN_ACTIVE_STATUSES:
            return
    await unit.session.execute(
        sa.update(issues)
        .where(issues.c.id == issue["id"])
        .values(
            execution_run_id=run_id,
            execution_agent_name_key=agent_name_key(agent_name),
            execution_locked_at=now,
        )
    )


async def _release_issue_lock(
    unit: UnitOfWork, issue: Mapping[str, Any] | None, run_id: str, now: datetime
) -> str | None:
    """Upstream's ``releaseIssueExecutionAndPromote``: clear the lock the run holds, then turn
    the issue's oldest deferred wakeup into a queued run. Returns the promoted run's id."""
    if issue is None:
        return None
    holder = _text(issue["execution_run_id"])
    if holder is not None and holder != run_id:
        return None  # another run holds the issue; its own finish promotes
    issues = tables.issues
    await unit.session.execute(
        sa.update(issues)
        .where(issues.c.id == issue["id"], issues.c.execution_run_id == run_id)
        .values(execution_run_id=None, execution_agent_name_key=None, execution_locked_at=None)
    )
    return await _promote_deferred(unit, issue, now)


async def _promote_deferred(
    unit: UnitOfWork, issue: Mapping[str, Any], now: datetime
) -> str | None:
    requests, agents = tables.agent_wakeup_requests, tables.agents
    deferred = (
        (
            await unit.session.execute(
                sa.select(requests, agents.c.name.label("agent_name"), agents.c.status.label("as"))
                .join(agents, agents.c.id == requests.c.agent_id)
                .where(
                    requests.c.company_id == issue["company_id"],
                    requests.c.status == "deferred_issue_execution",
                    JsonText(requests.c.payload, "issueId") == str(issue["id"]),
                )
                .order_by(requests.c.requested_at, requests.c.id)
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if deferred is None:
        return None
    current_status = await unit.session.scalar(
        sa.select(tables.issues.c.status).where(tables.issues.c.id == issue["id"])
    )
    if current_status in ("done", "cancelled"):
        await _set_wakeup(
            unit,
            deferred["id"],
            "failed",
            now,
            finished_at=now,
            error=f"Deferred wake skipped: issue is {current_status}",
        )
        return None
    if deferred["as"] in ("paused", "terminated", "pending_approval"):
        return None
    payload = dict(deferred["payload"] or {})
    snapshot = dict(payload.pop("_paperclipWakeContext", None) or {"issueId": str(issue["id"])})
    run_id = str(uuid.uuid4())
    await unit.session.execute(
        sa.insert(tables.heartbeat_runs).values(
            id=run_id,
            company_id=deferred["company_id"],
            agent_id=deferred["agent_id"],
            invocation_source=deferred["source"],
            trigger_detail=deferred["trigger_detail"],
            status="queued",
            wakeup_request_id=deferred["id"],
            context_snapshot=snapshot,
            created_at=now,
            updated_at=now,
        )
    )
    await _set_wakeup(unit, deferred["id"], "queued", now, run_id=run_id, payload=payload)
    await unit.session.execute(
        sa.update(tables.issues)
        .where(tables.issues.c.id == issue["id"])
        .values(
            execution_run_id=run_id,
            execution_agent_name_key=agent_name_key(deferred["agent_name"]),
            execution_locked_at=now,
        )
    )
    _publish_queued(unit, run_id, deferred["company_id"], deferred)
    return run_id


def _publish_queued(
    unit: UnitOfWork, run_id: str, company_id: Any, request: Mapping[str, Any]
) -> None:
    unit.publish_after_commit(
        LiveEvent(
            kind="heartbeat.run.queued",
            company_id=str(company_id),
            subject={
                "runId": run_id,
                "agentId": str(request["agent_id"]),
                "invocationSource": request["source"],
                "triggerDetail": request["trigger_detail"],
                "wakeupRequestId": str(request["id"]),
            },
        )
    )


# -- claim ---------------------------------------------------------------------------------------


async def claim_queued_runs(
    db: Database,
    *,
    host_id: str,
    limit: int,
    now: datetime,
    bus: EventBus | None = None,
    only: Sequence[str] | None = None,
) -> ClaimBatch:
    """Claim up to ``limit`` queued runs, oldest first, for ``host_id``; each run exactly once.

    Concurrent hosts never claim the same run: on PostgreSQL each skips the runs (and issues)
    another claimer has locked, on SQLite claimers take turns on the write lock. A stopped or
    unknown host claims nothing. ``only`` limits the claim to these run ids (the test harness
    starts the runs it seeds and no other).
    """
    runs, agents, hosts = tables.heartbeat_runs, tables.agents, tables.sandbox_hosts
    batch = ClaimBatch()
    if limit <= 0:
        return batch
    async with write(db, bus) as unit:
        session = unit.session
        pid = await session.scalar(
            sa.select(hosts.c.pid).where(hosts.c.id == host_id, hosts.c.stopped_at.is_(None))
        )
        if pid is None:
            return batch
        candidates = claim_rows(
            unit.dialect,
            sa.select(
                runs, agents.c.name.label("agent_name"), agents.c.status.label("agent_status")
            )
            .join(agents, agents.c.id == runs.c.agent_id)
            .where(runs.c.status == "queued", agents.c.status.not_in(LEFT_QUEUED_AGENT_STATUSES))
            .where(*([] if only is None else [any_of(unit.dialect, runs.c.id, list(only))]))
            .order_by(runs.c.created_at, runs.c.id)
            .limit(limit),
            of=runs,
        )
        rows = (await session.execute(candidates)).mappings().all()
        issue_of = {str(row["id"]): _issue_of(row["context_snapshot"]) for row in rows}
        free = await _lock_free_issues(unit, [i for i in issue_of.values() if i])
        started_agents = []
        for row in rows:
            run_id = str(row["id"])
            issue_id = issue_of[run_id]
            if issue_id is not None and issue_id not in free:
                issue_exists = await session.scalar(
                    sa.select(sa.func.count()).where(tables.issues.c.id == issue_id)
                )
                if issue_exists:
                    continue  # another transaction holds the issue: claim it next time
            issue = free.get(issue_id) if issue_id else None
            if row["agent_status"] in CANCELLED_AGENT_STATUSES:
                await _cancel(unit, row, issue, now)
                batch.cancelled.append(run_id)
                continue
            started_at = row["started_at"] or now
            await session.execute(
                sa.update(runs)
                .where(runs.c.id == run_id, runs.c.status == "queued")
                .values(
                    status="running",
                    started_at=started_at,
                    process_pid=pid,
                    process_started_at=now,
                    updated_at=now,
                )
            )
            await _set_wakeup(unit, row["wakeup_request_id"], "claimed", now, claimed_at=now)
            if issue is not None:
                await _stamp_issue_lock(unit, issue, run_id, row["agent_name"], now)
            await session.execute(
                sa.insert(tables.sandbox_run_leases).values(
                    run_id=run_id, host_id=host_id, leased_at=now
                )
            )
            await _announce(unit, {**row, "started_at": started_at}, "running")
            started_agents.append(str(row["agent_id"]))
            batch.claimed.append(
                ClaimedRun(
                    id=run_id,
                    company_id=str(row["company_id"]),
                    agent_id=str(row["agent_id"]),
                    agent_name=row["agent_name"],
                    wakeup_request_id=_text(row["wakeup_request_id"]),
                    issue_id=issue_id,
                    invocation_source=row["invocation_source"],
                    trigger_detail=row["trigger_detail"],
                    context_snapshot=dict(row["context_snapshot"] or {}),
                    started_at=started_at,
                )
            )
        await _set_agent_status(unit, started_agents, now, None)
    return batch


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def _cancel(
    unit: UnitOfWork, run: Mapping[str, Any], issue: Mapping[str, Any] | None, now: datetime
) -> None:
    runs = tables.heartbeat_runs
    await unit.session.execute(
        sa.update(runs)
        .where(runs.c.id == run["id"])
        .values(status="cancelled", finished_at=now, error=_NOT_INVOKABLE, updated_at=now)
    )
    await _set_wakeup(
        unit, run["wakeup_request_id"], "cancelled", now, finished_at=now, error=_NOT_INVOKABLE
    )
    await _release_issue_lock(unit, issue, str(run["id"]), now)
    await _announce(unit, {**run, "error": _NOT_INVOKABLE, "finished_at": now}, "cancelled")


# -- finish --------------------------------------------------------------------------------------


async def finish_run(
    db: Database,
    run_id: str,
    *,
    host_id: str,
    outcome: RunOutcome,
    now: datetime,
    bus: EventBus | None = None,
) -> FinishedRun | None:
    """Record how a run the host holds ended, all in one transaction.

    Returns None, writing nothing, when the host no longer holds the run (another host
    recovered it after this one stopped beating).
    """
    if outcome.status not in ("succeeded", "failed", "timed_out"):
        raise ValueError(
            f"a run finishes as succeeded, failed or timed_out, not {outcome.status!r}"
        )
    runs, leases = tables.heartbeat_runs, tables.sandbox_run_leases
    async with write(db, bus) as unit:
        session = unit.session
        snapshot = await session.scalar(
            sa.select(runs.c.context_snapshot).where(runs.c.id == run_id)
        )
        issue_id = _issue_of(snapshot)
        issue = None
        if issue_id is not None:
            # The issue before the run: plugin wakeups lock the issue, then touch its run.
            locked = sa.select(tables.issues).where(tables.issues.c.id == issue_id)
            locked = lock_for_update(unit.dialect, locked)
            issue = (await session.execute(locked)).mappings().first()
        held = await session.scalar(
            sa.delete(leases)
            .where(leases.c.run_id == run_id, leases.c.host_id == host_id)
            .returning(leases.c.run_id)
        )
        if held is None:
            return None
        updated = (
            (
                await session.execute(
                    sa.update(runs)
                    .where(runs.c.id == run_id, runs.c.status == "running")
                    .values(
                        status=outcome.status,
                        finished_at=now,
                        error=outcome.error,
                        error_code=outcome.error_code,
                        exit_code=outcome.exit_code,
                        usage_json=dict(outcome.usage) if outcome.usage is not None else None,
                        result_json=dict(outcome.result) if outcome.result is not None else None,
                        updated_at=now,
                    )
                    .returning(runs)
                )
            )
            .mappings()
            .first()
        )
        if updated is None:
            return None
        wakeup_status = WAKEUP_STATUS_OF_RUN[outcome.status]
        await _set_wakeup(
            unit,
            updated["wakeup_request_id"],
            wakeup_status,
            now,
            finished_at=now,
            error=outcome.error,
        )
        agent_id = str(updated["agent_id"])
        comment_id = None
        if issue is not None and outcome.status == "succeeded":
            comment_id = await _agent_writes(unit, issue, updated, outcome)
        promoted = await _release_issue_lock(unit, issue, run_id, now)
        cost_event_id = None
        cost = outcome.cost
        if cost is not None and (
            cost.cost_cents or cost.input_tokens or cost.cached_input_tokens or cost.output_tokens
        ):
            event = await record_cost_event(
                unit,
                company_id=str(updated["company_id"]),
                agent_id=agent_id,
                provider=cost.provider,
                model=cost.model,
                cost_cents=cost.cost_cents,
                input_tokens=cost.input_tokens,
                cached_input_tokens=cost.cached_input_tokens,
                output_tokens=cost.output_tokens,
                biller=cost.biller,
                billing_type=cost.billing_type,
                billing_code=issue["billing_code"] if issue is not None else None,
                issue_id=issue_id if issue is not None else None,
                project_id=_text(issue["project_id"]) if issue is not None else None,
                heartbeat_run_id=run_id,
                occurred_at=now,
            )
            cost_event_id = event.id
        await _announce(unit, updated, outcome.status)
        await _set_agent_status(unit, [agent_id], now, outcome.status)
    return FinishedRun(run_id, outcome.status, wakeup_status, cost_event_id, comment_id, promoted)


async def _agent_writes(
    unit: UnitOfWork, issue: Mapping[str, Any], run: Mapping[str, Any], outcome: RunOutcome
) -> str | None:
    """The comment and status change a successful run leaves on its issue."""
    agent_id = str(run["agent_id"])
    run_id = str(run["id"])
    comment_id = None
    if outcome.comment:
        comment = await create_comment(
            unit, issue, body=outcome.comment, author_agent_id=agent_id, created_by_run_id=run_id
        )
        comment_id = comment.id
        details = {"commentId": comment.id, "bodySnippet": outcome.comment[:SNIPPET_CHARS]}
        await _agent_activity(unit, issue, run, "issue.comment_added", details)
    if outcome.issue_status and outcome.issue_status != issue["status"]:
        await update_issue(unit, issue, {"status": outcome.issue_status}, actor_agent_id=agent_id)
        details = {"status": outcome.issue_status, "_previous": {"status": issue["status"]}}
        await _agent_activity(unit, issue, run, "issue.updated", details)
    return comment_id


async def _agent_activity(
    unit: UnitOfWork,
    issue: Mapping[str, Any],
    run: Mapping[str, Any],
    action: str,
    details: dict[str, Any],
) -> None:
    """Activity on the issue by the run's agent, within the run."""
    agent_id = str(run["agent_id"])
    await record_activity(
        unit,
        company_id=str(issue["company_id"]),
        actor_type="agent",
        actor_id=agent_id,
        action=action,
        entity_type="issue",
        entity_id=str(issue["id"]),
        agent_id=agent_id,
        run_id=str(run["id"]),
        details={"identifier": issue["identifier"], **details},
    )


# -- recovery ------------------------------------------------------------------------------------


async def recover_lost_runs(
    db: Database,
    *,
    host_id: str,
    now: datetime,
    dead_after: timedelta,
    bus: EventBus | None = None,
    limit: int = 100,
) -> list[RecoveredRun]:
    """Fail the runs of hosts that stopped, or last beat before ``now - dead_after``.

    Upstream's process-loss rules: the run fails with ``process_lost``, its wakeup fails, and
    a run that is not itself a process-loss retry is retried once by a new queued run that
    takes over the issue's execution lock. Each lost run is recovered exactly once, whichever
    live hosts try concurrently (the lease row is claimed, then deleted).
    """
    leases, hosts, runs = tables.sandbox_run_leases, tables.sandbox_hosts, tables.heartbeat_runs
    recovered: list[RecoveredRun] = []
    async with write(db, bus) as unit:
        session = unit.session
        lost = claim_rows(
            unit.dialect,
            sa.select(leases.c.run_id, leases.c.host_id, hosts.c.pid)
            .join(hosts, hosts.c.id == leases.c.host_id)
            .where(leases.c.host_id != host_id, dead_condition(now, dead_after))
            .order_by(leases.c.leased_at, leases.c.run_id)
            .limit(limit),
            of=leases,
        )
        for lease in (await session.execute(lost)).mappings().all():
            run = (
                (await session.execute(sa.select(runs).where(runs.c.id == lease["run_id"])))
                .mappings()
                .first()
            )
            issue_id = _issue_of(run["context_snapshot"]) if run is not None else None
            issue = None
            if issue_id is not None:
                free = await _lock_free_issues(unit, [issue_id])
                issue = free.get(issue_id)
                if issue is None and await session.scalar(
                    sa.select(sa.func.count()).where(tables.issues.c.id == issue_id)
                ):
                    continue  # the issue is busy: recover on the next pass
            await session.execute(sa.delete(leases).where(leases.c.run_id == lease["run_id"]))
            if run is None or run["status"] != "running":
                continue
            recovered.append(await _fail_lost_run(unit, run, issue, lease, now))
    return recovered


async def _fail_lost_run(
    unit: UnitOfWork,
    run: Mapping[str, Any],
    issue: Mapping[str, Any] | None,
    lease: Mapping[str, Any],
    now: datetime,
) -> RecoveredRun:
    runs = tables.heartbeat_runs
    pid = run["process_pid"] or lease["pid"]
    retry = (run["process_loss_retry_count"] or 0) < MAX_PROCESS_LOSS_RETRIES
    base = f"Process lost -- child pid {pid} is no longer running" if pid else _SERVER_LOST
    error = f"{base}; retrying once" if retry else base
    failed = (
        (
            await unit.session.execute(
                sa.update(runs)
                .where(runs.c.id == run["id"])
                .values(
                    status="failed",
                    finished_at=now,
                    error=error,
                    error_code=PROCESS_LOST,
                    updated_at=now,
                )
                .returning(runs)
            )
        )
        .mappings()
        .one()
    )
    await _set_wakeup(unit, run["wakeup_request_id"], "failed", now, finished_at=now, error=error)
    retry_run_id = None
    if retry:
        retry_run_id = await _enqueue_process_loss_retry(unit, run, issue, now)
    else:
        await _release_issue_lock(unit, issue, str(run["id"]), now)
    await _announce(unit, failed, "failed")
    await _set_agent_status(unit, [str(run["agent_id"])], now, "failed")
    return RecoveredRun(str(run["id"]), str(lease["host_id"]), error, retry_run_id)


async def _enqueue_process_loss_retry(
    unit: UnitOfWork, run: Mapping[str, Any], issue: Mapping[str, Any] | None, now: datetime
) -> str:
    """Upstream's ``enqueueProcessLossRetry``: a new wakeup and queued run for the lost one."""
    snapshot = dict(run["context_snapshot"] or {})
    issue_id = _issue_of(snapshot)
    request = {
        "id": str(uuid.uuid4()),
        "company_id": run["company_id"],
        "agent_id": run["agent_id"],
        "source": "automation",
        "trigger_detail": "system",
        "reason": "process_lost_retry",
        "payload": {**({"issueId": issue_id} if issue_id else {}), "retryOfRunId": str(run["id"])},
        "status": "queued",
        "requested_by_actor_type": "system",
        "requested_by_actor_id": None,
        "requested_at": now,
        "created_at": now,
        "updated_at": now,
    }
    retry_id = str(uuid.uuid4())
    await unit.session.execute(sa.insert(tables.agent_wakeup_requests).values(request))
    await unit.session.execute(
        sa.insert(tables.heartbeat_runs).values(
            id=retry_id,
            company_id=run["company_id"],
            agent_id=run["agent_id"],
            invocation_source="automation",
            trigger_detail="system",
            status="queued",
            wakeup_request_id=request["id"],
            context_snapshot={
                **snapshot,
                "retryOfRunId": str(run["id"]),
                "wakeReason": "process_lost_retry",
                "retryReason": PROCESS_LOST,
            },
            session_id_before=run["session_id_before"],
            retry_of_run_id=run["id"],
            process_loss_retry_count=(run["process_loss_retry_count"] or 0) + 1,
            created_at=now,
            updated_at=now,
        )
    )
    await _set_wakeup(unit, request["id"], "queued", now, run_id=retry_id)
    if issue is not None:
        await unit.session.execute(
            sa.update(tables.issues)
            .where(
                tables.issues.c.id == issue["id"],
                tables.issues.c.execution_run_id == run["id"],
            )
            .values(execution_run_id=retry_id, execution_locked_at=now)
        )
    _publish_queued(unit, retry_id, run["company_id"], request)
    return retry_id
