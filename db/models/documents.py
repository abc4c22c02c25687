"""Issue documents: the latest body, its immutable revisions, and the per-issue key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index

from db.models.base import (
    Base,
    fk_field,
    id_field,
    int_field,
    text_field,
    timestamp_field,
    uuid_field,
)


class Document(Base, table=True):
    """A document's latest state."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("documents_company_updated_idx", "company_id", "updated_at"),
        Index("documents_company_created_idx", "company_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    title: str | None = text_field(nullable=True)
    format: str = text_field("markdown")
    latest_body: str = text_field()
    #: No foreign key, to avoid a cycle with document_revisions.
    latest_revision_id: uuid.UUID | None = uuid_field()
    latest_revision_number: int = int_field(1)
    created_by_agent_id: uuid.UUID | None = fk_field("agents.id", ondelete="SET NULL")
    created_by_user_id: str | None = text_field(nullable=True)
    updated_by_agent_id: uuid.UUID | None = fk_field("agents.id", ondelete="SET NULL")
    updated_by_user_id: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class DocumentRevision(Base, table=True):
    """One immutable revision of a document, numbered from 1."""

    __tablename__ = "document_revisions"
    __table_args__ = (
        Index(
            "document_revisions_document_revision_uq",
            "document_id",
            "revision_number",
            unique=True,
        ),
        Index(
            "document_revisions_company_document_created_idx",
            "company_id",
            "document_id",
            "created_at",
        ),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    document_id: uuid.UUID = fk_field("documents.id", ondelete="CASCADE", nullable=False)
    revision_number: int = int_field(nullable=False)
    title: str | None = text_field(nullable=True)
    format: str = text_field("markdown")
    body: str = text_field()
    change_summary: str | None = text_field(nullable=True)
    created_by_agent_id: uuid.UUID | None = fk_field("agents.id", ondelete="SET NULL")
    created_by_user_id: str | None = text_field(nullable=True)
    created_by_run_id: uuid.UUID | None = fk_field("heartbeat_runs.id", ondelete="SET NULL")
    created_at: datetime = timestamp_field(now=True)


class IssueDocument(Base, table=True):
    """Attaches a document to an issue under a per-issue key."""

    __tablename__ = "issue_documents"
    __table_args__ = (
        Index("issue_documents_company_issue_key_uq", "company_id", "issue_id", "key", unique=True),
        Index("issue_documents_document_uq", "document_id", unique=True),
        Index("issue_documents_company_issue_updated_idx", "company_id", "issue_id", "updated_at"),
    )

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = fk_field("companies.id", nullable=False)
    issue_id: uuid.UUID = fk_field("issues.id", ondelete="CASCADE", nullable=False)
    document_id: uuid.UUID = fk_field("documents.id", ondelete="CASCADE", nullable=False)
    key: str = text_field()
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)
