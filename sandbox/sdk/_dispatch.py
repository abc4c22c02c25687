"""Worker-side dispatch of host-to-worker methods, with the published SDK's codes and messages.

A handler's exception becomes -32002 with its message unless it is an ``RpcError`` (including
one the host returned to a worker call and the plugin let propagate), which keeps its code.
Like the published SDK there is no "initialized" guard: a request before ``initialize`` is
dispatched normally.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.protocol import HOST_TO_WORKER_OPTIONAL_METHODS, ErrorCode, RpcError
from sandbox.sdk._context import PluginContext, WorkerState
from sandbox.sdk._events import deliver_event
from sandbox.sdk._host import HostChannel
from sandbox.sdk._plugin import Plugin, maybe_await
from sandbox.sdk._types import (
    ActionActor,
    ActionContext,
    ApiRequestInput,
    JobContext,
    PluginEvent,
    ToolRunContext,
    WebhookInput,
)

#: ``supportedMethods`` entries and the hook each one requires, in the published SDK's order.
_SUPPORTED_METHOD_HOOKS = (
    ("validateConfig", "on_validate_config"),
    ("configChanged", "on_config_changed"),
    ("health", "on_health"),
    ("shutdown", "on_shutdown"),
    ("handleApiRequest", "on_api_request"),
)


def _not_implemented(method: str) -> RpcError:
    return RpcError(ErrorCode.METHOD_NOT_IMPLEMENTED, f"{method} is not implemented by this plugin")


def _trimmed(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def action_context(params: dict[str, Any]) -> ActionContext:
    """The action handler's second argument, built from ``actorContext`` as 2026.707.0 does.

    The company is the actor's, with no fallback to ``params.companyId``.
    """
    raw = params.get("actorContext")
    raw = raw if isinstance(raw, dict) else {}
    kind = raw.get("type")
    actor = ActionActor(
        type=kind if kind in ("user", "agent", "system") else "system",
        user_id=_trimmed(raw.get("userId")),
        agent_id=_trimmed(raw.get("agentId")),
        run_id=_trimmed(raw.get("runId")),
        company_id=_trimmed(raw.get("companyId")),
    )
    return ActionContext(actor=actor, company_id=actor.company_id)


def _handler_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params.params``, then a top-level ``companyId``, then ``renderEnvironment`` (even null)."""
    inner = params.get("params")
    merged = dict(inner) if isinstance(inner, dict) else {}
    for key in ("companyId", "renderEnvironment"):
        if key in params:
            merged[key] = params[key]
    return merged


class Dispatcher:
    """Answers host-to-worker methods for one plugin."""

    def __init__(self, plugin: Plugin, host: HostChannel) -> None:
        self._plugin = plugin
        self._host = host
        self.state = WorkerState()
        self.ctx = PluginContext(host, self.state)
        self._initialized = False
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "initialize": self._initialize,
            "health": self._health,
            "shutdown": self._shutdown,
            "validateConfig": self._validate_config,
            "configChanged": self._config_changed,
            "onEvent": self.on_event,
            "runJob": self._run_job,
            "handleWebhook": self._handle_webhook,
            "handleApiRequest": self._handle_api_request,
            "getData": self._get_data,
            "performAction": self._perform_action,
            "executeTool": self._execute_tool,
        }

    async def dispatch(self, method: str, params: Any) -> Any:
        """The result of a host-to-worker request.

        Raises:
            RpcError: -32601 for an unknown method, -32004 for a missing optional hook.
            Exception: whatever a handler raised.
        """
        handler = self._methods.get(method)
        if handler is None:
            if method in HOST_TO_WORKER_OPTIONAL_METHODS:
                raise _not_implemented(method)
            raise RpcError(ErrorCode.METHOD_NOT_FOUND, f"Unknown method: {method}")
        return await handler(params if isinstance(params, dict) else {})

    async def on_event(self, params: dict[str, Any]) -> None:
        """Deliver ``params.event`` to the matching handlers."""
        event = PluginEvent.model_validate(params.get("event"))
        await deliver_event(self._host, self.state.events, event)

    async def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._initialized:
            raise RuntimeError("Worker already initialized")
        self.state.manifest = params.get("manifest")
        self.state.config = params.get("config") or {}
        self.state.database_namespace = params.get("databaseNamespace")
        await maybe_await(self._plugin.setup(self.ctx))
        self._initialized = True
        supported = [
            method
            for method, hook in _SUPPORTED_METHOD_HOOKS
            if getattr(self._plugin, hook) is not None
        ]
        return {"ok": True, "supportedMethods": supported}

    async def _health(self, params: dict[str, Any]) -> Any:
        if self._plugin.on_health is None:
            return {"status": "ok"}
        return await maybe_await(self._plugin.on_health())

    async def _shutdown(self, params: dict[str, Any]) -> None:
        if self._plugin.on_shutdown is not None:
            await maybe_await(self._plugin.on_shutdown())

    async def _validate_config(self, params: dict[str, Any]) -> Any:
        if self._plugin.on_validate_config is None:
            raise _not_implemented("validateConfig")
        return await maybe_await(self._plugin.on_validate_config(params.get("config") or {}))

    async def _config_changed(self, params: dict[str, Any]) -> None:
        # Never -32004: without the hook the new config is just stored (upstream).
        self.state.config = params.get("config") or {}
        if self._plugin.on_config_changed is not None:
            await maybe_await(self._plugin.on_config_changed(self.state.config))

    async def _run_job(self, params: dict[str, Any]) -> None:
        job = JobContext.model_validate(params.get("job"))
        handler = self.state.jobs.get(job.job_key)
        if handler is None:
            raise RuntimeError(f'No handler registered for job "{job.job_key}"')
        await maybe_await(handler(job))

    async def _handle_webhook(self, params: dict[str, Any]) -> None:
        if self._plugin.on_webhook is None:
            raise _not_implemented("handleWebhook")
        await maybe_await(self._plugin.on_webhook(WebhookInput.model_validate(params)))

    async def _handle_api_request(self, params: dict[str, Any]) -> Any:
        if self._plugin.on_api_request is None:
            raise _not_implemented("handleApiRequest")
        return await maybe_await(
            self._plugin.on_api_request(ApiRequestInput.model_validate(params))
        )

    async def _get_data(self, params: dict[str, Any]) -> Any:
        key = params.get("key")
        handler = self.state.data.get(key) if isinstance(key, str) else None
        if handler is None:
            raise RuntimeError(f'No data handler registered for key "{key}"')
        return await maybe_await(handler(_handler_params(params)))

    async def _perform_action(self, params: dict[str, Any]) -> Any:
        key = params.get("key")
        handler = self.state.actions.get(key) if isinstance(key, str) else None
        if handler is None:
            raise RuntimeError(f'No action handler registered for key "{key}"')
        return await maybe_await(handler(_handler_params(params), action_context(params)))

    async def _execute_tool(self, params: dict[str, Any]) -> Any:
        name = params.get("toolName")
        registration = self.state.tools.get(name) if isinstance(name, str) else None
        if registration is None:
            raise RuntimeError(f'No tool handler registered for "{name}"')
        parameters = params.get("parameters")
        run_context = ToolRunContext.model_validate(params.get("runContext") or {})
        return await maybe_await(
            registration.handler(parameters if isinstance(parameters, dict) else {}, run_context)
        )
