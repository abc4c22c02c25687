"""Checkout ownership: may this agent run act on this issue now?

Upstream's rules plus its later fixes: a stale or unowned checkout is adopted only by a live run
of the assigned agent, under the issue's row lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import Conflict
from core.ids import as_uuid
from core.unit_of_work import UnitOfWork
from db import tables
from db.constants import HEARTBEAT_RUN_ACTIVE_STATUSES


async def _run(unit: UnitOfWork, run_id: Any) -> Mapping[str, Any] | None:
    if as_uuid(run_id) is None:
        return None
    query = sa.select(
        tables.heartbeat_runs.c.company_id,
        tables.heartbeat_runs.c.agent_id,
        tables.heartbeat_runs.c.status,
    ).where(tables.heartbeat_runs.c.id == as_uuid(run_id))
    return (await unit.session.execute(query)).mappings().first()


def _is_live(run: Mapping[str, Any] | None) -> bool:
    return run is not None and run["status"] in HEARTBEAT_RUN_ACTIVE_STATUSES


async def assert_checkout_owner(
    unit: UnitOfWork,
    issue: Mapping[str, Any],
    *,
    actor_agent_id: str | None,
    actor_run_id: str | None,
) -> records.CheckoutOwnership:
    """Confirm (or adopt) the run lock of an in-progress issue for the acting agent run.

    Args:
        issue: the issue row, locked by the caller's transaction.

    Raises:
        Conflict: "Issue run ownership conflict", with the state in ``details``.
    """
    company_id = str(issue["company_id"])
    checkout = _text(issue["checkout_run_id"])
    owner = _text(issue["assignee_agent_id"])
    actor_agent = as_uuid(actor_agent_id)
    actor_run = as_uuid(actor_run_id)
    result = {
        "issue_id": issue["id"],
        "status": issue["status"],
        "assignee_agent_id": owner,
        "checkout_run_id": checkout,
        "adopted_from_run_id": None,
    }
    if issue["status"] == "in_progress" and actor_agent is not None and owner == actor_agent:
        if checkout == actor_run:
            return records.CheckoutOwnership.model_validate(result)
        current = await _run(unit, checkout) if checkout else None
        lock_is_stale = checkout is None or not _is_live(current)
        if actor_run is None and lock_is_stale:
            # A lock held by a finished (or vanished) run is no lock: clear it.
            if checkout is not None:
                await _set_run_lock(unit, issue["id"], None)
            return records.CheckoutOwnership.model_validate({**result, "checkout_run_id": None})
        if actor_run is not None and lock_is_stale:
            run = await _run(unit, actor_run)
            if (
                _is_live(run)
                and run is not None
                and str(run["company_id"]) == company_id
                and str(run["agent_id"]) == actor_agent
            ):
                await _set_run_lock(unit, issue["id"], actor_run)
                return records.CheckoutOwnership.model_validate(
                    {**result, "checkout_run_id": actor_run, "adopted_from_run_id": checkout}
                )
    raise Conflict(
        "Issue run ownership conflict",
        details={
            "issueId": str(issue["id"]),
            "status": issue["status"],
            "assigneeAgentId": owner,
            "checkoutRunId": checkout,
            "executionRunId": _text(issue["execution_run_id"]),
            "actorAgentId": actor_agent_id,
            "actorRunId": actor_run_id,
        },
    )


async def _set_run_lock(unit: UnitOfWork, issue_id: Any, run_id: str | None) -> None:
    now = unit.now
    await unit.session.execute(
        sa.update(tables.issues)
        .where(tables.issues.c.id == issue_id)
        .values(
            checkout_run_id=run_id,
            execution_run_id=run_id,
            execution_locked_at=now if run_id else None,
            updated_at=now,
        )
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
