"""Worker-side dispatch of host-to-worker methods (sandbox/sdk/_dispatch.py)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.sdk import (
    ActionActor,
    ActionContext,
    ConfigValidation,
    PluginContext,
    WebhookInput,
    define_plugin,
)
from sandbox.sdk._dispatch import action_context
from tests.sandbox.sdk.conftest import INITIALIZE, served


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, ActionContext(actor=ActionActor(type="system")), id="no-actor-context"),
        pytest.param(
            {"actorContext": {"type": "agent", "agentId": " a1 ", "runId": "r1", "companyId": "c"}},
            ActionContext(
                actor=ActionActor(type="agent", agent_id="a1", run_id="r1", company_id="c"),
                company_id="c",
            ),
            id="agent",
        ),
        pytest.param(
            {"actorContext": {"type": "admin", "userId": "", "companyId": 5}},
            ActionContext(actor=ActionActor(type="system")),
            id="unknown-type-and-junk",
        ),
        pytest.param(
            {"companyId": "c9", "actorContext": "nope"},
            ActionContext(actor=ActionActor(type="system")),
            id="no-fallback-to-params-company",
        ),
    ],
)
def test_action_context(params: dict[str, Any], expected: ActionContext) -> None:
    assert action_context(params) == expected


async def test_supported_methods_follow_the_defined_hooks() -> None:
    plugin = define_plugin(
        setup=lambda ctx: None,
        on_api_request=lambda request: {},
        on_shutdown=lambda: None,
        on_health=lambda: {"status": "ok"},
        on_config_changed=lambda config: None,
        on_validate_config=lambda config: {"ok": True},
        on_webhook=lambda delivery: None,
    )
    async with served(plugin) as (connection, _):
        result = await connection.call("initialize", INITIALIZE)
    assert result == {
        "ok": True,
        "supportedMethods": [
            "validateConfig",
            "configChanged",
            "health",
            "shutdown",
            "handleApiRequest",
        ],
    }


async def test_lifecycle_hooks_may_be_plain_or_async_functions() -> None:
    seen: list[Any] = []

    async def validate(config: dict[str, Any]) -> ConfigValidation:
        return ConfigValidation(ok=False, errors=[f"bad {config['x']}"])

    async def webhook(delivery: WebhookInput) -> None:
        seen.append(delivery)

    plugin = define_plugin(
        setup=lambda ctx: None,
        on_validate_config=validate,
        on_config_changed=seen.append,
        on_webhook=webhook,
    )
    async with served(plugin) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        assert await connection.call("validateConfig", {"config": {"x": 1}}) == {
            "ok": False,
            "errors": ["bad 1"],
        }
        assert await connection.call("configChanged", {"config": {"x": 2}}) is None
        delivery = {
            "endpointKey": "github",
            "headers": {"x-hub": ["a", "b"]},
            "rawBody": "{}",
            "parsedBody": {},
            "requestId": "req-1",
        }
        assert await connection.call("handleWebhook", delivery) is None
    assert seen == [{"x": 2}, WebhookInput.model_validate(delivery)]


async def test_config_changed_without_a_hook_is_accepted() -> None:
    async with served(define_plugin(setup=lambda ctx: None)) as (connection, _):
        assert await connection.call("configChanged", {"config": {"x": 2}}) is None


async def test_handler_params_without_company_or_render_environment() -> None:
    def setup(ctx: PluginContext) -> None:
        ctx.data.register("echo", lambda params: params)

    async with served(define_plugin(setup=setup)) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        assert await connection.call("getData", {"key": "echo", "params": {"a": 1}}) == {"a": 1}
        assert await connection.call("getData", {"key": "echo"}) == {}


async def test_a_job_gets_its_typed_context() -> None:
    runs: list[Any] = []

    def setup(ctx: PluginContext) -> None:
        ctx.jobs.register("sync", runs.append)

    job = {
        "jobKey": "sync",
        "runId": "r1",
        "trigger": "schedule",
        "scheduledAt": "2026-07-07T10:00:00Z",
    }
    async with served(define_plugin(setup=setup)) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        assert await connection.call("runJob", {"job": job}) is None
    assert [(run.job_key, run.run_id, run.trigger, run.scheduled_at.year) for run in runs] == [
        ("sync", "r1", "schedule", 2026)
    ]
