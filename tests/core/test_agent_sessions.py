"""``agents.sessions.create|list|close`` through the worker bridge: a plugin's own sessions
with the company's agents (upstream's ``agent_task_sessions`` rows)."""

from __future__ import annotations

import re

import pytest

from core.errors import NotFound
from db import tables
from tests.fixtures.bridge import KEY, bridge_for
from tests.fixtures.orchestration import World, make_world

_ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_create_list_close(world: World) -> None:
    bridge = await bridge_for(world)
    company, agent = world.company_id, world.agent_id
    first = await bridge.call("agents.sessions.create", agentId=agent, companyId=company)
    second = await bridge.call(
        "agents.sessions.create", agentId=agent, companyId=company, reason="chat"
    )
    assert (first["agentId"], first["companyId"], first["status"]) == (agent, company, "active")
    assert _ISO_MS.match(first["createdAt"])
    [row] = [
        r
        for r in await world.rows(tables.agent_task_sessions)
        if str(r["id"]) == first["sessionId"]
    ]
    assert row["task_key"].startswith(f"plugin:{KEY}:session:")
    assert row["adapter_type"] == "process"

    listed = await bridge.call("agents.sessions.list", agentId=agent, companyId=company)
    assert {s["sessionId"] for s in listed} == {first["sessionId"], second["sessionId"]}

    assert (
        await bridge.call("agents.sessions.close", sessionId=first["sessionId"], companyId=company)
        is None
    )
    listed = await bridge.call("agents.sessions.list", agentId=agent, companyId=company)
    assert [s["sessionId"] for s in listed] == [second["sessionId"]]
    with pytest.raises(NotFound, match=f"^Session not found: {first['sessionId']}$"):
        await bridge.call("agents.sessions.close", sessionId=first["sessionId"], companyId=company)


async def test_a_task_key_of_the_plugins_choosing_is_not_its_session(world: World) -> None:
    bridge = await bridge_for(world)
    made = await bridge.call(
        "agents.sessions.create",
        agentId=world.agent_id,
        companyId=world.company_id,
        taskKey="my-own-key",
    )
    [row] = await world.rows(tables.agent_task_sessions)
    assert row["task_key"] == "my-own-key"
    assert (
        await bridge.call(
            "agents.sessions.list", agentId=world.agent_id, companyId=world.company_id
        )
        == []
    )
    with pytest.raises(NotFound, match="^Session not found"):
        await bridge.call(
            "agents.sessions.close", sessionId=made["sessionId"], companyId=world.company_id
        )


async def test_other_companies_and_plugins_keep_theirs(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    with pytest.raises(NotFound, match="^Agent not found$"):
        await bridge.call(
            "agents.sessions.create", agentId=other.agent_id, companyId=world.company_id
        )
    theirs = await bridge.call(
        "agents.sessions.create", agentId=other.agent_id, companyId=other.company_id
    )
    with pytest.raises(NotFound, match="^Session not found"):
        await bridge.call(
            "agents.sessions.close", sessionId=theirs["sessionId"], companyId=world.company_id
        )
    assert (
        await bridge.call(
            "agents.sessions.list", agentId=other.agent_id, companyId=world.company_id
        )
        == []
    )
    assert len(await world.rows(tables.agent_task_sessions)) == 1
