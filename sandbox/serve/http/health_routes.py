"""Health: of the host (``GET /api/health``) and of one plugin (``GET /api/plugins/{id}/health``).

The plugin answer is upstream's ``PluginHealthCheckResult``: ``{pluginId, status, healthy,
checks: [{name, passed, message?}], lastError?}`` with its checks ``registry``, ``manifest``,
``status`` and (only when failing) ``error_state``, for board callers (403 "Board access
required" otherwise, 404 "Plugin not found"). Beyond upstream, a ``ready`` plugin also gets a
``worker`` check, which counts towards ``healthy``, and the worker's own ``health`` answer as
``worker``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import HostError
from core.manifest import HOST_VERSION
from core.scoped_routes import Refused
from sandbox.plugin_host import PluginActivationError, PluginHost
from sandbox.protocol import ProtocolError
from sandbox.serve.http.actors import board_request
from sandbox.serve.http.responses import json_error


async def host_health(request: Request) -> Response:
    """``GET /api/health``: the server is up and its database answers."""
    host: PluginHost = request.app.state.host
    return JSONResponse(
        {
            "status": "ok",
            "version": HOST_VERSION,
            "deploymentMode": "local_trusted"
            if request.app.state.local_trusted
            else "authenticated",
            "database": str(host.db.dialect),
        }
    )


async def plugin_health(request: Request) -> Response:
    """``GET /api/plugins/{pluginId}/health``: upstream's diagnostics, plus the worker's."""
    host: PluginHost = request.app.state.host
    try:
        _, plugin = await board_request(request)
    except Refused as refused:
        return json_error(refused.status, refused.message)
    has_manifest = bool(plugin.manifest_json.get("id"))
    ready = plugin.status == "ready"
    checks: list[dict[str, Any]] = [
        {"name": "registry", "passed": True, "message": "Plugin found in registry"},
        {
            "name": "manifest",
            "passed": has_manifest,
            "message": "Manifest is valid" if has_manifest else "Manifest is invalid or missing",
        },
        {"name": "status", "passed": ready, "message": f"Current status: {plugin.status}"},
    ]
    if plugin.last_error:
        checks.append({"name": "error_state", "passed": False, "message": plugin.last_error})
    worker: Any = None
    if ready:
        check, worker = await _worker_check(host, plugin.id)
        checks.append(check)
    result: dict[str, Any] = {
        "pluginId": plugin.id,
        "status": plugin.status,
        "healthy": all(check["passed"] for check in checks),
        "checks": checks,
    }
    if plugin.last_error:
        result["lastError"] = plugin.last_error
    if worker is not None:
        result["worker"] = worker
    return JSONResponse(result)


async def _worker_check(host: PluginHost, plugin_id: str) -> tuple[dict[str, Any], Any]:
    """The ``worker`` check, and the worker's own answer (None when it could not answer)."""
    try:
        answer = await host.health(plugin_id)
    except (ProtocolError, PluginActivationError, HostError) as error:
        message = getattr(error, "message", str(error))
        return {"name": "worker", "passed": False, "message": message}, None
    status = answer.get("status") if isinstance(answer, dict) else None
    message = answer.get("message") if isinstance(answer, dict) else None
    check = {
        "name": "worker",
        "passed": status == "ok",
        "message": message if isinstance(message, str) else f"Worker health: {status}",
    }
    return check, answer
