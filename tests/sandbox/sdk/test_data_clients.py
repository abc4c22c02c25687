"""The Python SDK's clients for the methods of Paperclip 2026.916.1 (``ctx.goals``,
``ctx.entities``, ``ctx.approvals``, ``ctx.agents.pause|resume``, ``ctx.http``), in a real
plugin against the real host, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db import Database, tables
from sandbox.plugin_host import PluginHost
from sandbox.protocol import RpcError
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.workers import FAST

WORKER = """
async def setup(ctx):
    async def goals(params, context):
        company = params["companyId"]
        root = await ctx.goals.create(company_id=company, title="Ship", level="company")
        await ctx.goals.create(company_id=company, title="Docs", parent_id=root["id"])
        await ctx.goals.update(root["id"], {"status": "active"}, company)
        listed = await ctx.goals.list(company_id=company)
        return {
            "titles": [goal["title"] for goal in listed],
            "root": await ctx.goals.get(root["id"], company),
        }

    async def entities(params, context):
        await ctx.entities.upsert(entity_type="ticket", scope_kind="instance", external_id="T-1")
        await ctx.entities.upsert(
            entity_type="ticket", scope_kind="instance", external_id="T-1", status="open"
        )
        return await ctx.entities.list(entity_type="ticket")

    async def approvals(params, context):
        return await ctx.approvals.list(company_id=params["companyId"], status="pending")

    async def pause(params, context):
        paused = await ctx.agents.pause(params["agentId"], params["companyId"])
        resumed = await ctx.agents.resume(params["agentId"], params["companyId"])
        return [paused["status"], resumed["status"]]

    async def sessions(params, context):
        made = await ctx.agents.sessions.create(params["agentId"], params["companyId"])
        listed = await ctx.agents.sessions.list(params["agentId"], params["companyId"])
        await ctx.agents.sessions.close(made["sessionId"], params["companyId"])
        left = await ctx.agents.sessions.list(params["agentId"], params["companyId"])
        return [[s["sessionId"] for s in listed], left, made["sessionId"]]

    async def fetch(params, context):
        await ctx.http.fetch(params["url"])

    ctx.actions.register("goals", goals)
    ctx.actions.register("entities", entities)
    ctx.actions.register("approvals", approvals)
    ctx.actions.register("pause", pause)
    ctx.actions.register("sessions", sessions)
    ctx.actions.register("fetch", fetch)

plugin = define_plugin(setup=setup)
"""

CAPABILITIES = (
    "goals.read",
    "goals.create",
    "goals.update",
    "approvals.read",
    "agents.pause",
    "agents.resume",
    "http.outbound",
    "agent.sessions.create",
    "agent.sessions.list",
    "agent.sessions.close",
)


@pytest.fixture
async def host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="in-process", timings=FAST) as plugin_host:
        yield plugin_host


async def test_the_new_clients_reach_the_host(
    host: PluginHost, db: Database, tmp_path: Path
) -> None:
    world: World = await make_world(db)
    record = await host.install(write_plugin(tmp_path / "data", WORKER, capabilities=CAPABILITIES))
    company = {"companyId": world.company_id}

    goals = await host.perform_action(record.id, "goals", company)
    assert goals["titles"] == ["Ship", "Docs"]
    assert goals["root"]["status"] == "active"

    [entity] = await host.perform_action(record.id, "entities", company)
    assert (entity["externalId"], entity["status"], entity["pluginId"]) == (
        "T-1",
        "open",
        record.id,
    )

    await world.insert(
        tables.approvals, company_id=world.company_id, type="hire_agent", payload={"n": 1}
    )
    [approval] = await host.perform_action(record.id, "approvals", company)
    assert (approval["type"], approval["status"]) == ("hire_agent", "pending")

    assert await host.perform_action(record.id, "pause", company | {"agentId": world.agent_id}) == [
        "paused",
        "idle",
    ]

    listed, left, made = await host.perform_action(
        record.id, "sessions", company | {"agentId": world.agent_id}
    )
    assert (listed, left) == ([made], [])

    with pytest.raises(RpcError, match="All resolved IPs for localhost are in private"):
        await host.perform_action(record.id, "fetch", {"url": "http://localhost:9/"})
