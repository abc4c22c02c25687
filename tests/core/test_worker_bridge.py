"""Worker-to-host calls through the bridge (core/worker_bridge/), on real databases."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import CapabilityDenied, InvalidInput, InvocationScopeDenied, NotFound
from core.event_bus import PluginEvent
from core.invocation_scope import CallContext
from core.plugin_config import save_config
from core.plugin_logs import list_logs
from core.worker_bridge import HostMethodNotFound, handled_methods
from db import tables
from tests.fixtures.bridge import KEY, NO_INVOCATION, bridge_for, scoped
from tests.fixtures.orchestration import World, make_world


async def test_unknown_methods_are_not_handled(world: World) -> None:
    bridge = await bridge_for(world)
    for method in ("access.members.list", "agents.managed.get", "nope"):
        with pytest.raises(HostMethodNotFound):
            await bridge.call(method)
    assert {"issues.create", "state.get", "db.query", "events.subscribe"} <= handled_methods()


async def test_a_missing_capability_is_refused_before_anything_runs(world: World) -> None:
    bridge = await bridge_for(world, ("issues.read",))
    with pytest.raises(CapabilityDenied) as denied:
        await bridge.call("issues.create", companyId=world.company_id, title="Nope")
    assert denied.value.message == (
        f'Plugin "{bridge.plugin_id}" is missing required capability "issues.create" '
        f'for method "issues.create" (plugin {KEY})'
    )
    assert denied.value.rpc_code == -32001
    assert await world.rows(tables.issues) == []
    # methods every plugin may call need no capability
    assert await bridge.call("config.get") == {}


async def test_the_invocation_scope_is_checked_after_the_capability(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    with pytest.raises(InvocationScopeDenied) as denied:
        await bridge.call("issues.list", scoped(world.company_id), companyId=other.company_id)
    assert denied.value.message == (
        f'Plugin "{bridge.plugin_id}" is not allowed to perform "issues.list": requested company '
        f'"{other.company_id}" but the current invocation is scoped to company '
        f'"{world.company_id}" (plugin {KEY})'
    )
    with pytest.raises(InvocationScopeDenied, match="missing, expired, or unknown invocation"):
        await bridge.call(
            "state.get",
            CallContext(invalid_invocation_scope=True),
            scopeKind="company",
            scopeId=world.company_id,
            stateKey="k",
        )
    listed = await bridge.call("issues.list", scoped(world.company_id), companyId=world.company_id)
    assert listed == []


async def test_config_get_reads_the_saved_config(world: World) -> None:
    bridge = await bridge_for(world)
    await save_config(world.db, bridge.plugin_id, {"mode": "strict"})
    assert await bridge.call("config.get") == {"mode": "strict"}


async def test_state_round_trips_through_the_wire_shape(world: World) -> None:
    bridge = await bridge_for(world)
    key = {"scopeKind": "issue", "scopeId": "i-1", "stateKey": "cursor"}
    assert await bridge.call("state.set", **key, value={"page": 2}) is None
    assert await bridge.call("state.get", **key) == {"page": 2}
    assert await bridge.call("state.get", **key | {"namespace": "other"}) is None
    await bridge.call("state.delete", **key)
    assert await bridge.call("state.get", **key) is None


async def test_issue_calls_take_camel_case_params_and_answer_wire_records(world: World) -> None:
    bridge = await bridge_for(world)
    created = await bridge.call(
        "issues.create",
        companyId=world.company_id,
        title="From the bridge",
        priority="high",
        assigneeAgentId=world.agent_id,
        actorAgentId=world.agent_id,
        unknownFutureField="ignored",
    )
    assert created["originKind"] == f"plugin:{KEY}"
    assert (created["priority"], created["assigneeAgentId"]) == ("high", world.agent_id)
    assert created["createdByAgentId"] == world.agent_id

    fetched = await bridge.call("issues.get", issueId=created["id"], companyId=world.company_id)
    assert fetched == created
    with pytest.raises(InvalidInput, match="^companyId is required for this operation$"):
        await bridge.call("issues.get", issueId=created["id"])


async def test_update_takes_the_actor_out_of_the_patch(world: World) -> None:
    """The published SDK folds the actor fields into ``patch``; they are not issue fields."""
    bridge = await bridge_for(world)
    issue = await world.issue(title="Before")
    updated = await bridge.call(
        "issues.update",
        issueId=issue,
        companyId=world.company_id,
        patch={"title": "After", "actorAgentId": world.agent_id, "actorRunId": None},
    )
    assert updated["title"] == "After"
    [activity] = await world.rows(
        tables.activity_log, tables.activity_log.c.action == "issue.updated"
    )
    assert str(activity["agent_id"]) == world.agent_id
    assert activity["details"]["patch"] == {"title": "After"}
    with pytest.raises(InvalidInput, match="^patch must be an object$"):
        await bridge.call("issues.update", issueId=issue, companyId=world.company_id, patch=[])


async def test_companies_list_is_filtered_to_the_invocations_company(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")

    everyone = await bridge.call("companies.list")
    assert [c["id"] for c in everyone] == [world.company_id, other.company_id]
    assert [c["id"] for c in await bridge.call("companies.list", limit=1, offset=1)] == [
        other.company_id
    ]
    in_scope = await bridge.call("companies.list", scoped(other.company_id))
    assert [c["id"] for c in in_scope] == [other.company_id]
    assert (await bridge.call("companies.get", companyId=other.company_id))["name"] == "Other"
    with pytest.raises(InvalidInput, match="^limit must be a non-negative integer$"):
        await bridge.call("companies.list", limit="10")


async def test_agents_are_read_within_their_company(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")

    agents = await bridge.call("agents.list", companyId=world.company_id)
    assert [a["id"] for a in agents] == [world.agent_id]
    assert await bridge.call("agents.list", companyId=world.company_id, status="paused") == []
    found = await bridge.call("agents.get", agentId=world.agent_id, companyId=world.company_id)
    assert found["name"] == "Engineer"
    assert (
        await bridge.call("agents.get", agentId=world.agent_id, companyId=other.company_id) is None
    )


async def test_events_subscribe_and_emit(world: World) -> None:
    bridge = await bridge_for(world)
    await bridge.call("events.subscribe", eventPattern="issue.*", filter={"companyId": "c"})
    await bridge.call("events.subscribe", eventPattern="plugin.*")
    assert bridge.subscriptions == [("issue.*", {"companyId": "c"}), ("plugin.*", None)]
    with pytest.raises(InvalidInput, match="^eventPattern must be a non-empty string$"):
        await bridge.call("events.subscribe", eventPattern="")

    seen: list[PluginEvent] = []
    world.bus.subscribe("plugin.*", seen.append)
    await bridge.call("events.emit", name="sync-done", companyId=world.company_id, payload={"n": 1})
    assert [(e.event_type, e.actor_type, e.actor_id, dict(e.payload)) for e in seen] == [
        (f"plugin.{KEY}.sync-done", "plugin", KEY, {"n": 1})
    ]
    with pytest.raises(InvalidInput, match='must not include the "plugin." prefix'):
        await bridge.call("events.emit", name="plugin.x", companyId=world.company_id)


async def test_logs_metrics_and_telemetry(world: World) -> None:
    bridge = await bridge_for(world)
    bridge.bridge.notification("log", {"level": "warn", "message": "careful"}, NO_INVOCATION)
    await bridge.call("log", level="error", message="request form")
    await bridge.call("metrics.write", name="items.synced", value=3, tags={"env": "dev"})
    await bridge.call("telemetry.track", eventName="sync_done")
    with pytest.raises(InvalidInput, match="lowercase slugs"):
        await bridge.call("telemetry.track", eventName="Sync Done")
    await bridge.logs.flush()

    lines = await list_logs(world.db, bridge.plugin_id)
    assert sorted((line.level, line.message) for line in lines) == [
        ("error", "request form"),
        ("metric", "items.synced"),
        ("warn", "careful"),
    ]


async def test_activity_log_writes_a_plugin_row(world: World) -> None:
    bridge = await bridge_for(world)
    await bridge.call(
        "activity.log", companyId=world.company_id, message="sync.finished", metadata={"n": 2}
    )
    [row] = await world.rows(tables.activity_log)
    assert (row["action"], row["actor_type"], str(row["actor_id"])) == (
        "sync.finished",
        "plugin",
        bridge.plugin_id,
    )
    assert row["details"]["n"] == 2


async def test_foreign_records_look_missing(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    foreign = await other.issue(title="Theirs")
    assert await bridge.call("issues.get", issueId=foreign, companyId=world.company_id) is None
    with pytest.raises(NotFound, match="^Issue not found$"):
        await bridge.call("issues.relations.get", issueId=foreign, companyId=world.company_id)


async def test_malformed_params_are_refused_with_one_line_messages(world: World) -> None:
    """Each method's params model answers a bad value with upstream's message where upstream
    has one, and a one-line message naming the wire field otherwise; nothing is written."""
    bridge = await bridge_for(world)
    company = world.company_id
    issue = await world.issue(title="Target")
    cases: list[tuple[str, Any, str]] = [
        (
            "issues.create",
            {"companyId": company, "title": "t", "originKind": 42},
            "Plugin issue originKind must be a string",
        ),
        ("issues.create", {"companyId": company, "title": 42}, "title must be a string"),
        ("issues.create", {"companyId": company}, "title is required"),
        ("issues.create", {"title": 42}, "companyId is required for this operation"),
        (
            "issues.update",
            {"companyId": company, "issueId": issue, "patch": {"originKind": 7}},
            "Plugin issue originKind must be a string",
        ),
        (
            "issues.update",
            {"companyId": company, "issueId": issue, "patch": {"requestDepth": "x"}},
            "requestDepth must be an integer",
        ),
        (
            "issues.relations.setBlockedBy",
            {"companyId": company, "issueId": issue, "blockedByIssueIds": "x"},
            "blocker issue ids must be a list of issue ids",
        ),
        (
            "issues.requestWakeups",
            {"companyId": company, "issueIds": [1]},
            "issueIds.0 must be a string",
        ),
        (
            "issues.getSubtree",
            {"companyId": company, "issueId": issue, "includeRoot": "maybe"},
            "includeRoot must be a boolean",
        ),
        ("issues.get", [], "params must be an object"),
        ("metrics.write", {"name": "n", "value": "1"}, "Metric value must be a number"),
        ("db.query", {"sql": 1}, "ctx.db SQL must be a string"),
        (
            "agents.list",
            {"companyId": company, "limit": -1},
            "limit must be a non-negative integer",
        ),
        ("telemetry.track", {"eventName": 5}, "Plugin telemetry event names must be lowercase"),
    ]
    for method, params, message in cases:
        with pytest.raises(InvalidInput) as refused:
            await bridge.bridge.handle(method, params, NO_INVOCATION)
        assert refused.value.message.startswith(message), (method, refused.value.message)
        assert "\n" not in refused.value.message
    assert [row["title"] for row in await world.rows(tables.issues)] == ["Target"]
    assert await world.rows(tables.activity_log) == []
