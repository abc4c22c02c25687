"""The server as a whole (sandbox/serve/http/app.py, health_routes.py, openapi.py): health, unknown
URLs and methods, the OpenAPI document, and 500s that reveal nothing."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import schemathesis

from core.agent_keys import create_agent_key
from core.scoped_routes import ApiCaller, ApiRequest, ApiResponse
from sandbox.plugin_host import PluginHost
from tests.sandbox.serve.http.conftest import PLUGIN_KEY, Served, running_server


async def test_the_host_health(served: Served) -> None:
    answer = await served.client.get("/api/health")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["deploymentMode"] == "local_trusted"
    assert body["database"] in {"sqlite", "postgres"}


async def test_a_ready_plugin_is_healthy_with_its_worker(served: Served) -> None:
    record = await served.install()

    answer = await served.client.get(f"/api/plugins/{PLUGIN_KEY}/health")

    assert answer.status_code == 200
    body = answer.json()
    assert body.pop("worker") == {"status": "ok", "message": "worker fine"}
    assert body == {
        "pluginId": record.id,
        "status": "ready",
        "healthy": True,
        "checks": [
            {"name": "registry", "passed": True, "message": "Plugin found in registry"},
            {"name": "manifest", "passed": True, "message": "Manifest is valid"},
            {"name": "status", "passed": True, "message": "Current status: ready"},
            {"name": "worker", "passed": True, "message": "worker fine"},
        ],
    }


async def test_a_disabled_plugin_is_unhealthy_with_its_reason(served: Served) -> None:
    record = await served.install()
    await served.host.disable(PLUGIN_KEY, reason="paused by a test")
    world = served.world
    _, token = await create_agent_key(world.db, world.company_id, world.agent_id, "t")

    answer = await served.client.get(f"/api/plugins/{record.id}/health")
    agent = await served.client.get(
        f"/api/plugins/{record.id}/health", headers={"Authorization": f"Bearer {token}"}
    )
    missing = await served.client.get("/api/plugins/nobody.here/health")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["healthy"], body["lastError"]) == (
        "disabled",
        False,
        "paused by a test",
    )
    assert body["checks"][2:] == [
        {"name": "status", "passed": False, "message": "Current status: disabled"},
        {"name": "error_state", "passed": False, "message": "paused by a test"},
    ]
    assert (agent.status_code, agent.json()) == (403, {"error": "Board access required"})
    assert (missing.status_code, missing.json()) == (404, {"error": "Plugin not found"})


async def test_unknown_urls_and_methods_answer_json(served: Served) -> None:
    unknown = await served.client.get("/api/nothing/here")
    outside = await served.client.get("/favicon.ico")
    wrong_method = await served.client.delete("/api/health")
    not_the_mount = await served.client.get("/api/plugins/x/apifoo")

    assert (unknown.status_code, unknown.json()) == (404, {"error": "API route not found"})
    assert (outside.status_code, outside.json()) == (404, {"error": "API route not found"})
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"error": "Method not allowed"},
    )
    assert "GET" in wrong_method.headers["allow"]
    assert (not_the_mount.status_code, not_the_mount.json()) == (
        404,
        {"error": "API route not found"},
    )


async def test_the_openapi_document_is_valid_and_lists_the_routes(served: Served) -> None:
    answer = await served.client.get("/api/openapi.json")

    assert answer.status_code == 200
    document = answer.json()
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.1 meta-schema
    assert set(document["paths"]) == {
        "/api/health",
        "/api/openapi.json",
        "/api/plugins/{pluginId}/health",
        "/api/plugins/{pluginId}/bridge/data",
        "/api/plugins/{pluginId}/bridge/action",
        "/api/plugins/{pluginId}/data/{key}",
        "/api/plugins/{pluginId}/actions/{key}",
        "/api/plugins/{pluginId}/api/{path}",
    }


class _FailingHost(PluginHost):
    """A host whose scoped-route call fails unexpectedly (a bug in the host, say)."""

    async def api_request(
        self, ref: str, request: ApiRequest, caller: ApiCaller | None = None
    ) -> ApiResponse:
        raise RuntimeError("secret internals: password=hunter2")


async def test_an_unexpected_exception_is_a_bare_500_and_is_logged(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        _FailingHost(served.world.db) as host,
        running_server(host) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        with caplog.at_level(logging.ERROR, logger="sandbox.serve.http.app"):
            answer = await client.get(f"/api/plugins/{PLUGIN_KEY}/api/smoke")

    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/json")
    body: Any = answer.json()
    assert body == {"error": "Internal server error"}
    assert "hunter2" not in answer.text
    assert any("hunter2" in (record.exc_text or "") for record in caplog.records)
