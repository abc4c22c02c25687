"""Companies and their human/agent memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index

from db.models.base import (
    Base,
    bool_field,
    fk_field,
    id_field,
    int_field,
    json_field,
    text_field,
    timestamp_field,
)


class Company(Base, table=True):
    """A Paperclip company; every domain row is scoped to one."""

    __tablename__ = "companies"
    __table_args__ = (Index("companies_issue_prefix_idx", "issue_prefix", unique=True),)

    id: uuid.UUID = id_field()
    name: str = text_field()
    description: str | None = text_field(nullable=True)
    status: str = text_field("active")
    pause_reason: str | None = text_field(nullable=True)
    paused_at: datetime | None = timestamp_field()
    issue_prefix: str = text_field("PAP")
    #: The last issued issue number.
    issue_counter: int = int_field(0)
    budget_monthly_cents: int = int_field(0)
    spent_monthly_cents: int = int_field(0)
    require_board_approval_for_new_agents: bool = bool_field(True)
    feedback_data_sharing_enabled: bool = bool_field(False)
    feedback_data_sharing_consent_at: datetime | None = timestamp_field()
    feedback_data_sharing_consent_by_user_id: str | None = text_field(nullable=True)
    feedback_data_sharing_terms_version: str | None = text_field(nullable=True)
    #: Paperclip 2026.916.1: per interaction kind, who may resolve it at most.
    interaction_resolver_governance: dict[str, Any] = json_field({})
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class CompanyMembership(Base, table=True):
    """A user or agent principal's membership of a company."""

    __tablename__ = "company_memberships"
    __table_args__ = (
        Index(
            "company_memberships_company_principal_unique_idx",
            "company_id",
            "principal_type",
            "principal_id",
            unique=True,
        ),
        Index(
            "company_memberships_principal_status_idx", "principal_type", "principal_id", "status"
        ),
        Index("company_memberships_company_status_idx", "company_id", "status"),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    principal_type: str = text_field()
    principal_id: str = text_field()
    status: str = text_field("active")
    membership_role: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)
