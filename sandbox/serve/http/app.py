"""The HTTP server of ``sandbox serve``: a Starlette app over one ``PluginHost``.

Routes (upstream's URLs, statuses and bodies; see each module):

- ``GET /api/health`` and ``GET /api/plugins/{pluginId}/health`` (health_routes);
- ``POST /api/plugins/{pluginId}/bridge/data|bridge/action|data/{key}|actions/{key}``
  (bridge_routes);
- any method on ``/api/plugins/{pluginId}/api/*`` (plugin_routes);
- ``GET /api/openapi.json`` (openapi).

Every answer is JSON. Unknown URLs are 404 ``{"error": "API route not found"}``, a known URL
with the wrong method 405 ``{"error": "Method not allowed"}``, and an unexpected exception is
logged with its traceback and answered 500 ``{"error": "Internal server error"}``, with nothing
of the exception in the body.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.plugin_host import PluginHost
from sandbox.serve.http.bridge_routes import action_by_key, bridge_action, bridge_data, data_by_key
from sandbox.serve.http.health_routes import host_health, plugin_health
from sandbox.serve.http.openapi import openapi_document
from sandbox.serve.http.plugin_routes import scoped_api_route
from sandbox.serve.http.responses import json_error

logger = logging.getLogger(__name__)

#: Methods the scoped mount receives (upstream's ``router.use`` sees every method; routes
#: declare only GET, POST, PATCH and DELETE, anything else is "Plugin API route not found").
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(host: PluginHost, *, local_trusted: bool = True) -> Starlette:
    """The server's ASGI app.

    Args:
        host: the plugin runtime the routes call; the caller owns its lifetime.
        local_trusted: callers without credentials act as the local operator (upstream's
            ``local_trusted`` deployment mode); False makes them anonymous.
    """
    plugin = "/api/plugins/{plugin_id}"
    app = Starlette(
        routes=[
            Route("/api/health", host_health, methods=["GET"]),
            Route("/api/openapi.json", _openapi, methods=["GET"]),
            Route(f"{plugin}/health", plugin_health, methods=["GET"]),
            Route(f"{plugin}/bridge/data", bridge_data, methods=["POST"]),
            Route(f"{plugin}/bridge/action", bridge_action, methods=["POST"]),
            Route(f"{plugin}/data/{{key}}", data_by_key, methods=["POST"]),
            Route(f"{plugin}/actions/{{key}}", action_by_key, methods=["POST"]),
            Route(f"{plugin}/api{{rest:path}}", scoped_api_route, methods=_ALL_METHODS),
        ],
        middleware=[Middleware(_InternalErrors)],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.host = host
    app.state.local_trusted = local_trusted
    return app


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


async def _http_exception(request: Request, error: Exception) -> Response:
    """Starlette's own 404 and 405 (no route, wrong method), as JSON."""
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return json_error(404, "API route not found")
    if error.status_code == 405:
        return json_error(405, "Method not allowed", headers=dict(error.headers or {}))
    return json_error(error.status_code, error.detail)


class _InternalErrors:
    """Logs an unexpected exception and answers 500 ``{"error": "Internal server error"}``.

    Starlette's own error middleware would answer in text and re-raise; this one keeps every
    answer JSON and the traceback in the log only. If the response had already started, the
    connection is left to the server to close.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = json_error(500, "Internal server error")
            await response(scope, receive, send)
