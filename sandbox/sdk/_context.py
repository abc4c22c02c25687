"""``ctx``: what ``setup`` receives, mirroring the published SDK's ``PluginContext`` in snake_case.

Reads and writes go to the host as worker-to-host requests; ``logger`` and ``streams`` are
notifications; ``data``, ``actions``, ``jobs``, ``tools`` and the handler half of ``events``
only register locally.
"""

from __future__ import annotations

import builtins  # methods named "list" shadow the builtin in their classes
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.sdk._events import EventRegistration, EventsClient
from sandbox.sdk._host import HostChannel, compact, one
from sandbox.sdk._issues import IssuesClient
from sandbox.sdk._plugin import MaybeAwaitable
from sandbox.sdk._types import (
    ActionContext,
    ExecuteResult,
    HttpResponse,
    JobContext,
    ToolResult,
    ToolRunContext,
)

DataHandler = Callable[[dict[str, Any]], MaybeAwaitable[Any]]
ActionHandler = Callable[[dict[str, Any], ActionContext], MaybeAwaitable[Any]]
JobHandler = Callable[[JobContext], MaybeAwaitable[None]]
ToolHandler = Callable[
    [dict[str, Any], ToolRunContext], MaybeAwaitable[ToolResult | dict[str, Any]]
]


@dataclass(frozen=True, slots=True)
class ToolRegistration:
    handler: ToolHandler
    display_name: str
    description: str
    parameters_schema: Mapping[str, Any]


@dataclass(slots=True)
class WorkerState:
    """What ``initialize`` delivered, and the handlers ``setup`` registered."""

    manifest: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    database_namespace: str | None = None
    data: dict[str, DataHandler] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    jobs: dict[str, JobHandler] = field(default_factory=dict)
    tools: dict[str, ToolRegistration] = field(default_factory=dict)
    events: list[EventRegistration] = field(default_factory=list)


class ConfigClient:
    """``ctx.config``."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def get(self) -> dict[str, Any]:
        """The plugin's instance config (``{}`` when none is stored)."""
        return await self._host.call("config.get", {}) or {}


class Logger:
    """``ctx.logger``: fire-and-forget ``log`` notifications."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    def info(self, message: str, meta: Mapping[str, Any] | None = None) -> None:
        """Log an info line to the plugin's logs (``meta`` is stored with it)."""
        self._log("info", message, meta)

    def warn(self, message: str, meta: Mapping[str, Any] | None = None) -> None:
        """Log a warning line to the plugin's logs."""
        self._log("warn", message, meta)

    def error(self, message: str, meta: Mapping[str, Any] | None = None) -> None:
        """Log an error line to the plugin's logs."""
        self._log("error", message, meta)

    def debug(self, message: str, meta: Mapping[str, Any] | None = None) -> None:
        """Log a debug line to the plugin's logs."""
        self._log("debug", message, meta)

    def _log(self, level: str, message: str, meta: Mapping[str, Any] | None) -> None:
        params = {"level": level, "message": message, "meta": None if meta is None else dict(meta)}
        self._host.notify("log", compact(params))


class MetricsClient:
    """``ctx.metrics``."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def write(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        """Write a numeric metric data point, with optional tags."""
        params = {"name": name, "value": value, "tags": None if tags is None else dict(tags)}
        await self._host.call("metrics.write", compact(params))


class TelemetryClient:
    """``ctx.telemetry``."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def track(self, event_name: str, dimensions: Mapping[str, Any] | None = None) -> None:
        """Track ``plugin.<pluginKey>.<event_name>``; the name must be a lowercase slug."""
        params = {
            "eventName": event_name,
            "dimensions": None if dimensions is None else dict(dimensions),
        }
        await self._host.call("telemetry.track", compact(params))


