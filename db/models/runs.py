"""The heartbeat queue: agent wakeup requests and the runs they start."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index
from sqlalchemy.sql.schema import Table

from db.models.base import (
    Base,
    bool_field,
    fk_field,
    id_field,
    int_field,
    json_field,
    text_field,
    timestamp_field,
    uuid_field,
)
from db.types import JsonText

#: Paperclip 2026.916.1: at most one live wakeup per idempotency key in each delivery family
#: (index name, the family's keys, the statuses that no longer count).
_DELIVERY_FAMILIES = (
    (
        "agent_wakeup_requests_review_path_recovery_idempotency_uq",
        "idempotency_key LIKE 'issue_review_path_lost:%'",
        "('skipped')",
    ),
    (
        "agent_wakeup_requests_disposition_repair_idempotency_uq",
        "idempotency_key LIKE 'issue_disposition_repair:%'",
        "('skipped')",
    ),
    (
        "agent_wakeup_requests_question_response_delivery_idempotency_uq",
        "(idempotency_key LIKE 'question-response:%' OR idempotency_key LIKE 'interaction:%')",
        "('skipped', 'failed', 'cancelled')",
    ),
    (
        "agent_wakeup_requests_connection_intent_delivery_idempotency_uq",
        "idempotency_key LIKE 'connection-intent:%'",
        "('skipped', 'failed', 'cancelled')",
    ),
    (
        "agent_wakeup_requests_tool_action_delivery_uq",
        "idempotency_key LIKE 'tool-action-response:%'",
        "('skipped', 'failed', 'cancelled')",
    ),
)


def _one_live_delivery(name: str, keys: str, finished: str) -> Index:
    """SQLite refuses LIKE in an index (``PRAGMA case_sensitive_like`` could change its
    result), so there the prefix test is the equivalent GLOB."""
    return Index(
        name,
        "company_id",
        "idempotency_key",
        unique=True,
        postgresql_where=sa.text(f"{keys} AND status NOT IN {finished}"),
        sqlite_where=sa.text(f"{_as_glob(keys)} AND status NOT IN {finished}"),
    )


def _as_glob(keys: str) -> str:
    return keys.replace(" LIKE ", " GLOB ").replace("%'", "*'")


class AgentWakeupRequest(Base, table=True):
    """A request to wake an agent: queued, coalesced, deferred or skipped."""

    __tablename__ = "agent_wakeup_requests"
    __table_args__ = (
        Index("agent_wakeup_requests_company_agent_status_idx", "company_id", "agent_id", "status"),
        Index("agent_wakeup_requests_company_requested_idx", "company_id", "requested_at"),
        Index("agent_wakeup_requests_agent_requested_idx", "agent_id", "requested_at"),
        # Ours: idempotent wakeups look requests up by key.
        Index(
            "agent_wakeup_requests_company_agent_idempotency_idx",
            "company_id",
            "agent_id",
            "idempotency_key",
        ),
        # Ours: live viewers follow changed requests by time (db.change_feed).
        Index("agent_wakeup_requests_updated_idx", "updated_at"),
        *(_one_live_delivery(*family) for family in _DELIVERY_FAMILIES),
        Index(
            "agent_wakeup_requests_company_payload_issue_idx",
            "company_id",
            JsonText(sa.column("payload"), "issueId"),
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    agent_id: uuid.UUID = fk_field("agents.id", nullable=False)
    source: str = text_field()
    trigger_detail: str | None = text_field(nullable=True)
    reason: str | None = text_field(nullable=True)
    payload: dict[str, Any] | None = json_field()
    status: str = text_field("queued")
    coalesced_count: int = int_field(0)
    requested_by_actor_type: str | None = text_field(nullable=True)
    requested_by_actor_id: str | None = text_field(nullable=True)
    #: Stored, not unique upstream.
    idempotency_key: str | None = text_field(nullable=True)
    #: No foreign key: the run points back at its request.
    run_id: uuid.UUID | None = uuid_field()
    requested_at: datetime = timestamp_field(now=True)
    claimed_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
    error: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


_DELIVERY_SET = sa.text("execution_status_delivery_id IS NOT NULL")
_DEADLINE_SET = sa.text("execution_control_deadline_at IS NOT NULL")


class HeartbeatRun(Base, table=True):
    """One agent run; its issue is ``context_snapshot ->> 'issueId'`` (there is no column)."""

    __tablename__ = "heartbeat_runs"
    __table_args__ = (
        Index("heartbeat_runs_company_agent_started_idx", "company_id", "agent_id", "started_at"),
        Index("heartbeat_runs_company_liveness_idx", "company_id", "liveness_state", "created_at"),
        # Ours: live viewers follow changed runs by time (db.change_feed).
        Index("heartbeat_runs_updated_idx", "updated_at"),
        Index(
            "heartbeat_runs_execution_status_delivery_idx",
            "execution_status_delivery_id",
            postgresql_where=_DELIVERY_SET,
            sqlite_where=_DELIVERY_SET,
        ),
        Index(
            "heartbeat_runs_execution_control_deadline_idx",
            "execution_control_deadline_at",
            postgresql_where=_DEADLINE_SET,
            sqlite_where=_DEADLINE_SET,
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    agent_id: uuid.UUID = fk_field("agents.id", nullable=False)
    invocation_source: str = text_field("on_demand")
    trigger_detail: str | None = text_field(nullable=True)
    status: str = text_field("queued")
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
    error: str | None = text_field(nullable=True)
    wakeup_request_id: uuid.UUID | None = fk_field("agent_wakeup_requests.id")
    exit_code: int | None = int_field()
    signal: str | None = text_field(nullable=True)
    usage_json: dict[str, Any] | None = json_field()
    result_json: dict[str, Any] | None = json_field()
    session_id_before: str | None = text_field(nullable=True)
    session_id_after: str | None = text_field(nullable=True)
    log_store: str | None = text_field(nullable=True)
    log_ref: str | None = text_field(nullable=True)
    log_bytes: int | None = int_field(big=True)
    log_sha256: str | None = text_field(nullable=True)
    log_compressed: bool = bool_field(False)
    stdout_excerpt: str | None = text_field(nullable=True)
    stderr_excerpt: str | None = text_field(nullable=True)
    error_code: str | None = text_field(nullable=True)
    external_run_id: str | None = text_field(nullable=True)
    process_pid: int | None = int_field()
    process_group_id: int | None = int_field()
    process_started_at: datetime | None = timestamp_field()
    retry_of_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    process_loss_retry_count: int = int_field(0)
    issue_comment_status: str = text_field("not_applicable")
    issue_comment_satisfied_by_comment_id: uuid.UUID | None = uuid_field()
    issue_comment_retry_queued_at: datetime | None = timestamp_field()
    liveness_state: str | None = text_field(nullable=True)
    liveness_reason: str | None = text_field(nullable=True)
    continuation_attempt: int = int_field(0)
    last_useful_action_at: datetime | None = timestamp_field()
    next_action: str | None = text_field(nullable=True)
    context_snapshot: dict[str, Any] | None = json_field()
    # Paperclip 2026.916.1: execution control, runtime mode, runner and native runtime.
    active_identity_context_id: uuid.UUID | None = uuid_field()
    execution_control_deadline_at: datetime | None = timestamp_field()
    execution_status_delivery_id: uuid.UUID | None = uuid_field()
    runtime_mode: str = text_field("legacy")
    runtime_mode_resolver_version: str | None = text_field(nullable=True)
    runtime_mode_reason: str | None = text_field(nullable=True)
    runtime_mode_resolved_at: datetime | None = timestamp_field()
    runner_profile_json: dict[str, Any] | None = json_field()
    runner_instance_id: uuid.UUID | None = uuid_field()
    native_session_id: uuid.UUID | None = uuid_field()
    native_issue_id: uuid.UUID | None = uuid_field()
    driver_kind: str | None = text_field(nullable=True)
    driver_version: str | None = text_field(nullable=True)
    completion_contract_id: uuid.UUID | None = uuid_field()
    completion_contract_sha256: str | None = text_field(nullable=True)
    next_event_seq: int = int_field(1, big=True)
    native_phase: str | None = text_field(nullable=True)
    native_phase_updated_at: datetime | None = timestamp_field()
    controller_boot_id: uuid.UUID | None = uuid_field()
    controller_lease_expires_at: datetime | None = timestamp_field()
    execution_stage: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


# Ours: a run's issue lives in its context snapshot; wakeups and summaries look runs up by it.
_runs: Table = HeartbeatRun.__table__  # type: ignore[assignment]
Index(
    "heartbeat_runs_company_context_issue_idx",
    _runs.c.company_id,
    JsonText(_runs.c.context_snapshot, "issueId"),
)
