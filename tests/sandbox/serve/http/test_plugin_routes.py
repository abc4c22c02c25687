"""Scoped API routes over real HTTP (sandbox/serve/http/plugin_routes.py): upstream's §16.1 and
§16.2 cases as requests to a running server, with a real worker process answering."""

from __future__ import annotations

import dataclasses

import httpx

from core.agent_keys import create_agent_key, revoke_agent_key
from sandbox.plugin_host import PluginHost
from sandbox.serve.http import create_app
from sandbox.worker_process import WorkerStatus
from tests.fixtures.orchestration import make_world
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import FAST
from tests.sandbox.serve.http.conftest import PLUGIN_KEY, Served, running_server


async def agent_token(served: Served) -> str:
    _, token = await create_agent_key(
        served.world.db, served.world.company_id, served.world.agent_id, "tests"
    )
    return token


async def test_a_board_get_reaches_the_worker_with_params_query_actor_and_company(
    served: Served,
) -> None:
    record = await served.install()
    company = served.world.company_id

    answer = await served.client.get(
        f"/api/plugins/{record.id}/api/companies/acme/summary",
        params={"companyId": company, "view": "compact"},
        headers={"Authorization": "Bearer should-not-forward", "x-request-id": "req-1"},
    )

    assert answer.status_code == 201
    body = answer.json()
    assert body["handled"] is True
    received = body["input"]
    assert received["routeKey"] == "summary.get"
    assert received["method"] == "GET"
    assert received["path"] == "/companies/acme/summary"
    assert received["params"] == {"companySlug": "acme"}
    assert received["query"] == {"companyId": company, "view": "compact"}
    assert received["companyId"] == company
    # an unknown bearer key leaves the local operator in place, as upstream's middleware does
    assert received["actor"]["actorType"] == "user"
    assert received["actor"]["actorId"] == "local-board"
    assert "authorization" not in received["headers"]
    assert received["headers"]["x-request-id"] == "req-1"


async def test_only_allowlisted_response_headers_come_back(served: Served) -> None:
    await served.install()

    answer = await served.client.get(
        f"/api/plugins/{PLUGIN_KEY}/api/headers", params={"companyId": served.world.company_id}
    )

    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-request-id"] == "plugin-request"
    assert "content-security-policy" not in answer.headers
    assert "location" not in answer.headers


async def test_an_agent_owning_the_checkout_passes_a_protected_post(served: Served) -> None:
    await served.install()
    world = served.world
    run_id = await world.run()
    issue_id = await world.issue(
        status="in_progress",
        assignee_agent_id=world.agent_id,
        checkout_run_id=run_id,
        execution_run_id=run_id,
    )
    token = await agent_token(served)

    answer = await served.client.post(
        f"/api/plugins/{PLUGIN_KEY}/api/issues/{issue_id}/advance",
        json={"step": "next"},
        headers={"Authorization": f"Bearer {token}", "x-paperclip-run-id": run_id},
    )

    assert answer.status_code == 200, answer.text
    received = answer.json()["input"]
    assert received["routeKey"] == "issue.advance"
    assert received["params"] == {"issueId": issue_id}
    assert received["body"] == {"step": "next"}
    assert received["companyId"] == world.company_id
    assert received["actor"] == {
        "actorType": "agent",
        "actorId": world.agent_id,
        "agentId": world.agent_id,
        "userId": None,
        "runId": run_id,
    }


async def test_a_protected_post_without_a_run_id_is_401_before_the_worker(
    served: Served,
) -> None:
    await served.install()
    world = served.world
    run_id = await world.run()
    issue_id = await world.issue(
        status="in_progress", assignee_agent_id=world.agent_id, checkout_run_id=run_id
    )
    token = await agent_token(served)

    answer = await served.client.post(
        f"/api/plugins/{PLUGIN_KEY}/api/issues/{issue_id}/advance",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert (answer.status_code, answer.json()) == (401, {"error": "Agent run id required"})
    assert await served.worker_api_calls() == 0


async def test_a_checkout_held_by_another_run_is_409_before_the_worker(served: Served) -> None:
    await served.install()
    world = served.world
    holder = await world.run(status="running")
    caller_run = await world.run(status="running")
    issue_id = await world.issue(
        status="in_progress", assignee_agent_id=world.agent_id, checkout_run_id=holder
    )
    token = await agent_token(served)

    answer = await served.client.post(
        f"/api/plugins/{PLUGIN_KEY}/api/issues/{issue_id}/strict",
        json={},
        headers={"Authorization": f"Bearer {token}", "x-paperclip-run-id": caller_run},
    )

    assert (answer.status_code, answer.json()) == (409, {"error": "Issue run ownership conflict"})
    assert await served.worker_api_calls() == 0


async def test_a_disabled_plugin_is_503(served: Served) -> None:
    await served.install()
    await served.host.disable(PLUGIN_KEY)

    answer = await served.client.get(
        f"/api/plugins/{PLUGIN_KEY}/api/headers", params={"companyId": served.world.company_id}
    )

    assert answer.status_code == 503
    assert answer.json() == {"error": "Plugin is not ready (current status: disabled)"}


async def test_a_ready_plugin_whose_worker_is_down_is_503(served: Served) -> None:
    slow_restart = dataclasses.replace(FAST, backoff_base=60.0, backoff_max=60.0)
    async with (
        PluginHost(served.world.db, timings=slow_restart) as host,
        running_server(host) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30.0) as client,
    ):
        served.host, served.client = host, client
        await served.install()
        crashed = await client.post(f"/api/plugins/{PLUGIN_KEY}/actions/exit")
        assert crashed.status_code == 502
        assert crashed.json()["code"] == "WORKER_UNAVAILABLE"
        active = host.active(PLUGIN_KEY)
        assert active is not None
        await wait_until(lambda: active.worker.status is not WorkerStatus.RUNNING)

        answer = await client.get(
            f"/api/plugins/{PLUGIN_KEY}/api/headers",
            params={"companyId": served.world.company_id},
        )

        assert (answer.status_code, answer.json()) == (
            503,
            {"error": "Plugin worker is not running"},
        )


