"""The UI bridge: ``getData`` and ``performAction`` over HTTP (upstream's routes/plugins.ts).

``POST /api/plugins/{pluginId}/bridge/data`` and ``/bridge/action`` take
``{key, companyId?, params?, renderEnvironment?}``; ``/data/{key}`` and ``/actions/{key}`` take
the same body with the key in the URL. Answers, in upstream's order:

- 403 ``{"error": "Board access required"}`` for a caller that is not a board;
- 404 ``{"error": "Plugin not found"}``;
- 502 ``{"code": "WORKER_UNAVAILABLE", "message": "Plugin is not ready (current status: <s>)"}``;
- 400 ``{"error": ...}`` for a bad body (the key, ``params`` not an object, a blank
  ``companyId``), then the caller's access to ``companyId`` (401/403) and, beyond upstream,
  404 "Company not found" for a company that does not exist;
- 200 ``{"data": result}``, or 502 ``{code, message, details?}`` when the worker call fails,
  with the 2026.707.0 code mapping (``bridge_error``); beyond upstream, a handler's exception
  adds ``errorType`` and ``trace`` (its traceback or stack), which the CLI prints.

The company goes to the worker as ``PluginHost.perform_action``/``get_data`` send it (the
2026.707.0 wire). ``renderEnvironment`` is accepted but not forwarded: the host sends null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.companies import get_company
from core.errors import HostError
from core.scoped_routes import Refused
from sandbox.plugin_host import CallActor, PluginActivationError, PluginHost
from sandbox.protocol import ErrorCode, ProtocolError, RpcError
from sandbox.serve.http.actors import board_request, require_company_access
from sandbox.serve.http.responses import BadRequestBody, json_error, read_json_body
from sandbox.worker_connection import PluginHandlerError

#: Bridge error codes by JSON-RPC code (2026.707.0); any other code is ``UNKNOWN``.
BRIDGE_ERROR_CODES: dict[int, str] = {
    ErrorCode.WORKER_UNAVAILABLE: "WORKER_UNAVAILABLE",
    ErrorCode.CAPABILITY_DENIED: "CAPABILITY_DENIED",
    ErrorCode.INVOCATION_SCOPE_DENIED: "INVOCATION_SCOPE_DENIED",
    ErrorCode.TIMEOUT: "TIMEOUT",
    ErrorCode.WORKER_ERROR: "WORKER_ERROR",
    ErrorCode.METHOD_NOT_IMPLEMENTED: "WORKER_ERROR",
    ErrorCode.UNKNOWN: "WORKER_ERROR",
}

BridgeMethod = Literal["getData", "performAction"]


def bridge_error(error: Exception) -> dict[str, Any]:
    """Upstream's ``mapRpcErrorToBridgeError``: ``{code, message, details?}``, plus
    ``errorType`` and ``trace`` for a handler's exception.

    A failure that is not a JSON-RPC error is ``WORKER_UNAVAILABLE`` when its message says the
    worker is "not running" or "not registered" (upstream's test), or when the worker could not
    be started (ours), else ``UNKNOWN``.
    """
    message = getattr(error, "message", None)
    message = message if isinstance(message, str) else str(error)
    if isinstance(error, RpcError):
        answer: dict[str, Any] = {
            "code": BRIDGE_ERROR_CODES.get(error.code, "UNKNOWN"),
            "message": message,
        }
        if error.data is not None:
            answer["details"] = error.data
        if isinstance(error, PluginHandlerError):
            answer["errorType"] = error.error_type
            answer["trace"] = error.trace
        return answer
    unavailable = isinstance(error, PluginActivationError) or (
        "not running" in message or "not registered" in message
    )
    return {"code": "WORKER_UNAVAILABLE" if unavailable else "UNKNOWN", "message": message}


async def bridge_data(request: Request) -> Response:
    """``POST /api/plugins/{pluginId}/bridge/data``: ``getData`` with the key in the body."""
    return await _bridge_call(request, "getData", None)


async def bridge_action(request: Request) -> Response:
    """``POST /api/plugins/{pluginId}/bridge/action``: ``performAction``, key in the body."""
    return await _bridge_call(request, "performAction", None)


async def data_by_key(request: Request) -> Response:
    """``POST /api/plugins/{pluginId}/data/{key}``: ``getData`` with the key in the URL."""
    return await _bridge_call(request, "getData", request.path_params["key"])


async def action_by_key(request: Request) -> Response:
    """``POST /api/plugins/{pluginId}/actions/{key}``: ``performAction``, key in the URL."""
    return await _bridge_call(request, "performAction", request.path_params["key"])


async def _bridge_call(request: Request, method: BridgeMethod, url_key: str | None) -> Response:
    host: PluginHost = request.app.state.host
    try:
        actor, plugin = await board_request(request)
    except Refused as refused:
        return json_error(refused.status, refused.message)
    if plugin.status != "ready":
        message = f"Plugin is not ready (current status: {plugin.status})"
        return JSONResponse({"code": "WORKER_UNAVAILABLE", "message": message}, status_code=502)
    try:
        body = await read_json_body(request)
        key, params, company_id = _parse_body(body, url_key)
        if company_id is not None:
            require_company_access(actor, company_id, request.method)
    except BadRequestBody as error:
        return json_error(400, error.message)
    except Refused as refused:
        return json_error(refused.status, refused.message)
    if company_id is not None and await get_company(host.db, company_id) is None:
        return json_error(404, "Company not found")
    try:
        if method == "performAction":
            caller = actor.caller
            result = await host.perform_action(
                plugin.id,
                key,
                params,
                company_id=company_id,
                actor=CallActor(user_id=caller.user_id or "board", run_id=caller.run_id),
            )
        else:
            result = await host.get_data(plugin.id, key, params, company_id=company_id)
    except (ProtocolError, PluginActivationError, HostError) as error:
        return JSONResponse(bridge_error(error), status_code=502)
    return JSONResponse({"data": result})


def _parse_body(body: Any, url_key: str | None) -> tuple[str, dict[str, Any], str | None]:
    """The key, params and company of a bridge body (``BadRequestBody`` when unusable)."""
    if body is not None and not isinstance(body, Mapping):
        raise BadRequestBody("Request body must be a JSON object")
    fields: Mapping[str, Any] = body or {}
    key = url_key if url_key is not None else fields.get("key")
    if not isinstance(key, str) or not key:
        raise BadRequestBody('"key" is required and must be a string')
    params = fields.get("params")
    if params is not None and not isinstance(params, Mapping):
        raise BadRequestBody('"params" must be an object')
    company_id = fields.get("companyId")
    if company_id is not None and (not isinstance(company_id, str) or not company_id.strip()):
        raise BadRequestBody('"companyId" must be a non-empty string when provided')
    return key, dict(params or {}), company_id
