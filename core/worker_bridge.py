"""Worker-to-host calls: what a plugin worker may ask of the host, gated and mapped to services.

Every request goes through the same steps, in upstream's order: the host must handle the method
(``HostMethodNotFound``, answered -32601 ``Host does not handle method "<m>"``), the manifest
must declare the capability the method requires (``CapabilityDenied``, -32001), and a company the
call names must be the invocation's (``InvocationScopeDenied``, -32005). Params arrive as the
published SDK sends them: camelCase, with undefined fields absent; results go back as JSON.

The bridge is storage-agnostic: it calls the host services, the plugin database and the
registry, and leaves processes to ``sandbox``. Two things need the worker itself and are
injected: where an ``events.subscribe`` delivers (``subscribe``), and the log buffer.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic.alias_generators import to_camel

from core import plugin_state
from core.agents import get_agent, list_agents
from core.capabilities import require_capability
from core.capability_usage import UsageCounter
from core.companies import get_company, list_companies
from core.errors import CapabilityDenied, InvalidInput, InvocationScopeDenied
from core.event_bus import EventBus
from core.host_services import HostServices, build_host_services
from core.invocation_scope import CallContext, check_invocation_scope
from core.plugin_database import PluginDatabase
from core.plugin_logs import LogBuffer, log_line, metric_line
from core.plugin_registry import get_config
from core.records import Record
from db import Database

#: ``telemetry.track`` event names (upstream's rule and message).
_TELEMETRY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TELEMETRY_MESSAGE = (
    'Plugin telemetry event names must be lowercase slugs using letters, numbers, "_" or "-".'
)
#: Actor fields the published SDK folds into ``issues.update``'s patch.
_ACTOR_FIELDS = ("actorAgentId", "actorUserId", "actorRunId")

#: Distinct unknown method names counted per plugin; more are counted under one name.
MAX_UNKNOWN_METHODS = 50
OTHER_UNKNOWN_METHODS = "(other unknown methods)"

#: Registers an event subscription of the plugin: ``subscribe(pattern, filter)``.
Subscribe = Callable[[str, Mapping[str, Any] | None], None]
_Handler = Callable[["WorkerBridge", dict[str, Any], CallContext], Awaitable[Any]]
_METHODS: dict[str, _Handler] = {}


class HostMethodNotFound(Exception):
    """The worker called a method the host does not handle (-32601)."""


def _method(name: str) -> Callable[[_Handler], _Handler]:
    def register(handler: _Handler) -> _Handler:
        _METHODS[name] = handler
        return handler

    return register


def handled_methods() -> frozenset[str]:
    """The worker-to-host methods this host serves."""
    return frozenset(_METHODS)


@dataclass(frozen=True, slots=True)
class PluginRef:
    """The plugin a bridge serves: its record id, key and declared capabilities."""

    plugin_id: str
    plugin_key: str
    capabilities: frozenset[str]


class WorkerBridge:
    """Serves one plugin's worker-to-host requests and ``log`` notifications.

    Args:
        db: the host database.
        bus: where ``events.emit`` publishes.
        plugin: the plugin's identity and capabilities.
        plugin_db: the plugin database namespaces service (``db.*``).
        logs: where ``log`` and ``metrics.write`` lines go.
        usage: where each call's outcome is counted (``core.capability_usage``).
        subscribe: registers an ``events.subscribe`` of the plugin.
    """

    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        plugin: PluginRef,
        plugin_db: PluginDatabase,
        logs: LogBuffer,
        usage: UsageCounter,
        subscribe: Subscribe,
    ) -> None:
        self.db = db
        self.bus = bus
        self.plugin = plugin
        self.plugin_db = plugin_db
        self.logs = logs
        self.usage = usage
        self._unknown_methods: set[str] = set()
        self.services: HostServices = build_host_services(
            db, plugin.plugin_id, plugin.plugin_key, bus
        )
        self.subscribe = subscribe

    async def handle(self, method: str, params: dict[str, Any], context: CallContext) -> Any:
        """Serve one worker-to-host request; returns its JSON result."""
        plugin_id = self.plugin.plugin_id
        handler = _METHODS.get(method)
        if handler is None:
            self.usage.record(
                plugin_id,
                self._unknown_name(method),
                "denied",
                denial=f'Host does not handle method "{method}"',
            )
            raise HostMethodNotFound(method)
        try:
            require_capability(plugin_id, self.plugin.capabilities, method)
            check_invocation_scope(plugin_id, method, params, context)
        except CapabilityDenied as error:
            self.usage.record(plugin_id, method, "denied", denial=error.message)
            raise
        except InvocationScopeDenied as error:
            self.usage.record(plugin_id, method, "out_of_scope", denial=error.message)
            raise
        self.usage.record(plugin_id, method, "allowed")
        return _wire(await handler(self, params, context))

    def _unknown_name(self, method: str) -> str:
        """The name an unknown method is counted under: its own for the first few."""
        if method in self._unknown_methods or len(self._unknown_methods) < MAX_UNKNOWN_METHODS:
            self._unknown_methods.add(method)
            return method
        return OTHER_UNKNOWN_METHODS

    def notification(self, method: str, params: dict[str, Any], context: CallContext) -> None:
        """A worker notification: ``log`` lines are stored; stream events have no viewer yet."""
        if method == "log":
            self.logs.add(log_line(self.plugin.plugin_id, params))


# -- parameter mapping ------------------------------------------------------------------------


@cache
def _signature(function: Callable[..., Any]) -> tuple[tuple[tuple[str, str, bool], ...], bool]:
    """A service method's keyword parameters as ``(name, camelCase name, required)``, and
    whether it takes ``**extra``."""
    parameters = inspect.signature(function).parameters.values()
    names = tuple(
        (p.name, to_camel(p.name), p.default is inspect.Parameter.empty)
        for p in parameters
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    )
    extra = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return names, extra


async def _call(service: Callable[..., Awaitable[Any]], params: Mapping[str, Any]) -> Any:
    """Call a service method with a worker's camelCase params.

    Each keyword parameter takes the param of its camelCase name; a missing one is passed as
    None, so the service reports it with upstream's message (``companyId is required ...``).
    Params the method does not name go to its ``**extra`` (which parses camelCase) or are
    ignored, as upstream ignores unknown fields.
    """
    names, extra = _signature(getattr(service, "__func__", service))
    kwargs: dict[str, Any] = {}
    for name, key, required in names:
        if key in params:
            kwargs[name] = params[key]
        elif required:
            kwargs[name] = None
    if extra:
        used = {key for _, key, _ in names}
        kwargs.update({key: value for key, value in params.items() if key not in used})
    return await service(**kwargs)


def _wire(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_wire()
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    return value


def _page(items: Sequence[Any], params: Mapping[str, Any]) -> list[Any]:
    """Upstream pages these lists in memory: ``offset`` rows skipped, then ``limit`` kept."""
    limit = _count(params.get("limit"), "limit")
    offset = _count(params.get("offset"), "offset") or 0
    return list(items[offset : offset + limit if limit is not None else None])


def _count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name} must be a non-negative integer")
    return value


# -- config, state, database, logs --------------------------------------------------------------


@_method("config.get")
async def _config_get(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    return await get_config(bridge.db, bridge.plugin.plugin_id)


@_method("state.get")
async def _state_get(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    key = plugin_state.StateKey.from_params(params)
    return await plugin_state.get_state(bridge.db, bridge.plugin.plugin_id, key)


@_method("state.set")
async def _state_set(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    key = plugin_state.StateKey.from_params(params)
    await plugin_state.set_state(bridge.db, bridge.plugin.plugin_id, key, params.get("value"))


@_method("state.delete")
async def _state_delete(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    key = plugin_state.StateKey.from_params(params)
    await plugin_state.delete_state(bridge.db, bridge.plugin.plugin_id, key)


@_method("db.namespace")
async def _db_namespace(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    return await bridge.plugin_db.runtime_namespace(bridge.plugin.plugin_id)


@_method("db.query")
async def _db_query(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    return await bridge.plugin_db.query(
        bridge.plugin.plugin_id, params.get("sql"), params.get("params")
    )


@_method("db.execute")
async def _db_execute(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    return await bridge.plugin_db.execute(
        bridge.plugin.plugin_id, params.get("sql"), params.get("params")
    )


@_method("log")
async def _log(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    bridge.logs.add(log_line(bridge.plugin.plugin_id, params))


@_method("metrics.write")
async def _metrics_write(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    bridge.logs.add(metric_line(bridge.plugin.plugin_id, params))


@_method("telemetry.track")
async def _telemetry(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    """Checked as upstream, then dropped: the sandbox sends no telemetry anywhere."""
    name = params.get("eventName")
    if not isinstance(name, str) or not _TELEMETRY_NAME.match(name):
        raise InvalidInput(_TELEMETRY_MESSAGE)


@_method("activity.log")
async def _activity_log(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    return await _call(bridge.services.activity.log, params)


# -- events ---------------------------------------------------------------------------------------


@_method("events.emit")
async def _events_emit(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    payload = params.get("payload")
    if payload is not None and not isinstance(payload, Mapping):
        raise InvalidInput("Event payload must be an object")
    bridge.bus.for_plugin(bridge.plugin.plugin_key).emit(
        params.get("name"), company_id=params.get("companyId"), payload=payload
    )


@_method("events.subscribe")
async def _events_subscribe(
    bridge: WorkerBridge, params: dict[str, Any], context: CallContext
) -> Any:
    pattern = params.get("eventPattern")
    event_filter = params.get("filter")
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput("eventPattern must be a non-empty string")
    if event_filter is not None and not isinstance(event_filter, Mapping):
        raise InvalidInput("Event filter must be an object")
    bridge.subscribe(pattern, event_filter)


# -- companies and agents -------------------------------------------------------------------------


@_method("companies.list")
async def _companies_list(
    bridge: WorkerBridge, params: dict[str, Any], context: CallContext
) -> Any:
    companies = await list_companies(bridge.db)
    if context.invocation_scope is not None:  # upstream filters "all" to the scoped company
        companies = [c for c in companies if c.id == context.invocation_scope.company_id]
    return _page(companies, params)


@_method("companies.get")
async def _companies_get(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    if not params.get("companyId"):
        raise InvalidInput("companyId is required for this operation")
    return await get_company(bridge.db, params["companyId"])


@_method("agents.list")
async def _agents_list(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    agents = await list_agents(
        bridge.db, company_id=params.get("companyId"), status=params.get("status")
    )
    return _page(agents, params)


@_method("agents.get")
async def _agents_get(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    return await get_agent(
        bridge.db, agent_id=params.get("agentId"), company_id=params.get("companyId")
    )


# -- issues ---------------------------------------------------------------------------------------


def _issues_method(
    name: str, service: Callable[[HostServices], Callable[..., Awaitable[Any]]]
) -> None:
    """Register a method that is one host service call with the worker's params."""

    async def handler(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
        return await _call(service(bridge.services), params)

    _METHODS[name] = handler


_issues_method("issues.list", lambda s: s.issues.list)
_issues_method("issues.get", lambda s: s.issues.get)
_issues_method("issues.create", lambda s: s.issues.create)
_issues_method("issues.relations.get", lambda s: s.issues.relations.get)
_issues_method("issues.relations.setBlockedBy", lambda s: s.issues.relations.set_blocked_by)
_issues_method("issues.relations.addBlockers", lambda s: s.issues.relations.add_blockers)
_issues_method("issues.relations.removeBlockers", lambda s: s.issues.relations.remove_blockers)
_issues_method("issues.assertCheckoutOwner", lambda s: s.issues.assert_checkout_owner)
_issues_method("issues.getSubtree", lambda s: s.issues.get_subtree)
_issues_method("issues.requestWakeup", lambda s: s.issues.request_wakeup)
_issues_method("issues.requestWakeups", lambda s: s.issues.request_wakeups)
_issues_method("issues.summaries.getOrchestration", lambda s: s.issues.summaries.get_orchestration)
_issues_method("issues.listComments", lambda s: s.issues.list_comments)
_issues_method("issues.createComment", lambda s: s.issues.create_comment)
_issues_method("issues.documents.list", lambda s: s.issues.documents.list)
_issues_method("issues.documents.get", lambda s: s.issues.documents.get)
_issues_method("issues.documents.upsert", lambda s: s.issues.documents.upsert)
_issues_method("issues.documents.delete", lambda s: s.issues.documents.delete)


@_method("issues.update")
async def _issues_update(bridge: WorkerBridge, params: dict[str, Any], context: CallContext) -> Any:
    """The SDK folds the actor fields into ``patch``; the host takes them back out."""
    patch = params.get("patch")
    if not isinstance(patch, Mapping):
        raise InvalidInput("patch must be an object")
    patch = dict(patch)
    actor = {field: patch.pop(field) for field in _ACTOR_FIELDS if field in patch}
    return await _call(bridge.services.issues.update, {**params, **actor, "patch": patch})