async def test_dispatch_by_plugin_key_after_company_access(served: Served) -> None:
    await served.install()
    token = await agent_token(served)
    company = served.world.company_id
    other = await make_world(served.world.db, name="Other")

    answer = await served.client.get(
        f"/api/plugins/{PLUGIN_KEY}/api/smoke",
        params={"companyId": company},
        headers={"Authorization": f"Bearer {token}"},
    )
    refused = await served.client.get(
        f"/api/plugins/{PLUGIN_KEY}/api/smoke",
        params={"companyId": other.company_id},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 200
    received = answer.json()["input"]
    assert (received["routeKey"], received["method"], received["companyId"]) == (
        "smoke",
        "GET",
        company,
    )
    assert received["query"] == {"companyId": company}
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "Agent key cannot access another company"},
    )


async def test_bearer_keys_valid_unknown_and_revoked(served: Served) -> None:
    await served.install()
    world = served.world
    record, token = await create_agent_key(world.db, world.company_id, world.agent_id, "t")
    url = f"/api/plugins/{PLUGIN_KEY}/api/mine"

    valid = await served.client.get(url, headers={"Authorization": f"Bearer {token}"})
    unknown = await served.client.get(url, headers={"Authorization": "Bearer pcp_nobody"})
    await revoke_agent_key(world.db, record.id)
    revoked = await served.client.get(url, headers={"Authorization": f"Bearer {token}"})

    assert valid.status_code == 200
    # no companyResolution: the agent's own company
    assert valid.json()["input"]["companyId"] == world.company_id
    assert valid.json()["input"]["actor"]["agentId"] == world.agent_id
    # upstream keeps the default actor (here the local board) for keys it does not know
    assert (unknown.status_code, unknown.json()) == (403, {"error": "Agent access required"})
    assert (revoked.status_code, revoked.json()) == (403, {"error": "Agent access required"})


async def test_without_local_trust_an_unknown_key_is_unauthorized(served: Served) -> None:
    await served.install()
    # the same host, served by an app whose callers without a known key are nobody
    app = create_app(served.host, local_trusted=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        answer = await client.get(
            f"/api/plugins/{PLUGIN_KEY}/api/mine", headers={"Authorization": "Bearer nope"}
        )
    assert (answer.status_code, answer.json()) == (401, {"error": "Unauthorized"})


async def test_worker_answers_and_refusals_keep_upstream_shapes(served: Served) -> None:
    await served.install()
    company = served.world.company_id
    base = f"/api/plugins/{PLUGIN_KEY}/api"

    no_content = await served.client.delete(f"{base}/nothing", params={"companyId": company})
    assert (no_content.status_code, no_content.content) == (204, b"")

    missing = await served.client.get(f"{base}/nowhere", params={"companyId": company})
    assert (missing.status_code, missing.json()) == (404, {"error": "Plugin API route not found"})

    unknown = await served.client.get("/api/plugins/nobody.here/api/smoke")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Plugin not found"})

    text = await served.client.post(
        f"{base}/echo",
        params={"companyId": company},
        content=b"hello",
        headers={"content-type": "text/plain"},
    )
    assert (text.status_code, text.json()) == (
        415,
        {"error": "Plugin API routes accept JSON requests only"},
    )

    escaped = await served.client.get(f"{base}/companies/%E0%A4%A/summary")
    assert escaped.status_code == 400
    assert escaped.json() == {"error": "Failed to decode param '%E0%A4%A'"}


async def test_a_malformed_or_oversized_json_body_is_400(served: Served) -> None:
    await served.install()
    url = f"/api/plugins/{PLUGIN_KEY}/api/echo?companyId={served.world.company_id}"
    json_type = {"content-type": "application/json"}

    malformed = await served.client.post(url, content=b'{"step": ', headers=json_type)
    scalar = await served.client.post(url, content=b'"just a string"', headers=json_type)
    huge = await served.client.post(
        url, content=b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}', headers=json_type
    )

    assert malformed.status_code == 400
    assert malformed.json()["error"].startswith("Malformed JSON in request body: ")
    assert "\n" not in malformed.json()["error"]
    assert (scalar.status_code, scalar.json()) == (
        400,
        {"error": "JSON request body must be an object or an array"},
    )
    assert (huge.status_code, huge.json()) == (
        400,
        {"error": "Request body is larger than the limit of 10485760 bytes"},
    )
    assert await served.worker_api_calls() == 0
