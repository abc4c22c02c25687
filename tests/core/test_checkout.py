"""Checkout ownership for run-scoped plugin actions."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from core.host_services.params import CheckoutOwner
from db import tables
from tests.fixtures.orchestration import World


async def _checked_out(world: World, *, run_status: str = "running") -> tuple[str, str]:
    issue_id = await world.issue(status="in_progress", assignee_agent_id=world.agent_id)
    run_id = await world.run(status=run_status, context_snapshot={"issueId": issue_id})
    async with world.db.transaction() as session:
        await session.execute(
            tables.issues.update()
            .where(tables.issues.c.id == issue_id)
            .values(checkout_run_id=run_id, execution_run_id=run_id)
        )
    return issue_id, run_id


async def test_owner_passes_without_writing(world: World) -> None:
    issue_id, run_id = await _checked_out(world)
    result = await world.services.issues.assert_checkout_owner(
        CheckoutOwner(
            issue_id=issue_id,
            company_id=world.company_id,
            actor_agent_id=world.agent_id,
            actor_run_id=run_id,
        )
    )
    assert (result.checkout_run_id, result.adopted_from_run_id) == (run_id, None)
    assert await world.rows(tables.activity_log) == []


async def test_live_run_adopts_a_stale_checkout_and_logs_it(world: World) -> None:
    issue_id, old_run = await _checked_out(world, run_status="failed")
    new_run = await world.run(status="running", context_snapshot={"issueId": issue_id})
    result = await world.services.issues.assert_checkout_owner(
        CheckoutOwner(
            issue_id=issue_id,
            company_id=world.company_id,
            actor_agent_id=world.agent_id,
            actor_run_id=new_run,
        )
    )
    assert (result.checkout_run_id, result.adopted_from_run_id) == (new_run, old_run)
    [row] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
    assert (str(row["checkout_run_id"]), str(row["execution_run_id"])) == (new_run, new_run)
    [activity] = await world.rows(tables.activity_log)
    assert activity["action"] == "issue.checkout_lock_adopted"
    assert (
        activity["details"]
        | {
            "previousCheckoutRunId": old_run,
            "checkoutRunId": new_run,
            "reason": "stale_checkout_run",
            "initiatingActorType": "agent",
        }
        == activity["details"]
    )
    assert str(activity["run_id"]) == new_run


@pytest.mark.parametrize("case", ["live_other_run", "finished_actor_run", "wrong_agent", "todo"])
async def test_conflicts_carry_the_state(world: World, case: str) -> None:
    issue_id, run_id = await _checked_out(world)
    actor_run = await world.run(status="succeeded" if case == "finished_actor_run" else "running")
    actor_agent = world.agent_id
    if case == "wrong_agent":
        actor_agent = "00000000-0000-4000-8000-000000000000"
    if case == "todo":
        async with world.db.transaction() as session:
            await session.execute(
                tables.issues.update().where(tables.issues.c.id == issue_id).values(status="todo")
            )
    with pytest.raises(Conflict, match="^Issue run ownership conflict$") as raised:
        await world.services.issues.assert_checkout_owner(
            CheckoutOwner(
                issue_id=issue_id,
                company_id=world.company_id,
                actor_agent_id=actor_agent,
                actor_run_id=actor_run,
            )
        )
    assert raised.value.details["checkoutRunId"] == run_id
    assert raised.value.details["actorRunId"] == actor_run
    [row] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
    assert str(row["checkout_run_id"]) == run_id
