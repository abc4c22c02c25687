"""Agent wakeups: turning a wakeup request into a queued heartbeat run, or not.

An issue wakeup for an agent ends in one of four ways, each leaving the
``agent_wakeup_requests`` row upstream writes:

- **queued**: a new request and a new ``queued`` run (the issue's execution lock is stamped
  later, when a worker claims the run);
- **coalesced**: the issue already has a live run of the same agent; the new context is merged
  into it and the caller gets that run;
- **deferred**: another agent's run holds the issue; the request waits as
  ``deferred_issue_execution`` (merged into an earlier deferred request if there is one);
- **skipped**: the agent's heartbeat policy turns on-demand wakes off.

Beyond upstream, a wakeup with an idempotency key that was already used for the same agent
returns the earlier outcome instead of a second request; an advisory lock on the key makes that
hold under concurrent calls too.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from core.errors import Conflict, NotFound
from core.event_bus import LiveEvent
from core.unit_of_work import UnitOfWork
from db import advisory_xact_lock, tables
from db.constants import HEARTBEAT_RUN_ACTIVE_STATUSES
from db.types import JsonText

#: Agent statuses the heartbeat refuses to invoke.
_NOT_INVOKABLE = ("paused", "terminated", "pending_approval")

#: Wake reasons that follow up on a running execution and so wait for it to end.
_FOLLOW_UP_REASONS = ("approval_approved",)


@dataclass(frozen=True)
class IssueWakeup:
    """A request to wake an agent about an issue."""

    company_id: str
    agent_id: str
    issue_id: str
    source: str
    trigger_detail: str
    reason: str
    payload: Mapping[str, Any]
    context_snapshot: Mapping[str, Any]
    requested_by_actor_type: str
    requested_by_actor_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class WakeupOutcome:
    """What happened to a wakeup: its request row, its status, and the run it queued or joined."""

    request_id: str
    status: str
    run_id: str | None
    #: True when an earlier request with the same idempotency key was returned.
    replayed: bool = False

    @property
    def queued(self) -> bool:
        """Whether a run will do the work (upstream's ``queued``)."""
        return self.run_id is not None


def agent_name_key(name: str) -> str:
    """The normalised agent name stored in ``issues.execution_agent_name_key``."""
    return name.strip().lower()


async def load_agent(unit: UnitOfWork, company_id: str, agent_id: str) -> Mapping[str, Any]:
    """The agent to wake, or upstream's "Agent not found" (also for other companies' agents)."""
    agents = tables.agents
    row = (
        (await unit.session.execute(sa.select(agents).where(agents.c.id == agent_id)))
        .mappings()
        .first()
    )
    if row is None or str(row["company_id"]) != company_id:
        raise NotFound("Agent not found")
    return row


def _idempotency_lock_key(company_id: str, agent_id: str, key: str) -> int:
    digest = hashlib.sha256(f"wakeup\0{company_id}\0{agent_id}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def replay_idempotent_wakeup(
    unit: UnitOfWork, company_id: str, agent_id: str, key: str | None
) -> WakeupOutcome | None:
    """The earlier outcome of a wakeup with this key for this agent, or None.

    Takes a transaction-scoped lock on the key first, so concurrent wakeups with one key are
    serialised: the second sees the first's committed request.
    """
    if not key:
        return None
    await advisory_xact_lock(
        unit.dialect, unit.session, _idempotency_lock_key(company_id, agent_id, key)
    )
    requests = tables.agent_wakeup_requests
    row = (
        await unit.session.execute(
            sa.select(requests.c.id, requests.c.status, requests.c.run_id)
            .where(
                requests.c.company_id == company_id,
                requests.c.agent_id == agent_id,
                requests.c.idempotency_key == key,
            )
            .order_by(requests.c.requested_at, requests.c.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    run_id = str(row.run_id) if row.run_id else None
    return WakeupOutcome(str(row.id), row.status, run_id, replayed=True)


def check_invokable(agent: Mapping[str, Any]) -> None:
    """Refuse agents the heartbeat will not start (upstream's 409)."""
    if agent["status"] in _NOT_INVOKABLE:
        raise Conflict(
            "Agent is not invokable in its current state", details={"status": agent["status"]}
        )


def _wakes_on_demand(agent: Mapping[str, Any]) -> bool:
    heartbeat = (agent["runtime_config"] or {}).get("heartbeat") or {}
    for key in ("wakeOnDemand", "wakeOnAssignment", "wakeOnOnDemand", "wakeOnAutomation"):
        value = heartbeat.get(key)
        if value is not None:
            return bool(value)
    return True


async def enqueue_issue_wakeup(
    unit: UnitOfWork,
    wakeup: IssueWakeup,
    *,
    agent: Mapping[str, Any],
    issue: Mapping[str, Any],
) -> WakeupOutcome:
    """Queue, coalesce, defer or skip a wakeup (the issue row is locked by the caller)."""
    check_invokable(agent)
    snapshot = {
        **wakeup.context_snapshot,
        "wakeReason": wakeup.context_snapshot.get("wakeReason", wakeup.reason),
        "issueId": wakeup.issue_id,
        "taskId": wakeup.issue_id,
        "taskKey": wakeup.issue_id,
        "wakeSource": wakeup.source,
        "wakeTriggerDetail": wakeup.trigger_detail,
    }
    if not _wakes_on_demand(agent):
        return await _insert_request(
            unit, wakeup, status="skipped", reason="heartbeat.wakeOnDemand.disabled"
        )
    if str(issue["company_id"]) != wakeup.company_id:
        return await _insert_request(
            unit, wakeup, status="skipped", reason="issue_execution_issue_not_found"
        )

    active = await _active_execution_run(unit, issue)
    if active is not None:
        same_agent = str(active["agent_id"]) == wakeup.agent_id
        follow_up = active["status"] == "running" and wakeup.reason in _FOLLOW_UP_REASONS
        if same_agent and not follow_up:
            await unit.session.execute(
                sa.update(tables.heartbeat_runs)
                .where(tables.heartbeat_runs.c.id == active["id"])
                .values(
                    context_snapshot={**(active["context_snapshot"] or {}), **snapshot},
                    updated_at=unit.now,
                )
            )
            return await _insert_request(
                unit,
                wakeup,
                status="coalesced",
                reason="issue_execution_same_name",
                coalesced_count=1,
                run_id=str(active["id"]),
            )
        return await _defer(unit, wakeup, snapshot)
    return await _queue_run(unit, wakeup, snapshot)


async def _active_execution_run(
    unit: UnitOfWork, issue: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The issue's live run: its execution lock's run, else the oldest live run working on it.

    A lock held by a finished run is cleared; a live run found by its context is adopted as
    the lock, as upstream does.
    """
    runs = tables.heartbeat_runs
    now = unit.now
    if issue["execution_run_id"] is not None:
        locked = (
            (
                await unit.session.execute(
                    sa.select(runs).where(runs.c.id == issue["execution_run_id"])
                )
            )
            .mappings()
            .first()
        )
        if locked is not None and locked["status"] in HEARTBEAT_RUN_ACTIVE_STATUSES:
            return locked
        await unit.session.execute(
            sa.update(tables.issues)
            .where(tables.issues.c.id == issue["id"])
            .values(execution_run_id=None, execution_agent_name_key=None, execution_locked_at=None)
        )
    query = (
        sa.select(runs, tables.agents.c.name.label("agent_name"))
        .join(tables.agents, tables.agents.c.id == runs.c.agent_id)
        .where(
            runs.c.company_id == issue["company_id"],
            JsonText(runs.c.context_snapshot, "issueId") == str(issue["id"]),
            runs.c.status.in_(HEARTBEAT_RUN_ACTIVE_STATUSES),
        )
        .order_by(sa.case((runs.c.status == "running", 0), else_=1), runs.c.created_at, runs.c.id)
        .limit(1)
    )
    found = (await unit.session.execute(query)).mappings().first()
    if found is not None:
        await unit.session.execute(
            sa.update(tables.issues)
            .where(tables.issues.c.id == issue["id"])
            .values(
                execution_run_id=found["id"],
                execution_agent_name_key=agent_name_key(found["agent_name"]),
                execution_locked_at=now,
            )
        )
    return found


async def _insert_request(
    unit: UnitOfWork,
    wakeup: IssueWakeup,
    *,
    status: str,
    reason: str | None = None,
    coalesced_count: int = 0,
    run_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> WakeupOutcome:
    now = unit.now
    request_id = str(uuid.uuid4())
    await unit.session.execute(
        sa.insert(tables.agent_wakeup_requests).values(
            id=request_id,
            company_id=wakeup.company_id,
            agent_id=wakeup.agent_id,
            source=wakeup.source,
            trigger_detail=wakeup.trigger_detail,
            reason=reason or wakeup.reason,
            payload=dict(payload if payload is not None else wakeup.payload),
            status=status,
            coalesced_count=coalesced_count,
            requested_by_actor_type=wakeup.requested_by_actor_type,
            requested_by_actor_id=wakeup.requested_by_actor_id,
            idempotency_key=wakeup.idempotency_key,
            run_id=run_id,
            requested_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    return WakeupOutcome(request_id, status, run_id)


async def _defer(
    unit: UnitOfWork, wakeup: IssueWakeup, snapshot: Mapping[str, Any]
) -> WakeupOutcome:
    requests = tables.agent_wakeup_requests
    existing = (
        (
            await unit.session.execute(
                sa.select(requests.c.id, requests.c.payload, requests.c.coalesced_count)
                .where(
                    requests.c.company_id == wakeup.company_id,
                    requests.c.agent_id == wakeup.agent_id,
                    requests.c.status == "deferred_issue_execution",
                    JsonText(requests.c.payload, "issueId") == wakeup.issue_id,
                )
                .order_by(requests.c.requested_at)
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if existing is not None:
        await unit.session.execute(
            sa.update(requests)
            .where(requests.c.id == existing["id"])
            .values(
                payload={**(existing["payload"] or {}), **wakeup.payload},
                coalesced_count=existing["coalesced_count"] + 1,
                updated_at=unit.now,
            )
        )
        return WakeupOutcome(str(existing["id"]), "deferred_issue_execution", None)
    return await _insert_request(
        unit,
        wakeup,
        status="deferred_issue_execution",
        reason="issue_execution_deferred",
        payload={
            **wakeup.payload,
            "issueId": wakeup.issue_id,
            "_paperclipWakeContext": dict(snapshot),
        },
    )


async def _queue_run(
    unit: UnitOfWork, wakeup: IssueWakeup, snapshot: Mapping[str, Any]
) -> WakeupOutcome:
    outcome = await _insert_request(unit, wakeup, status="queued")
    now = unit.now
    run_id = str(uuid.uuid4())
    await unit.session.execute(
        sa.insert(tables.heartbeat_runs).values(
            id=run_id,
            company_id=wakeup.company_id,
            agent_id=wakeup.agent_id,
            invocation_source=wakeup.source,
            trigger_detail=wakeup.trigger_detail,
            status="queued",
            wakeup_request_id=outcome.request_id,
            context_snapshot=dict(snapshot),
            created_at=now,
            updated_at=now,
        )
    )
    # Every change of a request bumps ``updated_at``: live viewers follow changes by it.
    await unit.session.execute(
        sa.update(tables.agent_wakeup_requests)
        .where(tables.agent_wakeup_requests.c.id == outcome.request_id)
        .values(run_id=run_id, updated_at=now)
    )
    unit.publish_after_commit(
        LiveEvent(
            kind="heartbeat.run.queued",
            company_id=wakeup.company_id,
            subject={
                "runId": run_id,
                "agentId": wakeup.agent_id,
                "invocationSource": wakeup.source,
                "triggerDetail": wakeup.trigger_detail,
                "wakeupRequestId": outcome.request_id,
            },
        )
    )
    return WakeupOutcome(outcome.request_id, "queued", run_id)
