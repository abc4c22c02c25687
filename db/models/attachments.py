"""Stored files (``assets``) and the issues they are attached to (``issue_attachments``)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Index
from sqlmodel import Field

from db.models.base import Base, fk_field, id_field, int_field, text_field, timestamp_field
from db.types import UUID


class Asset(Base, table=True):
    """A stored object: where it lives (``provider`` + ``object_key``), its type, size and hash."""

    __tablename__ = "assets"
    __table_args__ = (
        Index("assets_company_created_idx", "company_id", "created_at"),
        Index("assets_company_provider_idx", "company_id", "provider"),
        Index("assets_company_object_key_uq", "company_id", "object_key", unique=True),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    provider: str = text_field()
    object_key: str = text_field()
    content_type: str = text_field()
    byte_size: int = int_field(nullable=False)
    sha256: str = text_field()
    original_filename: str | None = text_field(nullable=True)
    created_by_agent_id: uuid.UUID | None = fk_field("agents.id")
    created_by_user_id: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class IssueAttachment(Base, table=True):
    """An asset attached to an issue, optionally through one of its comments."""

    __tablename__ = "issue_attachments"
    __table_args__ = (
        Index("issue_attachments_company_issue_idx", "company_id", "issue_id"),
        Index("issue_attachments_issue_comment_idx", "issue_comment_id"),
        Index("issue_attachments_originating_run_idx", "originating_run_id"),
        Index("issue_attachments_asset_uq", "asset_id", unique=True),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    issue_id: uuid.UUID = fk_field("issues.id", ondelete="CASCADE", nullable=False)
    asset_id: uuid.UUID = fk_field("assets.id", ondelete="CASCADE", nullable=False)
    issue_comment_id: uuid.UUID | None = fk_field("issue_comments.id", ondelete="SET NULL")
    originating_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class SandboxAssetContent(Base, table=True):
    """Ours: the bytes of an asset the sandbox stores itself (``provider`` ``database``), so
    every host sharing the database reads the same files."""

    __tablename__ = "sandbox_asset_contents"

    asset_id: uuid.UUID = Field(
        sa_type=UUID,
        sa_column_kwargs={"primary_key": True},
        foreign_key="assets.id",
        ondelete="CASCADE",
    )
    content: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
