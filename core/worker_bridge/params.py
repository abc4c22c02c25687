"""Params models of the worker-to-host methods that are not host services (those are in
``core.host_services.params``; log and metric lines in ``core.plugin_logs``; state keys in
``core.plugin_state``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StrictInt

from core.errors import InvalidInput
from core.params import CompanyId, WireParams
from core.plugin_database import PluginSqlInvalid
from core.plugin_state import StateKey

#: ``telemetry.track`` event names must match ``TELEMETRY_NAME`` (upstream's rule and message).
TELEMETRY_NAME = r"^[a-z0-9][a-z0-9_-]*$"
TELEMETRY_MESSAGE = (
    'Plugin telemetry event names must be lowercase slugs using letters, numbers, "_" or "-".'
)

_Count = Annotated[StrictInt, Field(ge=0)]


class Paging(WireParams):
    """Upstream pages these lists in memory: ``offset`` rows skipped, then ``limit`` kept."""

    messages: ClassVar[Mapping[str, str]] = {
        "limit": "limit must be a non-negative integer",
        "offset": "offset must be a non-negative integer",
    }

    limit: _Count | None = None
    offset: _Count | None = None

    def page(self, items: list[Any]) -> list[Any]:
        start = self.offset or 0
        return items[start : start + self.limit if self.limit is not None else None]


class CompanyRef(WireParams):
    """``companies.get``: a missing or unknown company reads as null."""

    company_id: str | None = None


class ListAgents(Paging):
    """``agents.list``."""

    company_id: CompanyId = None  # type: ignore[assignment]
    status: str | None = None


class AgentRef(WireParams):
    """``agents.get``: an agent of another company reads as null."""

    company_id: CompanyId = None  # type: ignore[assignment]
    agent_id: str | None = None


class StateValue(StateKey):
    """``state.set``: a state key and any JSON value."""

    value: Any = None


class SqlStatement(WireParams):
    """``db.query`` and ``db.execute``: one statement and its ``$n`` parameters."""

    error: ClassVar[type[InvalidInput]] = PluginSqlInvalid
    messages: ClassVar[Mapping[str, str]] = {
        "sql": "ctx.db SQL must be a string",
        "params": "ctx.db params must be an array of JSON values",
    }

    sql: str
    params: list[Any] | None = None


class EmitEvent(WireParams):
    """``events.emit``; the name and company are checked by the bus, naming the plugin."""

    messages: ClassVar[Mapping[str, str]] = {"payload": "Event payload must be an object"}

    name: Any = None
    company_id: Any = None
    payload: dict[str, Any] | None = None


class SubscribeEvents(WireParams):
    """``events.subscribe``: an event type pattern and an optional filter."""

    messages: ClassVar[Mapping[str, str]] = {
        "event_pattern": "eventPattern must be a non-empty string",
        "filter": "Event filter must be an object",
    }

    event_pattern: str = Field(default="", min_length=1, validate_default=True)
    filter: dict[str, Any] | None = None


class TrackTelemetry(WireParams):
    """``telemetry.track``: checked as upstream, then dropped."""

    messages: ClassVar[Mapping[str, str]] = {"event_name": TELEMETRY_MESSAGE}

    event_name: str = Field(default="", pattern=TELEMETRY_NAME, validate_default=True)


class ListGoals(Paging):
    """``goals.list``: filtered by level and status when given."""

    company_id: CompanyId = None  # type: ignore[assignment]
    level: str | None = None
    status: str | None = None


class GoalRef(WireParams):
    """``goals.get``: a goal of another company reads as null."""

    company_id: CompanyId = None  # type: ignore[assignment]
    goal_id: str | None = None


class CreateGoal(WireParams):
    """``goals.create``."""

    company_id: CompanyId = None  # type: ignore[assignment]
    title: str | None = None
    description: str | None = None
    level: str | None = None
    status: str | None = None
    parent_id: str | None = None
    owner_agent_id: str | None = None


class UpdateGoal(GoalRef):
    """``goals.update``: ``patch`` holds the goal's camelCase fields."""

    patch: dict[str, Any] | None = None


class UpsertEntity(WireParams):
    """``entities.upsert``: no company (instance-wide), unless the worker names one."""

    company_id: str | None = None
    entity_type: str | None = None
    scope_kind: str | None = None
    scope_id: str | None = None
    external_id: str | None = None
    title: str | None = None
    status: str | None = None
    data: dict[str, Any] | None = None


class ListEntities(WireParams):
    """``entities.list``: by type and external id; ``limit`` 100 unless told."""

    messages: ClassVar[Mapping[str, str]] = Paging.messages

    entity_type: str | None = None
    external_id: str | None = None
    limit: _Count | None = None
    offset: _Count | None = None


class ListApprovals(WireParams):
    """``approvals.list``: of one status when given."""

    company_id: CompanyId = None  # type: ignore[assignment]
    status: str | None = None


class ApprovalRef(WireParams):
    """``approvals.get``: an approval of another company reads as null."""

    company_id: CompanyId = None  # type: ignore[assignment]
    approval_id: str | None = None


class HttpFetch(WireParams):
    """``http.fetch``: a URL and fetch's ``init`` (method, headers, body)."""

    url: Any = None
    init: dict[str, Any] | None = None


class RecordSpan(WireParams):
    """``span.record``: upstream never refuses one, whatever its fields."""

    name: Any = None


class CreateSession(AgentRef):
    """``agents.sessions.create``: a task key of the plugin's choosing is stored as given."""

    task_key: str | None = None
    reason: str | None = None


class SessionRef(WireParams):
    """``agents.sessions.close``."""

    company_id: CompanyId = None  # type: ignore[assignment]
    session_id: str | None = None


class ResolveSecret(WireParams):
    """``secrets.resolve``: a ``secret_ref`` binding; the company is the invocation's."""

    secret_ref: Any = None
    company_id: str | None = None
    config_path: str | None = None
