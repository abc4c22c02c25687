"""A real HTTP server for the server tests: uvicorn on 127.0.0.1 (port 0) in the test's event
loop, over a ``PluginHost`` on the ``db`` fixture (both backends), with a real Python worker
process for the plugin the test installs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from core.records import PluginRecord
from db import Database
from sandbox.plugin_host import PluginHost
from sandbox.serve.http import create_app
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.plugin_packages import DEFAULT_CAPABILITIES, write_plugin
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import FAST

PLUGIN_KEY = "paperclip.scoped-api-test"
FROM_QUERY = {"from": "query", "key": "companyId"}
FROM_ISSUE = {"from": "issue", "param": "issueId"}


def route(route_key: str, method: str, path: str, auth: str, **extra: Any) -> dict[str, Any]:
    """A manifest route declaration."""
    return {
        "routeKey": route_key,
        "method": method,
        "path": path,
        "auth": auth,
        "capability": "api.routes.register",
        **extra,
    }


#: The test plugin's routes: those of upstream's §16.1 and §16.2 tests, and a few more.
ROUTES = [
    route(
        "summary.get",
        "GET",
        "/companies/:companySlug/summary",
        "board",
        companyResolution=FROM_QUERY,
    ),
    route("headers.get", "GET", "/headers", "board", companyResolution=FROM_QUERY),
    route(
        "issue.advance",
        "POST",
        "/issues/:issueId/advance",
        "agent",
        checkoutPolicy="required-for-agent-in-progress",
        companyResolution=FROM_ISSUE,
    ),
    route(
        "issue.strict",
        "POST",
        "/issues/:issueId/strict",
        "agent",
        checkoutPolicy="always-for-agent",
        companyResolution=FROM_ISSUE,
    ),
    route("smoke", "GET", "/smoke", "board-or-agent", companyResolution=FROM_QUERY),
    route("mine", "GET", "/mine", "agent"),
    route("nothing", "DELETE", "/nothing", "board", companyResolution=FROM_QUERY),
    route("echo.post", "POST", "/echo", "board", companyResolution=FROM_QUERY),
]

#: The worker: scoped routes echo what they received; actions and data for the bridge tests.
WORKER = """
from sandbox.sdk import RpcError

#: Scoped API requests this worker handled, so tests can tell that a refusal never reached it.
API_CALLS = {"count": 0}


async def setup(ctx):
    async def echo(params, context):
        return {"params": params, "actor": context.actor.model_dump(by_alias=True)}

    async def fail(params, context):
        raise RpcError(params["code"], params["message"])

    async def explode(params, context):
        raise RuntimeError("action exploded")

    async def exit_now(params, context):
        os._exit(3)

    async def data_echo(params):
        return {"params": params}

    ctx.actions.register("echo", echo)
    ctx.actions.register("fail", fail)
    ctx.actions.register("explode", explode)
    ctx.actions.register("exit", exit_now)
    ctx.data.register("echo", data_echo)
    ctx.data.register("api-calls", lambda params: API_CALLS["count"])


def on_api_request(request):
    API_CALLS["count"] += 1
    if request.route_key == "headers.get":
        return {
            "status": 200,
            "headers": {
                "cache-control": "no-store",
                "content-security-policy": "default-src 'none'",
                "location": "https://example.com/elsewhere",
                "x-request-id": "plugin-request",
            },
            "body": {"ok": True},
        }
    if request.route_key == "nothing":
        return {"status": 204, "body": {"dropped": True}}
    status = 201 if request.route_key == "summary.get" else 200
    body = {"handled": True, "input": request.model_dump(mode="json", by_alias=True)}
    return {"status": status, "body": body}


def on_health():
    return {"status": "ok", "message": "worker fine"}


plugin = define_plugin(setup=setup, on_api_request=on_api_request, on_health=on_health)
"""


@dataclass
class Served:
    """What a server test talks to."""

    client: httpx.AsyncClient
    host: PluginHost
    world: World
    base_url: str
    tmp_path: Path

    async def install(self, **manifest: Any) -> PluginRecord:
        """Install the test plugin (its worker in its own process)."""
        manifest.setdefault("apiRoutes", ROUTES)
        capabilities = manifest.pop("capabilities", (*DEFAULT_CAPABILITIES, "api.routes.register"))
        path = write_plugin(
            self.tmp_path / "scoped", WORKER, key=PLUGIN_KEY, capabilities=capabilities, **manifest
        )
        return await self.host.install(path)

    async def worker_api_calls(self) -> int:
        """How many scoped API requests the plugin's worker has handled."""
        answer = await self.client.post(f"/api/plugins/{PLUGIN_KEY}/data/api-calls")
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: the test process keeps its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_server(host: PluginHost) -> AsyncIterator[str]:
    """Serve ``create_app(host)`` on 127.0.0.1 at a free port; yields the base URL."""
    config = uvicorn.Config(
        create_app(host), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started or task.done(), timeout=10.0)
        if task.done():
            task.result()
            raise AssertionError("uvicorn stopped before it started")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10.0)


@pytest.fixture
async def served(db: Database, tmp_path: Path) -> AsyncIterator[Served]:
    world = await make_world(db)
    async with (
        PluginHost(db, python_workers="subprocess", timings=FAST) as host,
        running_server(host) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30.0) as client,
    ):
        yield Served(client, host, world, base_url, tmp_path)
