"""The OpenAPI 3.1 description of exactly what the server serves (``GET /api/openapi.json``).

Hand-written, because the routes' answers are upstream's shapes, not models of ours. A test
keeps it honest: schemathesis fuzzes every operation described here against the running server.
"""

from __future__ import annotations

from typing import Any

_PLUGIN_ID = {
    "name": "pluginId",
    "in": "path",
    "required": True,
    "description": "The plugin's row id (UUID) or its key (manifest id).",
    "schema": {"type": "string", "minLength": 1},
}
_RUN_ID = {
    "name": "x-paperclip-run-id",
    "in": "header",
    "required": False,
    "description": "The agent run the call belongs to.",
    "schema": {"type": "string"},
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
_BRIDGE_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {
            "type": "string",
            "enum": [
                "WORKER_UNAVAILABLE",
                "CAPABILITY_DENIED",
                "INVOCATION_SCOPE_DENIED",
                "TIMEOUT",
                "WORKER_ERROR",
                "UNKNOWN",
            ],
        },
        "message": {"type": "string"},
        "details": {},
        "errorType": {"type": "string", "description": "The handler's exception type."},
        "trace": {"type": "string", "description": "Its traceback (Python) or stack (JS)."},
    },
}
_BRIDGE_BODY = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "minLength": 1},
        "companyId": {"type": "string"},
        "params": {"type": "object"},
        "renderEnvironment": {"type": ["object", "null"]},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _json(_ERROR, "Refused") for status in statuses}


def _bridge(summary: str, *, key_in_url: bool) -> dict[str, Any]:
    parameters = [_PLUGIN_ID, _RUN_ID]
    body = dict(_BRIDGE_BODY)
    if key_in_url:
        parameters.append(
            {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    else:
        body["required"] = ["key"]
    return {
        "post": {
            "summary": summary,
            "parameters": parameters,
            "requestBody": {
                "required": not key_in_url,
                "content": {"application/json": {"schema": body}},
            },
            "responses": {
                "200": _json(
                    {"type": "object", "required": ["data"], "properties": {"data": {}}},
                    "The worker's result",
                ),
                **_errors(400, 401, 403, 404),
                "502": _json(_BRIDGE_ERROR, "The worker is unavailable or failed"),
            },
        }
    }


def _scoped(method: str) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": f"{method.upper()} a plugin's scoped API route",
        "parameters": [
            _PLUGIN_ID,
            {
                "name": "path",
                "in": "path",
                "required": True,
                "description": "The plugin-local route path (manifest apiRoutes).",
                "schema": {"type": "string"},
            },
            _RUN_ID,
        ],
        "responses": {
            "200": _json({}, "The worker's answer (any 2xx-5xx status it chose)"),
            "204": {"description": "The worker answered 204"},
            **_errors(400, 401, 403, 404, 409, 413, 415, 422, 501, 502, 503),
        },
    }
    if method != "get":
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": {}}},
        }
    return operation


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the server's routes."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Paperclip plugin sandbox",
            "version": "1",
            "description": (
                "Upstream Paperclip's plugin HTTP surfaces, served by `sandbox serve`. Without "
                "credentials the caller is the local operator; `Authorization: Bearer <agent "
                "key>` acts as that agent."
            ),
        },
        "components": {
            "securitySchemes": {"agentKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"agentKey": []}],
        "paths": {
            "/api/health": {
                "get": {
                    "summary": "The host is up",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"const": "ok"}},
                            },
                            "Up",
                        )
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                }
            },
            "/api/plugins/{pluginId}/health": {
                "get": {
                    "summary": "A plugin's health diagnostics",
                    "parameters": [_PLUGIN_ID],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["pluginId", "status", "healthy", "checks"],
                                "properties": {
                                    "pluginId": {"type": "string"},
                                    "status": {"type": "string"},
                                    "healthy": {"type": "boolean"},
                                    "checks": {"type": "array"},
                                    "lastError": {"type": "string"},
                                    "worker": {
                                        "type": "object",
                                        "description": "The worker's own health answer",
                                    },
                                },
                            },
                            "Diagnostics",
                        ),
                        **_errors(403, 404),
                    },
                }
            },
            "/api/plugins/{pluginId}/bridge/data": _bridge("getData", key_in_url=False),
            "/api/plugins/{pluginId}/bridge/action": _bridge("performAction", key_in_url=False),
            "/api/plugins/{pluginId}/data/{key}": _bridge("getData by key", key_in_url=True),
            "/api/plugins/{pluginId}/actions/{key}": _bridge(
                "performAction by key", key_in_url=True
            ),
            "/api/plugins/{pluginId}/api/{path}": {
                method: _scoped(method) for method in ("get", "post", "patch", "delete")
            },
        },
    }
