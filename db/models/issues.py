"""Issues and what hangs off them: blocker relations, comments and labels."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import CheckConstraint, Index, PrimaryKeyConstraint

from db.models.base import (
    Base,
    fk_field,
    id_field,
    int_field,
    json_field,
    text_field,
    timestamp_field,
    uuid_field,
)

_OPEN_ROUTINE_EXECUTION = sa.text(
    "origin_kind = 'routine_execution' AND origin_id IS NOT NULL AND hidden_at IS NULL "
    "AND execution_run_id IS NOT NULL "
    "AND status IN ('backlog', 'todo', 'in_progress', 'in_review', 'blocked')"
)


_ONBOARDING_FIRST_TASK = sa.text("origin_kind = 'onboarding_first_task'")
#: A conversation issue is assigned to its agent, talks with one user, and is still open.
_CONVERSATION_IDENTITY = (
    "(conversation_agent_id IS NULL AND conversation_user_id IS NULL "
    "AND conversation_state IS NULL) OR (conversation_agent_id IS NOT NULL "
    "AND conversation_user_id IS NOT NULL AND assignee_agent_id = conversation_agent_id "
    "AND assignee_agent_id IS NOT NULL AND assignee_user_id IS NULL "
    "AND conversation_state IN ('active', 'waiting') "
    "AND status NOT IN ('done', 'cancelled'))"
)


class Issue(Base, table=True):
    """A unit of work, numbered per company (``PAP-12``) and optionally nested under a parent."""

    __tablename__ = "issues"
    __table_args__ = (
        Index("issues_company_status_idx", "company_id", "status"),
        Index("issues_company_assignee_status_idx", "company_id", "assignee_agent_id", "status"),
        Index(
            "issues_company_assignee_user_status_idx", "company_id", "assignee_user_id", "status"
        ),
        Index("issues_company_parent_idx", "company_id", "parent_id"),
        Index("issues_company_project_idx", "company_id", "project_id"),
        Index("issues_company_origin_idx", "company_id", "origin_kind", "origin_id"),
        Index("issues_company_project_workspace_idx", "company_id", "project_workspace_id"),
        Index("issues_company_execution_workspace_idx", "company_id", "execution_workspace_id"),
        Index("issues_identifier_idx", "identifier", unique=True),
        # Ours: numbering reads the company's highest issue number on every create.
        Index("issues_company_issue_number_idx", "company_id", "issue_number"),
        Index(
            "issues_conversation_identity_idx",
            "company_id",
            "conversation_agent_id",
            "conversation_user_id",
            unique=True,
        ),
        Index("issues_company_harness_kind_idx", "company_id", "harness_kind"),
        Index("issues_company_updated_idx", "company_id", "updated_at"),
        Index("issues_company_created_idx", "company_id", "created_at"),
        Index("issues_company_priority_idx", "company_id", "priority"),
        Index(
            "issues_onboarding_first_task_uq",
            "company_id",
            unique=True,
            postgresql_where=_ONBOARDING_FIRST_TASK,
            sqlite_where=_ONBOARDING_FIRST_TASK,
        ),
        Index("issues_company_id_uq", "company_id", "id", unique=True),
        CheckConstraint(_CONVERSATION_IDENTITY, name="conversation_identity"),
        Index(
            "issues_open_routine_execution_uq",
            "company_id",
            "origin_kind",
            "origin_id",
            unique=True,
            postgresql_where=_OPEN_ROUTINE_EXECUTION,
            sqlite_where=_OPEN_ROUTINE_EXECUTION,
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    project_id: uuid.UUID | None = fk_field("projects.id")
    project_workspace_id: uuid.UUID | None = fk_field("project_workspaces.id", ondelete="SET NULL")
    goal_id: uuid.UUID | None = fk_field("goals.id")
    parent_id: uuid.UUID | None = fk_field("issues.id")
    title: str = text_field()
    description: str | None = text_field(nullable=True)
    status: str = text_field("backlog")
    priority: str = text_field("medium")
    assignee_agent_id: uuid.UUID | None = fk_field("agents.id")
    assignee_user_id: str | None = text_field(nullable=True)
    checkout_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    execution_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    execution_agent_name_key: str | None = text_field(nullable=True)
    execution_locked_at: datetime | None = timestamp_field()
    created_by_agent_id: uuid.UUID | None = fk_field("agents.id")
    created_by_user_id: str | None = text_field(nullable=True)
    issue_number: int | None = int_field()
    identifier: str | None = text_field(nullable=True)
    origin_kind: str = text_field("manual")
    origin_id: str | None = text_field(nullable=True)
    origin_run_id: str | None = text_field(nullable=True)
    request_depth: int = int_field(0)
    billing_code: str | None = text_field(nullable=True)
    assignee_adapter_overrides: dict[str, Any] | None = json_field()
    execution_policy: dict[str, Any] | None = json_field()
    execution_state: dict[str, Any] | None = json_field()
    execution_workspace_id: uuid.UUID | None = fk_field(
        "execution_workspaces.id", ondelete="SET NULL"
    )
    execution_workspace_preference: str | None = text_field(nullable=True)
    execution_workspace_settings: dict[str, Any] | None = json_field()
    started_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()
    cancelled_at: datetime | None = timestamp_field()
    hidden_at: datetime | None = timestamp_field()
    # Paperclip 2026.916.1: agent conversations, status versions, review policy, native runtime.
    conversation_agent_id: uuid.UUID | None = fk_field("agents.id")
    conversation_user_id: str | None = text_field(nullable=True)
    conversation_state: str | None = text_field(nullable=True)
    conversation_session_generation: int = int_field(0)
    conversation_boundary_comment_id: uuid.UUID | None = uuid_field()
    status_version: int = int_field(0, big=True)
    last_status_decision_id: uuid.UUID | None = uuid_field()
    harness_kind: str | None = text_field(nullable=True)
    review_policy: str | None = text_field(nullable=True)
    origin_identity_context_id: uuid.UUID | None = uuid_field()
    continuation_identity_context_id: uuid.UUID | None = uuid_field()
    unblock_descriptor: dict[str, Any] | None = json_field()
    blocked_transition_at: datetime | None = timestamp_field()
    blocked_owner_notified_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class IssueRelation(Base, table=True):
    """A ``blocks`` edge: ``issue_id`` (the blocker) blocks ``related_issue_id``."""

    __tablename__ = "issue_relations"
    __table_args__ = (
        Index("issue_relations_company_issue_idx", "company_id", "issue_id"),
        Index("issue_relations_company_related_issue_idx", "company_id", "related_issue_id"),
        Index("issue_relations_company_type_idx", "company_id", "type"),
        Index(
            "issue_relations_company_edge_uq",
            "company_id",
            "issue_id",
            "related_issue_id",
            "type",
            unique=True,
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    issue_id: uuid.UUID = fk_field("issues.id", ondelete="CASCADE", nullable=False)
    related_issue_id: uuid.UUID = fk_field("issues.id", ondelete="CASCADE", nullable=False)
    type: str = text_field()
    created_by_agent_id: uuid.UUID | None = fk_field("agents.id", ondelete="SET NULL")
    created_by_user_id: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class IssueComment(Base, table=True):
    """A comment on an issue by an agent or a user."""

    __tablename__ = "issue_comments"
    __table_args__ = (
        Index("issue_comments_issue_idx", "issue_id"),
        Index("issue_comments_company_idx", "company_id"),
        Index(
            "issue_comments_company_issue_created_at_idx", "company_id", "issue_id", "created_at"
        ),
        Index(
            "issue_comments_company_author_issue_created_at_idx",
            "company_id",
            "author_user_id",
            "issue_id",
            "created_at",
        ),
        Index(
            "issue_comments_client_request_uq",
            "issue_id",
            "author_user_id",
            "client_request_id",
            unique=True,
        ),
        Index("issue_comments_company_id_uq", "company_id", "id", unique=True),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    issue_id: uuid.UUID = fk_field("issues.id", nullable=False)
    author_agent_id: uuid.UUID | None = fk_field("agents.id")
    author_user_id: str | None = text_field(nullable=True)
    created_by_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    body: str = text_field()
    # Paperclip 2026.916.1: who an agent wrote for, idempotent posting, conversation sessions.
    on_behalf_of_user_id: str | None = text_field(nullable=True)
    client_request_id: str | None = text_field(nullable=True)
    conversation_session_generation: int | None = int_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class Label(Base, table=True):
    """A company label that issues can carry."""

    __tablename__ = "labels"
    __table_args__ = (
        Index("labels_company_idx", "company_id"),
        Index("labels_company_name_idx", "company_id", "name", unique=True),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", ondelete="CASCADE", nullable=False)
    name: str = text_field()
    color: str = text_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class IssueLabel(Base, table=True):
    """The labels of an issue."""

    __tablename__ = "issue_labels"
    __table_args__ = (
        PrimaryKeyConstraint("issue_id", "label_id", name="issue_labels_pk"),
        Index("issue_labels_issue_idx", "issue_id"),
        Index("issue_labels_label_idx", "label_id"),
        Index("issue_labels_company_idx", "company_id"),
    )

    issue_id: uuid.UUID = fk_field("issues.id", ondelete="CASCADE", nullable=False)
    label_id: uuid.UUID = fk_field("labels.id", ondelete="CASCADE", nullable=False)
    company_id: uuid.UUID = fk_field("companies.id", ondelete="CASCADE", nullable=False)
    created_at: datetime = timestamp_field(now=True)
