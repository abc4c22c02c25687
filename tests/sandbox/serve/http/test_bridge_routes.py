"""The UI bridge over real HTTP (sandbox/serve/http/bridge_routes.py): getData and performAction by
body key and by URL key, upstream's refusals, and the 502 code mapping of worker failures."""

from __future__ import annotations

import pytest

from core.agent_keys import create_agent_key
from tests.sandbox.serve.http.conftest import PLUGIN_KEY, Served


@pytest.mark.parametrize(
    ("url", "body"),
    [
        pytest.param("bridge/action", {"key": "echo"}, id="body-key"),
        pytest.param("actions/echo", {}, id="url-key"),
    ],
)
async def test_an_action_answers_data_with_the_caller_and_company(
    served: Served, url: str, body: dict[str, object]
) -> None:
    await served.install()
    company = served.world.company_id

    answer = await served.client.post(
        f"/api/plugins/{PLUGIN_KEY}/{url}",
        json={**body, "companyId": company, "params": {"x": 1}},
        headers={"x-paperclip-run-id": "run-7"},
    )

    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["params"] == {"x": 1, "companyId": company, "renderEnvironment": None}
    assert data["actor"]["type"] == "user"
    assert data["actor"]["userId"] == "local-board"
    assert data["actor"]["runId"] == "run-7"
    assert data["actor"]["companyId"] == company


@pytest.mark.parametrize(
    ("url", "body"),
    [
        pytest.param("bridge/data", {"key": "echo"}, id="body-key"),
        pytest.param("data/echo", {}, id="url-key"),
    ],
)
async def test_data_answers_with_params_and_company(
    served: Served, url: str, body: dict[str, object]
) -> None:
    record = await served.install()
    company = served.world.company_id

    answer = await served.client.post(
        f"/api/plugins/{record.id}/{url}",
        json={**body, "companyId": company, "params": {"q": "open"}},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "data": {"params": {"q": "open", "companyId": company, "renderEnvironment": None}}
    }


@pytest.mark.parametrize(
    ("code", "bridge_code"),
    [
        (-32000, "WORKER_UNAVAILABLE"),
        (-32001, "CAPABILITY_DENIED"),
        (-32002, "WORKER_ERROR"),
        (-32003, "TIMEOUT"),
        (-32004, "WORKER_ERROR"),
        (-32005, "INVOCATION_SCOPE_DENIED"),
        (-32099, "WORKER_ERROR"),
        (-32042, "UNKNOWN"),
    ],
)
async def test_worker_failures_are_502_with_the_bridge_code(
    served: Served, code: int, bridge_code: str
) -> None:
    await served.install()

    answer = await served.client.post(
        f"/api/plugins/{PLUGIN_KEY}/actions/fail",
        json={"params": {"code": code, "message": f"failed with {code}"}},
    )

    assert answer.status_code == 502
    assert answer.json() == {"code": bridge_code, "message": f"failed with {code}"}


async def test_a_throwing_handler_and_an_unknown_key_are_worker_errors(served: Served) -> None:
    await served.install()

    thrown = await served.client.post(f"/api/plugins/{PLUGIN_KEY}/actions/explode")
    unknown = await served.client.post(
        f"/api/plugins/{PLUGIN_KEY}/bridge/data", json={"key": "nope"}
    )

    assert thrown.status_code == 502
    body = thrown.json()
    trace = body.pop("trace")
    assert body == {
        "code": "WORKER_ERROR",
        "message": "action exploded",
        "errorType": "RuntimeError",
    }
    assert 'raise RuntimeError("action exploded")' in trace  # beyond upstream: where it raised
    assert unknown.status_code == 502
    assert unknown.json()["code"] == "WORKER_ERROR"


async def test_refusals_before_the_worker(served: Served) -> None:
    await served.install()
    world = served.world
    _, token = await create_agent_key(world.db, world.company_id, world.agent_id, "t")
    base = f"/api/plugins/{PLUGIN_KEY}"

    agent = await served.client.post(
        f"{base}/actions/echo", headers={"Authorization": f"Bearer {token}"}
    )
    unknown_plugin = await served.client.post("/api/plugins/nobody.here/actions/echo")
    no_key = await served.client.post(f"{base}/bridge/action", json={"params": {}})
    bad_params = await served.client.post(f"{base}/actions/echo", json={"params": [1]})
    blank_company = await served.client.post(f"{base}/actions/echo", json={"companyId": " "})
    no_company = await served.client.post(
        f"{base}/actions/echo", json={"companyId": "00000000-0000-4000-8000-000000000000"}
    )
    malformed = await served.client.post(
        f"{base}/bridge/data", content=b"{key", headers={"content-type": "application/json"}
    )

    assert (agent.status_code, agent.json()) == (403, {"error": "Board access required"})
    assert (unknown_plugin.status_code, unknown_plugin.json()) == (
        404,
        {"error": "Plugin not found"},
    )
    assert (no_key.status_code, no_key.json()) == (
        400,
        {"error": '"key" is required and must be a string'},
    )
    assert (bad_params.status_code, bad_params.json()) == (
        400,
        {"error": '"params" must be an object'},
    )
    assert (blank_company.status_code, blank_company.json()) == (
        400,
        {"error": '"companyId" must be a non-empty string when provided'},
    )
    assert (no_company.status_code, no_company.json()) == (404, {"error": "Company not found"})
    assert malformed.status_code == 400
    assert malformed.json()["error"].startswith("Malformed JSON in request body: ")


async def test_a_plugin_that_is_not_ready_is_502_worker_unavailable(served: Served) -> None:
    await served.install()
    await served.host.disable(PLUGIN_KEY)

    answer = await served.client.post(f"/api/plugins/{PLUGIN_KEY}/bridge/data", json={"key": "x"})

    assert (answer.status_code, answer.json()) == (
        502,
        {
            "code": "WORKER_UNAVAILABLE",
            "message": "Plugin is not ready (current status: disabled)",
        },
    )
