"""Goals, projects and the workspaces issues run in (the columns issues reference)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index
from sqlmodel import Field

from db.models.base import (
    Base,
    bool_field,
    fk_field,
    id_field,
    json_field,
    text_field,
    timestamp_field,
)
from db.types import UUID


class Goal(Base, table=True):
    """A company goal; issues fall back to the company's root goal."""

    __tablename__ = "goals"
    __table_args__ = (Index("goals_company_idx", "company_id"),)

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    title: str = text_field()
    description: str | None = text_field(nullable=True)
    level: str = text_field("task")
    status: str = text_field("planned")
    parent_id: uuid.UUID | None = fk_field("goals.id")
    owner_agent_id: uuid.UUID | None = fk_field("agents.id")
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class Project(Base, table=True):
    """A project grouping issues, with an optional goal and budget."""

    __tablename__ = "projects"
    __table_args__ = (Index("projects_company_idx", "company_id"),)

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    goal_id: uuid.UUID | None = fk_field("goals.id")
    name: str = text_field()
    description: str | None = text_field(nullable=True)
    status: str = text_field("backlog")
    lead_agent_id: uuid.UUID | None = fk_field("agents.id")
    target_date: date | None = Field(default=None, sa_type=sa.Date, nullable=True)
    color: str | None = text_field(nullable=True)
    env: dict[str, Any] | None = json_field()
    pause_reason: str | None = text_field(nullable=True)
    paused_at: datetime | None = timestamp_field()
    execution_workspace_policy: dict[str, Any] | None = json_field()
    archived_at: datetime | None = timestamp_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class ProjectWorkspace(Base, table=True):
    """A checkout location of a project (local path or remote)."""

    __tablename__ = "project_workspaces"
    __table_args__ = (
        Index("project_workspaces_company_project_idx", "company_id", "project_id"),
        Index("project_workspaces_project_primary_idx", "project_id", "is_primary"),
        Index("project_workspaces_project_source_type_idx", "project_id", "source_type"),
        Index("project_workspaces_company_shared_key_idx", "company_id", "shared_workspace_key"),
        Index(
            "project_workspaces_project_remote_ref_idx",
            "project_id",
            "remote_provider",
            "remote_workspace_ref",
            unique=True,
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    project_id: uuid.UUID = fk_field("projects.id", ondelete="CASCADE", nullable=False)
    name: str = text_field()
    source_type: str = text_field("local_path")
    cwd: str | None = text_field(nullable=True)
    repo_url: str | None = text_field(nullable=True)
    repo_ref: str | None = text_field(nullable=True)
    default_ref: str | None = text_field(nullable=True)
    visibility: str = text_field("default")
    setup_command: str | None = text_field(nullable=True)
    cleanup_command: str | None = text_field(nullable=True)
    remote_provider: str | None = text_field(nullable=True)
    remote_workspace_ref: str | None = text_field(nullable=True)
    shared_workspace_key: str | None = text_field(nullable=True)
    metadata_: dict[str, Any] | None = json_field(name="metadata")
    is_primary: bool = bool_field(False)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class ExecutionWorkspace(Base, table=True):
    """A workspace an issue's execution ran in; issues may reuse their source's."""

    __tablename__ = "execution_workspaces"
    __table_args__ = (
        Index(
            "execution_workspaces_company_project_status_idx", "company_id", "project_id", "status"
        ),
        Index(
            "execution_workspaces_company_project_workspace_status_idx",
            "company_id",
            "project_workspace_id",
            "status",
        ),
        Index("execution_workspaces_company_source_issue_idx", "company_id", "source_issue_id"),
        Index("execution_workspaces_company_last_used_idx", "company_id", "last_used_at"),
        Index("execution_workspaces_company_branch_idx", "company_id", "branch_name"),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    project_id: uuid.UUID = fk_field("projects.id", ondelete="CASCADE", nullable=False)
    project_workspace_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            "project_workspace_id",
            UUID,
            sa.ForeignKey(
                "project_workspaces.id",
                ondelete="SET NULL",
                # upstream's name, as PostgreSQL truncates it to 63 characters
                name="execution_workspaces_project_workspace_id_project_workspaces_id",
            ),
            nullable=True,
        ),
    )
    # issues <-> execution_workspaces is a foreign-key cycle; this side is added after both exist.
    source_issue_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            "source_issue_id",
            UUID,
            sa.ForeignKey("issues.id", ondelete="SET NULL", use_alter=True),
            nullable=True,
        ),
    )
    mode: str = text_field()
    strategy_type: str = text_field()
    name: str = text_field()
    status: str = text_field("active")
    cwd: str | None = text_field(nullable=True)
    repo_url: str | None = text_field(nullable=True)
    base_ref: str | None = text_field(nullable=True)
    branch_name: str | None = text_field(nullable=True)
    provider_type: str = text_field("local_fs")
    provider_ref: str | None = text_field(nullable=True)
    derived_from_execution_workspace_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            "derived_from_execution_workspace_id",
            UUID,
            sa.ForeignKey(
                "execution_workspaces.id",
                ondelete="SET NULL",
                # upstream's name, as PostgreSQL truncates it to 63 characters
                name="execution_workspaces_derived_from_execution_workspace_id_execut",
            ),
            nullable=True,
        ),
    )
    last_used_at: datetime = timestamp_field(now=True)
    opened_at: datetime = timestamp_field(now=True)
    closed_at: datetime | None = timestamp_field()
    cleanup_eligible_at: datetime | None = timestamp_field()
    cleanup_reason: str | None = text_field(nullable=True)
    metadata_: dict[str, Any] | None = json_field(name="metadata")
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)
