"""``WorkerBridge``: serves one plugin's worker-to-host requests, in upstream's order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.capabilities import require_capability
from core.capability_usage import UsageCounter
from core.errors import CapabilityDenied, Conflict, InvocationScopeDenied
from core.event_bus import EventBus
from core.host_services import HostServices, build_host_services
from core.invocation_scope import CallContext, check_invocation_scope
from core.plugin_database import PluginAccess, PluginDatabase
from core.plugin_logs import LogBuffer, LogMessage, log_line
from core.plugin_secrets import SecretResolver
from core.records import Record
from core.worker_bridge.methods import METHODS
from db import Database

#: Distinct unknown method names counted per plugin; more are counted under one name.
MAX_UNKNOWN_METHODS = 50
OTHER_UNKNOWN_METHODS = "(other unknown methods)"

#: Registers an event subscription of the plugin: ``subscribe(pattern, filter)``.
Subscribe = Callable[[str, Mapping[str, Any] | None], None]


class HostMethodNotFound(Exception):
    """The worker called a method the host does not handle (-32601)."""


def handled_methods() -> frozenset[str]:
    """The worker-to-host methods this host serves."""
    return frozenset(METHODS)


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
        database: the plugin's database access, gathered at activation (None without a
            ``database`` block).
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
        database: PluginAccess | None,
        logs: LogBuffer,
        usage: UsageCounter,
        subscribe: Subscribe,
    ) -> None:
        self.db = db
        self.bus = bus
        self.plugin = plugin
        self.plugin_db = plugin_db
        self._database = database
        self.logs = logs
        self.usage = usage
        self._unknown_methods: set[str] = set()
        self.services: HostServices = build_host_services(
            db, plugin.plugin_id, plugin.plugin_key, bus
        )
        self.subscribe = subscribe
        self.secrets = SecretResolver(plugin.plugin_id, plugin.plugin_key)

    async def handle(self, method: str, params: dict[str, Any], context: CallContext) -> Any:
        """Serve one worker-to-host request; returns its JSON result.

        In upstream's order: the method must be served, the manifest must declare its
        capability, a company it names must be the invocation's; then its params are validated
        (upstream's messages) and it runs.
        """
        plugin_id = self.plugin.plugin_id
        served = METHODS.get(method)
        if served is None:
            self.usage.record(
                plugin_id,
                self._unknown_name(method),
                "denied",
                denial=f'Host does not handle method "{method}"',
            )
            raise HostMethodNotFound(method)
        try:
            plugin_key = self.plugin.plugin_key
            require_capability(plugin_id, plugin_key, self.plugin.capabilities, method)
            check_invocation_scope(plugin_id, plugin_key, method, params, context)
        except CapabilityDenied as error:
            self.usage.record(plugin_id, method, "denied", denial=error.message)
            raise
        except InvocationScopeDenied as error:
            self.usage.record(plugin_id, method, "out_of_scope", denial=error.message)
            raise
        self.usage.record(plugin_id, method, "allowed")
        return _wire(await served.run(self, served.parse(params), context))

    @property
    def database(self) -> PluginAccess:
        """The plugin's database access; refused when its namespace was not made active."""
        if self._database is None:
            raise Conflict("Plugin database namespace is not active")
        return self._database

    def _unknown_name(self, method: str) -> str:
        """The name an unknown method is counted under: its own for the first few."""
        if method in self._unknown_methods or len(self._unknown_methods) < MAX_UNKNOWN_METHODS:
            self._unknown_methods.add(method)
            return method
        return OTHER_UNKNOWN_METHODS

    def notification(self, method: str, params: dict[str, Any], context: CallContext) -> None:
        """A worker notification: ``log`` lines are stored; stream events have no viewer yet."""
        if method == "log":
            self.logs.add(log_line(self.plugin.plugin_id, LogMessage.model_validate(params)))


def _wire(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_wire()
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    return value
