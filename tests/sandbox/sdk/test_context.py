"""The ``ctx`` clients (sandbox/sdk/_context.py, _issues.py): what they send, what they return.

The full surface is compared with the published SDK in tests/sandbox/test_wire_compat.py; these
cover the cases the probe plugins do not.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import CapabilityDenied
from sandbox.sdk import Actor, PluginContext, PluginEvent, RpcError, define_plugin
from sandbox.sdk._context import WorkerState
from tests.fixtures.protocol import wait_until
from tests.sandbox.sdk.conftest import INITIALIZE, SdkHost, served


def capture(contexts: list[PluginContext]) -> Any:
    """A plugin whose setup hands its ``ctx`` to the test."""
    return define_plugin(setup=contexts.append)


async def test_the_manifest_is_there_only_after_initialize() -> None:
    contexts: list[PluginContext] = []
    async with served(capture(contexts)) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        assert contexts[0].manifest == {"id": "sdk-test"}
        assert contexts[0].db.namespace == ""


def test_reading_the_manifest_too_early_fails() -> None:
    ctx = PluginContext(host=None, state=WorkerState())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="Plugin context accessed before initialization"):
        _ = ctx.manifest


async def test_logger_and_streams_are_notifications() -> None:
    contexts: list[PluginContext] = []
    async with served(capture(contexts)) as (connection, host):
        await connection.call("initialize", INITIALIZE)
        ctx = contexts[0]
        ctx.logger.debug("d")
        ctx.logger.warn("w", {"k": 1})
        ctx.logger.error("e")
        ctx.streams.emit("never-opened", {"x": 1})
        ctx.streams.close("never-opened")
        await wait_until(lambda: len(host.notifications) == 5)
    assert [(m, p) for m, p, _ in host.notifications] == [
        ("log", {"level": "debug", "message": "d"}),
        ("log", {"level": "warn", "message": "w", "meta": {"k": 1}}),
        ("log", {"level": "error", "message": "e"}),
        ("streams.emit", {"channel": "never-opened", "companyId": "", "event": {"x": 1}}),
        ("streams.close", {"channel": "never-opened", "companyId": ""}),
    ]


async def test_a_refused_subscription_only_logs_a_warning() -> None:
    host = SdkHost(answers={"events.subscribe": CapabilityDenied("no events.subscribe")})
    contexts: list[PluginContext] = []
    async with served(capture(contexts), host) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        contexts[0].events.on("issue.created", lambda event: None)
        await wait_until(lambda: bool(host.logs()))
    assert host.logs() == [
        ("warn", 'Failed to subscribe to event "issue.created" on host: no events.subscribe')
    ]


async def test_unsubscribing_stops_local_delivery() -> None:
    seen: list[str] = []
    contexts: list[PluginContext] = []
    event = {"eventId": "e1", "eventType": "goal.created", "occurredAt": "2026-07-07T10:00:00Z"}
    async with served(capture(contexts)) as (connection, _):
        await connection.call("initialize", INITIALIZE)

        def remember(received: PluginEvent) -> None:
            seen.append(received.event_id)

        unsubscribe = contexts[0].events.on("goal.*", remember)
        await connection.call("onEvent", {"event": event})
        unsubscribe()
        unsubscribe()
        await connection.call("onEvent", {"event": event | {"eventId": "e2"}})
    assert seen == ["e1"]


async def test_host_errors_reach_plugin_code_with_their_code() -> None:
    host = SdkHost(answers={"issues.get": CapabilityDenied("denied")})
    contexts: list[PluginContext] = []
    async with served(capture(contexts), host) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        with pytest.raises(RpcError) as raised:
            await contexts[0].issues.get("i1", "c1")
    assert (raised.value.code, raised.value.message) == (-32001, "denied")


async def test_empty_answers_become_empty_values() -> None:
    contexts: list[PluginContext] = []
    async with served(capture(contexts)) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        ctx = contexts[0]
        assert await ctx.config.get() == {}
        assert await ctx.issues.list(company_id="c1") == []
        assert await ctx.issues.get("i1", "c1") is None
        assert await ctx.db.query("SELECT 1") == []
        assert await ctx.companies.list() == []


async def test_update_sends_a_camel_case_patch_with_the_actor_folded_in() -> None:
    issue = {
        "id": "i1",
        "companyId": "c1",
        "title": "T",
        "status": "blocked",
        "priority": "low",
        "originKind": "manual",
        "createdAt": "2026-07-07T10:00:00Z",
        "updatedAt": "2026-07-07T10:00:00Z",
    }
    host = SdkHost(answers={"issues.update": issue})
    contexts: list[PluginContext] = []
    async with served(capture(contexts), host) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        updated = await contexts[0].issues.update(
            "i1",
            {"status": "blocked", "billing_code": None, "blockedByIssueIds": ["i2"]},
            "c1",
            actor=Actor(agent_id="a1", run_id="r1"),
        )
    assert updated.status == "blocked" and updated.created_at.tzinfo is not None
    assert host.calls[-1][:2] == (
        "issues.update",
        {
            "issueId": "i1",
            "patch": {
                "status": "blocked",
                "billingCode": None,
                "blockedByIssueIds": ["i2"],
                "actorAgentId": "a1",
                "actorRunId": "r1",
            },
            "companyId": "c1",
        },
    )
