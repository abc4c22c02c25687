"""What agents ask of people on an issue's thread (``issue_thread_interactions``): suggested
tasks, questions, confirmations; pending until someone accepts or rejects them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index

from db.models.base import (
    Base,
    fk_field,
    id_field,
    json_field,
    text_field,
    timestamp_field,
    uuid_field,
)

_HAS_IDEMPOTENCY_KEY = sa.text("idempotency_key IS NOT NULL")


class IssueThreadInteraction(Base, table=True):
    """One interaction on an issue's thread, with who may resolve it and how it ended."""

    __tablename__ = "issue_thread_interactions"
    __table_args__ = (
        Index("issue_thread_interactions_issue_idx", "issue_id"),
        Index(
            "issue_thread_interactions_company_issue_created_at_idx",
            "company_id",
            "issue_id",
            "created_at",
        ),
        Index(
            "issue_thread_interactions_company_issue_status_idx", "company_id", "issue_id", "status"
        ),
        Index(
            "issue_thread_interactions_company_issue_idempotency_uq",
            "company_id",
            "issue_id",
            "idempotency_key",
            unique=True,
            postgresql_where=_HAS_IDEMPOTENCY_KEY,
            sqlite_where=_HAS_IDEMPOTENCY_KEY,
        ),
        Index("issue_thread_interactions_source_comment_idx", "source_comment_id"),
        Index("issue_thread_interactions_addressee_agent_idx", "addressee_agent_id"),
        Index("issue_thread_interactions_addressee_user_idx", "addressee_user_id"),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    issue_id: uuid.UUID = fk_field("issues.id", ondelete="CASCADE", nullable=False)
    kind: str = text_field()
    status: str = text_field("pending")
    continuation_policy: str = text_field("wake_assignee")
    requested_resolver_policy: str = text_field("anyone")
    effective_resolver_policy: str = text_field("anyone")
    resolver_policy_provenance: str = text_field("inherited")
    effective_resolver_policy_source: str = text_field("requested")
    idempotency_key: str | None = text_field(nullable=True)
    origin_comment_ids: list[Any] = json_field([])
    source_comment_id: uuid.UUID | None = fk_field("issue_comments.id", ondelete="SET NULL")
    source_identity_context_id: uuid.UUID | None = uuid_field()
    source_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    title: str | None = text_field(nullable=True)
    summary: str | None = text_field(nullable=True)
    created_by_agent_id: uuid.UUID | None = fk_field("agents.id")
    addressee_agent_id: uuid.UUID | None = fk_field("agents.id", ondelete="SET NULL")
    addressee_user_id: str | None = text_field(nullable=True)
    created_by_user_id: str | None = text_field(nullable=True)
    resolved_by_agent_id: uuid.UUID | None = fk_field("agents.id")
    resolved_by_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    resolved_by_user_id: str | None = text_field(nullable=True)
    payload: dict[str, Any] = json_field(nullable=False)
    result: dict[str, Any] | None = json_field()
    resolved_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)
