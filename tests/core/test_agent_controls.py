"""``agents.pause`` and ``agents.resume`` through the worker bridge (upstream's rules)."""

from __future__ import annotations

import pytest

from core.agents import create_agent
from core.errors import Conflict, NotFound
from db import tables
from tests.fixtures.bridge import bridge_for
from tests.fixtures.orchestration import World, make_world


async def test_pause_then_resume(world: World) -> None:
    bridge = await bridge_for(world)
    paused = await bridge.call("agents.pause", agentId=world.agent_id, companyId=world.company_id)
    assert (paused["status"], paused["pauseReason"]) == ("paused", "manual")
    assert paused["pausedAt"] is not None
    [row] = await world.rows(tables.agents, tables.agents.c.id == world.agent_id)
    assert row["status"] == "paused"

    resumed = await bridge.call("agents.resume", agentId=world.agent_id, companyId=world.company_id)
    assert (resumed["status"], resumed["pauseReason"], resumed["pausedAt"]) == ("idle", None, None)


@pytest.mark.parametrize(
    ("status", "method", "message"),
    [
        ("terminated", "agents.pause", "Cannot pause terminated agent"),
        ("terminated", "agents.resume", "Cannot resume terminated agent"),
        ("pending_approval", "agents.resume", "Pending approval agents cannot be resumed"),
    ],
)
async def test_refusals(world: World, status: str, method: str, message: str) -> None:
    bridge = await bridge_for(world)
    agent = await create_agent(world.db, company_id=world.company_id, name="Old", status=status)
    with pytest.raises(Conflict, match=f"^{message}$"):
        await bridge.call(method, agentId=agent.id, companyId=world.company_id)
    [row] = await world.rows(tables.agents, tables.agents.c.id == agent.id)
    assert row["status"] == status


async def test_another_companys_agent_is_not_found(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    for method in ("agents.pause", "agents.resume"):
        with pytest.raises(NotFound, match="^Agent not found$"):
            await bridge.call(method, agentId=other.agent_id, companyId=world.company_id)
    [row] = await world.rows(tables.agents, tables.agents.c.id == other.agent_id)
    assert row["status"] == "idle"
