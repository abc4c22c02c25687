"""Worker-side dispatch of host-to-worker methods, with the published SDK's codes and messages.

A handler's exception becomes -32002 with its message unless it is an ``RpcError`` (including
one the host returned to a worker call and the plugin let propagate), which keeps its code.
Such an exception is first reported in a ``log`` error notification, ``<method> <key> failed:
<type>: <message>`` with ``meta {errorType, stack}`` (the traceback of the plugin's frames), so
that the host can show what raised it: the error response carries only the message.
Like the published SDK there is no "initialized" guard: a request before ``initialize`` is
dispatched normally.
"""

from __future__ import annotations

import difflib
import traceback
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
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


#: The SDK's own folder: its frames are left out of a failure's traceback.
_SDK_DIR = str(Path(__file__).resolve().parent)


def _failure_log(method: str, params: Any, error: Exception) -> dict[str, Any]:
    """The ``log`` notification reporting a handler's exception, as upstream's SDK reports an
    uncaught one (``meta.stack``)."""
    subject = None
    if isinstance(params, dict):
        job = params.get("job")
        candidates = (params.get("key"), params.get("toolName"), params.get("routeKey"))
        candidates += (job.get("jobKey") if isinstance(job, dict) else None,)
        subject = next((value for value in candidates if isinstance(value, str)), None)
    label = f"{method} {subject}" if subject else method
    error_type = type(error).__name__
    report = traceback.TracebackException.from_exception(error)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if not frame.filename.startswith(_SDK_DIR)]
    )
    return {
        "level": "error",
        "message": f"{label} failed: {error_type}: {error}",
        "meta": {"errorType": error_type, "stack": "".join(report.format())},
    }


def _closest(key: Any, registered: Iterable[str]) -> str:
    """`` -- did you mean "<key>"?`` after upstream's unknown-key message, when one is close."""
    if not isinstance(key, str):
        return ""
    matches = difflib.get_close_matches(key, list(registered), n=1)
    return f' -- did you mean "{matches[0]}"?' if matches else ""


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
        try:
            return await handler(params if isinstance(params, dict) else {})
        except RpcError:
            raise
        except Exception as error:
            self._host.notify("log", _failure_log(method, params, error))
            raise

    async def on_event(self, params: dict[str, Any]) -> None:
        """Deliver ``params.event`` to the matching handlers."""
        event = PluginEvent.model_validate(params.get("event"))
        await deliver_event(self._host, self.state.events, event)

    async def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._initialized:
            raise RpcError(ErrorCode.WORKER_ERROR, "Worker already initialized")
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
            raise RpcError(ErrorCode.WORKER_ERROR, f'No handler registered for job "{job.job_key}"')
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
            message = f'No data handler registered for key "{key}"'
            raise RpcError(ErrorCode.WORKER_ERROR, message + _closest(key, self.state.data))
        return await maybe_await(handler(_handler_params(params)))

    async def _perform_action(self, params: dict[str, Any]) -> Any:
        key = params.get("key")
        handler = self.state.actions.get(key) if isinstance(key, str) else None
        if handler is None:
            message = f'No action handler registered for key "{key}"'
            raise RpcError(ErrorCode.WORKER_ERROR, message + _closest(key, self.state.actions))
        return await maybe_await(handler(_handler_params(params), action_context(params)))

    async def _execute_tool(self, params: dict[str, Any]) -> Any:
        name = params.get("toolName")
        registration = self.state.tools.get(name) if isinstance(name, str) else None
        if registration is None:
            raise RpcError(ErrorCode.WORKER_ERROR, f'No tool handler registered for "{name}"')
        parameters = params.get("parameters")
        run_context = ToolRunContext.model_validate(params.get("runContext") or {})
        return await maybe_await(
            registration.handler(parameters if isinstance(parameters, dict) else {}, run_context)
        )
