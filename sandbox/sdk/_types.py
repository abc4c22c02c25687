"""Typed values a plugin receives from the host, and the results it may return.

Inputs are parsed from the wire (camelCase) into snake_case records; unknown fields from newer
hosts are ignored. Results may be returned as these records or as plain JSON-ready dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from paperclip_records import Record


class _Sparse(Record):
    """A record whose unset (None) fields are absent on the wire, as JavaScript drops undefined."""

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class PluginEvent(Record):
    """A host event delivered to ``ctx.events.on`` handlers."""

    event_id: str
    event_type: str
    occurred_at: datetime
    actor_id: str | None = None
    actor_type: str | None = None
    entity_id: str | None = None
    entity_type: str | None = None
    company_id: str | None = None
    payload: Any = None


class EventFilter(_Sparse):
    """Narrows an event subscription; the fields that are set must all match."""

    company_id: str | None = None
    project_id: str | None = None
    agent_id: str | None = None


class Actor(_Sparse):
    """Who a mutation is done for; sent as ``actorAgentId``/``actorUserId``/``actorRunId``."""

    agent_id: str | None = None
    user_id: str | None = None
    run_id: str | None = None


class ActionActor(Record):
    """The caller of an action, as the host reported it (``system`` when it did not)."""

    type: Literal["user", "agent", "system"]
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    company_id: str | None = None


class ActionContext(Record):
    """The second argument of an action handler: the caller and its authorized company."""

    actor: ActionActor
    company_id: str | None = None


class JobContext(Record):
    """A scheduled or manual run of a registered job."""

    job_key: str
    run_id: str
    trigger: str
    scheduled_at: datetime | None = None


class ToolRunContext(Record):
    """The agent run that invoked a tool."""

    agent_id: str | None = None
    run_id: str | None = None
    company_id: str | None = None
    project_id: str | None = None


class WebhookInput(Record):
    """A webhook delivery to one of the manifest's endpoints."""

    endpoint_key: str
    headers: dict[str, str | list[str]] = {}
    raw_body: str = ""
    parsed_body: Any = None
    request_id: str


class ApiActor(Record):
    """The board user or agent calling a scoped API route."""

    actor_type: Literal["user", "agent"]
    actor_id: str
    agent_id: str | None = None
    user_id: str | None = None
    run_id: str | None = None


class ApiRequestInput(Record):
    """A request to one of the manifest's scoped API routes, after the host's checks."""

    route_key: str
    method: str
    path: str
    params: dict[str, str] = {}
    query: dict[str, str | list[str]] = {}
    body: Any = None
    actor: ApiActor
    company_id: str
    headers: dict[str, str] = {}


class HealthResult(_Sparse):
    """What ``on_health`` reports."""

    status: Literal["ok", "degraded", "error"]
    message: str | None = None
    details: dict[str, Any] | None = None


class ConfigValidation(_Sparse):
    """What ``on_validate_config`` reports."""

    ok: bool
    warnings: list[str] | None = None
    errors: list[str] | None = None


class ApiResponse(_Sparse):
    """What ``on_api_request`` answers (status 200 when unset)."""

    status: int | None = None
    headers: dict[str, str] | None = None
    body: Any = None


class ToolResult(_Sparse):
    """What a tool handler answers to the agent."""

    content: str | None = None
    data: Any = None
    error: str | None = None


class ExecuteResult(Record):
    """The outcome of ``ctx.db.execute``."""

    row_count: int


@dataclass(frozen=True)
class HttpResponse:
    """What ``ctx.http.fetch`` answers: status, status text, lower-case headers, body text."""

    status: int
    status_text: str
    headers: dict[str, str]
    body: str

    @property
    def ok(self) -> bool:
        """A 2xx status, as ``Response.ok``."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)
