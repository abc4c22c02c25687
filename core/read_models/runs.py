"""The wakeup queue and heartbeat runs as a viewer reads them, with their agent's name.

A plugin's wakeups are requested by ``system`` with the plugin's record id as the actor (as
upstream's host does), and the runs they queue point back at the request: so a plugin's runs
are those whose request it made.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from core.ids import as_uuid
from core.read_models.pages import DEFAULT_PAGE_ROWS, Cursor, Page, read_page
from db import Database, any_of, tables
from db.types import JsonText


@dataclass(frozen=True, slots=True)
class WakeupRow:
    """One ``agent_wakeup_requests`` row."""

    id: str
    company_id: str
    agent_id: str
    agent_name: str | None
    source: str
    trigger_detail: str | None
    reason: str | None
    status: str
    coalesced_count: int
    #: ``<actor type>:<actor id>`` of whoever asked.
    requested_by: str | None
    #: The issue of the wakeup (``payload.issueId``), and its identifier (``ACM-12``).
    issue_id: str | None
    identifier: str | None
    run_id: str | None
    idempotency_key: str | None
    error: str | None
    requested_at: datetime
    updated_at: datetime
    payload_json: str

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.requested_at, self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "companyId": self.company_id,
            "agentId": self.agent_id,
            "agentName": self.agent_name,
            "source": self.source,
            "triggerDetail": self.trigger_detail,
            "reason": self.reason,
            "status": self.status,
            "coalescedCount": self.coalesced_count,
            "requestedBy": self.requested_by,
            "issueId": self.issue_id,
            "identifier": self.identifier,
            "runId": self.run_id,
            "idempotencyKey": self.idempotency_key,
            "error": self.error,
            "requestedAt": self.requested_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
            "payload": json.loads(self.payload_json),
        }


@dataclass(frozen=True, slots=True)
class RunRow:
    """One ``heartbeat_runs`` row."""

    id: str
    company_id: str
    agent_id: str
    agent_name: str | None
    status: str
    invocation_source: str
    trigger_detail: str | None
    #: The issue the run works on (``context_snapshot.issueId``), and its identifier.
    issue_id: str | None
    identifier: str | None
    wakeup_request_id: str | None
    #: ``<actor type>:<actor id>`` of whoever asked for the wakeup that queued the run.
    requested_by: str | None
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    error_code: str | None
    created_at: datetime
    updated_at: datetime
    context_json: str

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.created_at, self.id)

    @property
    def duration_seconds(self) -> float | None:
        """How long the run ran, once it has started and finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "companyId": self.company_id,
            "agentId": self.agent_id,
            "agentName": self.agent_name,
            "status": self.status,
            "invocationSource": self.invocation_source,
            "triggerDetail": self.trigger_detail,
            "issueId": self.issue_id,
            "identifier": self.identifier,
            "wakeupRequestId": self.wakeup_request_id,
            "requestedBy": self.requested_by,
            "startedAt": _iso(self.started_at),
            "finishedAt": _iso(self.finished_at),
            "error": self.error,
            "errorCode": self.error_code,
            "createdAt": self.created_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
            "contextSnapshot": json.loads(self.context_json),
        }


@dataclass(frozen=True)
class QueueFilter:
    """Which wakeups and runs to read; every field set must match."""

    company_id: str | None = None
    #: The plugin whose wakeups (and the runs they queued) to read.
    plugin_id: str | None = None
    agent_id: str | None = None
    status: str | None = None
    #: The issue of the wakeup (``payload.issueId``) or run (``context_snapshot.issueId``).
    issue_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("company_id", "plugin_id", "agent_id", "issue_id"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_uuid(value) or value)

    def matches(self, row: WakeupRow | RunRow) -> bool:
        """The same filter on a row already read."""
        if self.plugin_id is not None and row.requested_by != f"system:{self.plugin_id}":
            return False
        checks = (
            (self.company_id, row.company_id),
            (self.agent_id, row.agent_id),
            (self.status, row.status),
            (self.issue_id, row.issue_id),
        )
        return all(wanted is None or wanted == actual for wanted, actual in checks)

    def conditions(self, table: sa.Table, requests: sa.Table) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.company_id is not None:
            found.append(table.c.company_id == as_uuid(self.company_id))
        if self.agent_id is not None:
            found.append(table.c.agent_id == as_uuid(self.agent_id))
        if self.status is not None:
            found.append(table.c.status == self.status)
        if self.issue_id is not None:
            context = table.c.payload if table is requests else table.c.context_snapshot
            found.append(JsonText(context, "issueId") == self.issue_id)
        if self.plugin_id is not None:
            found += [
                requests.c.requested_by_actor_type == "system",
                requests.c.requested_by_actor_id == self.plugin_id,
            ]
        return found


def _issue_of(json_column: sa.Column[Any]) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """The issue named in a JSON column's ``issueId``: the issues table and the join on it.

    The id is text inside JSON; it is compared as text, so a value that is not a UUID matches
    nothing instead of failing.
    """
    issue = tables.issues.alias("issue")
    return issue, sa.cast(issue.c.id, sa.Text) == JsonText(json_column, "issueId")


