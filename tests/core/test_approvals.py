"""``approvals.list`` and ``approvals.get`` through the worker bridge: the company's approvals,
their payload secrets redacted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import tables
from tests.fixtures.bridge import bridge_for
from tests.fixtures.orchestration import World, make_world


async def _approval(world: World, status: str, minutes: int, **payload: object) -> str:
    created = datetime.now(UTC) + timedelta(minutes=minutes)
    return await world.insert(
        tables.approvals,
        company_id=world.company_id,
        type="hire_agent",
        status=status,
        requested_by_agent_id=world.agent_id,
        payload=payload,
        created_at=created,
        updated_at=created,
    )


async def test_list_by_status_oldest_first_with_secrets_redacted(world: World) -> None:
    bridge = await bridge_for(world)
    first = await _approval(world, "pending", 0, name="Coder", apiKey="sk-live-123")
    second = await _approval(world, "approved", 1, name="Tester")
    third = await _approval(world, "pending", 2, adapterConfig={"env": {"TOKEN": {"secret": 1}}})

    listed = await bridge.call("approvals.list", companyId=world.company_id)
    assert [a["id"] for a in listed] == [first, second, third]
    assert listed[0]["payload"] == {"name": "Coder", "apiKey": "***REDACTED***"}
    assert listed[0]["requestedByAgentId"] == world.agent_id
    pending = await bridge.call("approvals.list", companyId=world.company_id, status="pending")
    assert [a["id"] for a in pending] == [first, third]

    got = await bridge.call("approvals.get", companyId=world.company_id, approvalId=first)
    assert got == listed[0]
    [row] = await world.rows(tables.approvals, tables.approvals.c.id == first)
    assert row["payload"]["apiKey"] == "sk-live-123"  # stored as given, only the read is redacted


async def test_another_companys_approvals_are_not_there(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    theirs = await _approval(other, "pending", 0)
    assert await bridge.call("approvals.list", companyId=world.company_id) == []
    assert await bridge.call("approvals.get", companyId=world.company_id, approvalId=theirs) is None
    assert await bridge.call("approvals.get", companyId=world.company_id, approvalId="x") is None