class StateClient:
    """``ctx.state``: JSON values keyed by scope, namespace and key."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def get(
        self,
        *,
        scope_kind: str,
        state_key: str,
        scope_id: str | None = None,
        namespace: str | None = None,
    ) -> Any:
        """The stored value, or None when the key is absent."""
        return await self._host.call(
            "state.get", _state_key(scope_kind, scope_id, namespace, state_key)
        )

    async def set(
        self,
        *,
        scope_kind: str,
        state_key: str,
        value: Any,
        scope_id: str | None = None,
        namespace: str | None = None,
    ) -> None:
        """Store a JSON value under the key, replacing any value there."""
        params = _state_key(scope_kind, scope_id, namespace, state_key) | {"value": value}
        await self._host.call("state.set", params)

    async def delete(
        self,
        *,
        scope_kind: str,
        state_key: str,
        scope_id: str | None = None,
        namespace: str | None = None,
    ) -> None:
        """Remove the value under the key (nothing happens when there is none)."""
        await self._host.call(
            "state.delete", _state_key(scope_kind, scope_id, namespace, state_key)
        )


def _state_key(
    scope_kind: str, scope_id: str | None, namespace: str | None, state_key: str
) -> dict[str, Any]:
    return compact(
        {
            "scopeKind": scope_kind,
            "scopeId": scope_id,
            "namespace": namespace,
            "stateKey": state_key,
        }
    )


class DatabaseClient:
    """``ctx.db``: SQL (PostgreSQL dialect) inside the plugin's own database namespace."""

    def __init__(self, host: HostChannel, state: WorkerState) -> None:
        self._host = host
        self._state = state

    @property
    def namespace(self) -> str:
        """The plugin's schema name, ``""`` when the manifest declares no database."""
        return self._state.database_namespace or ""

    async def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of one SELECT; ``$1``, ``$2``… bind ``params``."""
        return await self._host.call("db.query", compact({"sql": sql, "params": params})) or []

    async def execute(self, sql: str, params: list[Any] | None = None) -> ExecuteResult:
        """Run one INSERT, UPDATE or DELETE on a namespace table."""
        result = await self._host.call("db.execute", compact({"sql": sql, "params": params}))
        return one(ExecuteResult, result)


class ActivityClient:
    """``ctx.activity``."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def log(
        self,
        *,
        company_id: str,
        message: str,
        entity_type: str | None = None,
        entity_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Write an activity row attributed to the plugin (``message`` becomes the action)."""
        params = {
            "companyId": company_id,
            "message": message,
            "entityType": entity_type,
            "entityId": entity_id,
            "metadata": None if metadata is None else dict(metadata),
        }
        await self._host.call("activity.log", compact(params))


class CompaniesClient:
    """``ctx.companies`` (records as wire JSON)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def list(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> builtins.list[dict[str, Any]]:
        """The instance's companies, paged."""
        return (
            await self._host.call("companies.list", compact({"limit": limit, "offset": offset}))
            or []
        )

    async def get(self, company_id: str) -> dict[str, Any] | None:
        """A company by id, or None."""
        return await self._host.call("companies.get", {"companyId": company_id})


class AgentSessionsClient:
    """``ctx.agents.sessions``: the plugin's sessions with an agent (``sendMessage`` is not
    served by this host yet)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def create(
        self, agent_id: str, company_id: str, *, task_key: str | None = None
    ) -> dict[str, Any]:
        """Open a session: ``{sessionId, agentId, companyId, status, createdAt}``."""
        params = compact({"agentId": agent_id, "companyId": company_id, "taskKey": task_key})
        return await self._host.call("agents.sessions.create", params)

    async def list(self, agent_id: str, company_id: str) -> builtins.list[dict[str, Any]]:
        """The plugin's open sessions with the agent, newest first."""
        params = {"agentId": agent_id, "companyId": company_id}
        return await self._host.call("agents.sessions.list", params) or []

    async def close(self, session_id: str, company_id: str) -> None:
        """Close (delete) a session."""
        params = {"sessionId": session_id, "companyId": company_id}
        await self._host.call("agents.sessions.close", params)


class AgentsClient:
    """``ctx.agents``: reads, pause and resume, and ``sessions`` (records as wire JSON)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host
        self.sessions = AgentSessionsClient(host)

    async def list(
        self,
        *,
        company_id: str,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """The company's agents, optionally of one status, paged."""
        params = compact(
            {"companyId": company_id, "status": status, "limit": limit, "offset": offset}
        )
        return await self._host.call("agents.list", params) or []

    async def get(self, agent_id: str, company_id: str) -> dict[str, Any] | None:
        """An agent of the company by id, or None."""
        return await self._host.call("agents.get", {"agentId": agent_id, "companyId": company_id})

    async def pause(self, agent_id: str, company_id: str) -> dict[str, Any]:
        """Pause the company's agent (``agents.pause``); the paused agent."""
        return await self._host.call("agents.pause", {"agentId": agent_id, "companyId": company_id})

    async def resume(self, agent_id: str, company_id: str) -> dict[str, Any]:
        """Resume the company's agent (``agents.resume``); the resumed agent."""
        return await self._host.call(
            "agents.resume", {"agentId": agent_id, "companyId": company_id}
        )


class GoalsClient:
    """``ctx.goals`` (records as wire JSON)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def list(
        self,
        *,
        company_id: str,
        level: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """The company's goals, optionally of one level and status, paged."""
        params = {"companyId": company_id, "level": level, "status": status}
        return (
            await self._host.call(
                "goals.list", compact(params | {"limit": limit, "offset": offset})
            )
            or []
        )

    async def get(self, goal_id: str, company_id: str) -> dict[str, Any] | None:
        """A goal of the company by id, or None."""
        return await self._host.call("goals.get", {"goalId": goal_id, "companyId": company_id})

    async def create(
        self,
        *,
        company_id: str,
        title: str,
        description: str | None = None,
        level: str | None = None,
        status: str | None = None,
        parent_id: str | None = None,
        owner_agent_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a goal (``level`` task and ``status`` planned unless given)."""
        params = {
            "companyId": company_id,
            "title": title,
            "description": description,
            "level": level,
            "status": status,
            "parentId": parent_id,
            "ownerAgentId": owner_agent_id,
        }
        return await self._host.call("goals.create", compact(params))

    async def update(
        self, goal_id: str, patch: Mapping[str, Any], company_id: str
    ) -> dict[str, Any]:
        """Change a goal; ``patch`` uses the wire's camelCase names (``ownerAgentId``)."""
        return await self._host.call(
            "goals.update", {"goalId": goal_id, "patch": dict(patch), "companyId": company_id}
        )


class EntitiesClient:
    """``ctx.entities``: the plugin's records of things outside Paperclip."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def upsert(
        self,
        *,
        entity_type: str,
        scope_kind: str,
        scope_id: str | None = None,
        external_id: str | None = None,
        title: str | None = None,
        status: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Insert the entity, or update the one of this type and external id."""
        params = {
            "entityType": entity_type,
            "scopeKind": scope_kind,
            "scopeId": scope_id,
            "externalId": external_id,
            "title": title,
            "status": status,
            "data": dict(data) if data is not None else None,
        }
        return await self._host.call("entities.upsert", compact(params))

    async def list(
        self,
        *,
        entity_type: str | None = None,
        external_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """The plugin's entities, oldest first (100 unless ``limit`` says otherwise)."""
        params = {"entityType": entity_type, "externalId": external_id}
        return (
            await self._host.call(
                "entities.list", compact(params | {"limit": limit, "offset": offset})
            )
            or []
        )


class ApprovalsClient:
    """``ctx.approvals``: reads (payload secrets redacted by the host)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def list(
        self, *, company_id: str, status: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """The company's approvals, optionally of one status."""
        params = compact({"companyId": company_id, "status": status})
        return await self._host.call("approvals.list", params) or []

    async def get(self, approval_id: str, company_id: str) -> dict[str, Any] | None:
        """An approval of the company by id, or None."""
        return await self._host.call(
            "approvals.get", {"approvalId": approval_id, "companyId": company_id}
        )


class SecretsClient:
    """``ctx.secrets``: values of the secrets bound to the plugin (``secrets.read-ref``)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def resolve(
        self,
        secret_ref: Mapping[str, Any],
        *,
        company_id: str | None = None,
        config_path: str | None = None,
    ) -> str:
        """The value of ``{"type": "secret_ref", "secretId": ..., "version"?: ...}`` for the
        invocation's company."""
        params = {"secretRef": dict(secret_ref), "companyId": company_id, "configPath": config_path}
        return await self._host.call("secrets.resolve", compact(params))


class HttpClient:
    """``ctx.http``: outbound HTTP through the host (``http.outbound``)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host

    async def fetch(self, url: str, init: Mapping[str, Any] | None = None) -> HttpResponse:
        """Make a request as ``fetch(url, init)`` does (``method``, ``headers``, ``body``);
        redirects are not followed."""
        params: dict[str, Any] = {"url": url}
        if init is not None:
            params["init"] = dict(init)
        answer = await self._host.call("http.fetch", params)
        return HttpResponse(
            status=answer["status"],
            status_text=answer["statusText"],
            headers=answer["headers"],
            body=answer["body"],
        )


class DataClient:
    """``ctx.data``: handlers behind the UI's ``usePluginData`` (``getData``)."""

    def __init__(self, state: WorkerState) -> None:
        self._state = state

    def register(self, key: str, handler: DataHandler) -> None:
        """``handler(params)`` answers the host's ``getData`` for ``key`` (``usePluginData``).

        ``params`` includes ``companyId`` and ``renderEnvironment`` when the host sends them.
        """
        self._state.data[key] = handler


class ActionsClient:
    """``ctx.actions``: handlers behind the UI's ``usePluginAction`` (``performAction``)."""

    def __init__(self, state: WorkerState) -> None:
        self._state = state

    def register(self, key: str, handler: ActionHandler) -> None:
        """``handler(params, context)`` answers the host's ``performAction`` for ``key``.

        ``context`` names the caller and its company.
        """
        self._state.actions[key] = handler


class JobsClient:
    """``ctx.jobs``: handlers of the manifest's scheduled jobs (``runJob``)."""

    def __init__(self, state: WorkerState) -> None:
        self._state = state

    def register(self, key: str, handler: JobHandler) -> None:
        """``handler(job)`` runs the manifest's job ``key`` when the host sends ``runJob``
        (declaring jobs needs ``jobs.schedule``)."""
        self._state.jobs[key] = handler


class ToolsClient:
    """``ctx.tools``: agent tools, exposed to agents as ``<pluginKey>:<name>`` (``executeTool``)."""

    def __init__(self, state: WorkerState) -> None:
        self._state = state

    def register(
        self,
        name: str,
        handler: ToolHandler,
        *,
        display_name: str,
        description: str,
        parameters_schema: Mapping[str, Any],
    ) -> None:
        """``handler(parameters, run_context)`` answers the host's ``executeTool`` for ``name``
        with a ``ToolResult`` or its dict (declaring tools needs ``agent.tools.register``)."""
        self._state.tools[name] = ToolRegistration(
            handler, display_name, description, parameters_schema
        )


class StreamsClient:
    """``ctx.streams``: push events to the UI's subscribers of a channel (notifications)."""

    def __init__(self, host: HostChannel) -> None:
        self._host = host
        self._companies: dict[str, str] = {}

    def open(self, channel: str, company_id: str) -> None:
        """Open a channel to the company's UI subscribers."""
        self._companies[channel] = company_id
        self._host.notify("streams.open", {"channel": channel, "companyId": company_id})

    def emit(self, channel: str, event: Any) -> None:
        """Push an event to the channel's subscribers."""
        company_id = self._companies.get(channel, "")
        self._host.notify(
            "streams.emit", {"channel": channel, "companyId": company_id, "event": event}
        )

    def close(self, channel: str) -> None:
        """Close the channel."""
        company_id = self._companies.pop(channel, "")
        self._host.notify("streams.close", {"channel": channel, "companyId": company_id})


class PluginContext:
    """The ``ctx`` given to ``setup``."""

    def __init__(self, host: HostChannel, state: WorkerState) -> None:
        self._state = state
        self.config = ConfigClient(host)
        self.logger = Logger(host)
        self.metrics = MetricsClient(host)
        self.telemetry = TelemetryClient(host)
        self.state = StateClient(host)
        self.db = DatabaseClient(host, state)
        self.events = EventsClient(host, state.events)
        self.activity = ActivityClient(host)
        self.companies = CompaniesClient(host)
        self.agents = AgentsClient(host)
        self.goals = GoalsClient(host)
        self.entities = EntitiesClient(host)
        self.approvals = ApprovalsClient(host)
        self.http = HttpClient(host)
        self.secrets = SecretsClient(host)
        self.issues = IssuesClient(host)
        self.data = DataClient(state)
        self.actions = ActionsClient(state)
        self.jobs = JobsClient(state)
        self.tools = ToolsClient(state)
        self.streams = StreamsClient(host)

    @property
    def manifest(self) -> dict[str, Any]:
        """The plugin's manifest, as the host sent it in ``initialize``.

        Raises:
            RuntimeError: read before ``initialize``.
        """
        if self._state.manifest is None:
            raise RuntimeError("Plugin context accessed before initialization")
        return self._state.manifest