def _wakeups_query() -> sa.Select[Any]:
    requests, agents = tables.agent_wakeup_requests, tables.agents
    issue, on_issue = _issue_of(requests.c.payload)
    return (
        sa.select(
            requests, agents.c.name.label("agent_name"), issue.c.identifier.label("identifier")
        )
        .outerjoin(agents, agents.c.id == requests.c.agent_id)
        .outerjoin(issue, on_issue)
    )


def _runs_query() -> tuple[sa.Select[Any], sa.Table]:
    runs, agents = tables.heartbeat_runs, tables.agents
    requests = tables.agent_wakeup_requests.alias("request")
    issue, on_issue = _issue_of(runs.c.context_snapshot)
    query = (
        sa.select(
            runs,
            agents.c.name.label("agent_name"),
            requests.c.requested_by_actor_type,
            requests.c.requested_by_actor_id,
            issue.c.identifier.label("identifier"),
        )
        .outerjoin(agents, agents.c.id == runs.c.agent_id)
        .outerjoin(requests, requests.c.id == runs.c.wakeup_request_id)
        .outerjoin(issue, on_issue)
    )
    return query, requests


async def list_wakeups(
    db: Database,
    queue_filter: QueueFilter = QueueFilter(),
    *,
    before: Cursor | None = None,
    limit: int = DEFAULT_PAGE_ROWS,
) -> Page[WakeupRow]:
    """Wakeup requests, newest request first."""
    requests = tables.agent_wakeup_requests
    return await read_page(
        db,
        _wakeups_query().where(*queue_filter.conditions(requests, requests)),
        newest_first=(requests.c.requested_at, requests.c.id),
        before=before,
        limit=limit,
        item=wakeup_row,
        cursor=lambda row: row.cursor,
    )


async def list_runs(
    db: Database,
    queue_filter: QueueFilter = QueueFilter(),
    *,
    before: Cursor | None = None,
    limit: int = DEFAULT_PAGE_ROWS,
) -> Page[RunRow]:
    """Heartbeat runs, newest first."""
    runs = tables.heartbeat_runs
    query, requests = _runs_query()
    return await read_page(
        db,
        query.where(*queue_filter.conditions(runs, requests)),
        newest_first=(runs.c.created_at, runs.c.id),
        before=before,
        limit=limit,
        item=run_row,
        cursor=lambda row: row.cursor,
    )


async def wakeups_by_id(db: Database, ids: Iterable[str]) -> list[WakeupRow]:
    """The wakeup requests with these ids (those that exist), newest first."""
    requests = tables.agent_wakeup_requests
    wanted = sorted({str(value) for value in ids})
    if not wanted:
        return []
    query = (
        _wakeups_query()
        .where(any_of(db.dialect, requests.c.id, wanted))
        .order_by(requests.c.requested_at.desc(), requests.c.id.desc())
    )
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    return [wakeup_row(row) for row in rows]


async def runs_by_id(db: Database, ids: Iterable[str]) -> list[RunRow]:
    """The runs with these ids (those that exist), newest first."""
    runs = tables.heartbeat_runs
    wanted = sorted({str(value) for value in ids if value})
    if not wanted:
        return []
    query, _ = _runs_query()
    query = query.where(any_of(db.dialect, runs.c.id, wanted)).order_by(
        runs.c.created_at.desc(), runs.c.id.desc()
    )
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    return [run_row(row) for row in rows]


def wakeup_row(row: Mapping[str, Any]) -> WakeupRow:
    payload = row["payload"]
    return WakeupRow(
        id=str(row["id"]),
        company_id=str(row["company_id"]),
        agent_id=str(row["agent_id"]),
        agent_name=row.get("agent_name"),
        source=row["source"],
        trigger_detail=row["trigger_detail"],
        reason=row["reason"],
        status=row["status"],
        coalesced_count=row["coalesced_count"],
        requested_by=_actor(row["requested_by_actor_type"], row["requested_by_actor_id"]),
        issue_id=_text(payload.get("issueId")) if isinstance(payload, Mapping) else None,
        identifier=row.get("identifier"),
        run_id=_text(row["run_id"]),
        idempotency_key=row["idempotency_key"],
        error=row["error"],
        requested_at=row["requested_at"],
        updated_at=row["updated_at"],
        payload_json=_json(payload),
    )


def run_row(row: Mapping[str, Any]) -> RunRow:
    context = row["context_snapshot"]
    return RunRow(
        id=str(row["id"]),
        company_id=str(row["company_id"]),
        agent_id=str(row["agent_id"]),
        agent_name=row.get("agent_name"),
        status=row["status"],
        invocation_source=row["invocation_source"],
        trigger_detail=row["trigger_detail"],
        issue_id=_text(context.get("issueId")) if isinstance(context, Mapping) else None,
        identifier=row.get("identifier"),
        wakeup_request_id=_text(row["wakeup_request_id"]),
        requested_by=_actor(row.get("requested_by_actor_type"), row.get("requested_by_actor_id")),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        error_code=row["error_code"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        context_json=_json(context),
    )


def _actor(actor_type: str | None, actor_id: str | None) -> str | None:
    return f"{actor_type}:{actor_id}" if actor_type and actor_id else None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
