"""Board approvals and their links to issues."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, PrimaryKeyConstraint

from db.models.base import Base, fk_field, id_field, json_field, text_field, timestamp_field


class Approval(Base, table=True):
    """A request for a board decision (hire an agent, override a budget, ...)."""

    __tablename__ = "approvals"
    __table_args__ = (Index("approvals_company_status_type_idx", "company_id", "status", "type"),)

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    type: str = text_field()
    requested_by_agent_id: uuid.UUID | None = fk_field("agents.id")
    requested_by_user_id: str | None = text_field(nullable=True)
    status: str = text_field("pending")
    payload: dict[str, Any] = json_field(nullable=False)
    decision_note: str | None = text_field(nullable=True)
    decided_by_user_id: str | None = text_field(nullable=True)
    decided_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class IssueApproval(Base, table=True):
    """Links an approval to an issue."""

    __tablename__ = "issue_approvals"
    __table_args__ = (
        PrimaryKeyConstraint("issue_id", "approval_id", name="issue_approvals_pk"),
        Index("issue_approvals_issue_idx", "issue_id"),
        Index("issue_approvals_approval_idx", "approval_id"),
        Index("issue_approvals_company_idx", "company_id"),
    )

    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    issue_id: uuid.UUID = fk_field("issues.id", ondelete="CASCADE", nullable=False)
    approval_id: uuid.UUID = fk_field("approvals.id", ondelete="CASCADE", nullable=False)
    linked_by_agent_id: uuid.UUID | None = fk_field("agents.id", ondelete="SET NULL")
    linked_by_user_id: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
