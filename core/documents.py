"""Issue documents: one latest body per (issue, key), with immutable numbered revisions.

Upsert of an existing key writes a new revision (upstream's plugin path can only create and
answers 409 for an existing key, which no plugin author expects). A ``base_revision_id``, when
given, makes the write conditional, with upstream's 409 messages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import Conflict, Unprocessable
from core.ids import as_uuid
from core.unit_of_work import UnitOfWork
from db import tables
from db.constants import DOCUMENT_FORMATS

#: Keys the host reserves; hidden from lists but readable.
SYSTEM_KEYS = ("continuation-summary",)

#: Validator limits of upstream's document schema.
MAX_BODY_CHARS = 524_288
MAX_TITLE_CHARS = 200
MAX_CHANGE_SUMMARY_CHARS = 500

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_KEY_MESSAGE = "Document key must be lowercase letters, numbers, _ or -"


def normalize_key(key: Any) -> str:
    """Trimmed, lower-cased, 1-64 of ``[a-z0-9_-]`` starting with a letter or digit, or 422."""
    normalized = str(key).strip().lower() if isinstance(key, str) else ""
    if not (1 <= len(normalized) <= 64) or not _KEY.match(normalized):
        raise Unprocessable("Invalid document key", details={"issues": [{"message": _KEY_MESSAGE}]})
    return normalized


@dataclass(frozen=True)
class DocumentWrite:
    """What an upsert wrote."""

    document: records.Document
    created: bool


def _document_columns() -> list[sa.ColumnElement[Any]]:
    documents, links = tables.documents, tables.issue_documents
    return [
        documents.c.id,
        documents.c.company_id,
        links.c.issue_id,
        links.c.key,
        documents.c.title,
        documents.c.format,
        documents.c.latest_body.label("body"),
        documents.c.latest_revision_id,
        documents.c.latest_revision_number,
        documents.c.created_by_agent_id,
        documents.c.created_by_user_id,
        documents.c.updated_by_agent_id,
        documents.c.updated_by_user_id,
        documents.c.created_at,
        documents.c.updated_at,
    ]


def _documents_of(issue_id: Any) -> sa.Select[Any]:
    documents, links = tables.documents, tables.issue_documents
    return (
        sa.select(*_document_columns())
        .join(links, links.c.document_id == documents.c.id)
        .where(links.c.issue_id == issue_id)
    )


async def list_documents(unit: UnitOfWork, issue: Mapping[str, Any]) -> list[records.Document]:
    """The issue's documents with bodies, by key, system keys left out."""
    links = tables.issue_documents
    query = (
        _documents_of(issue["id"])
        .where(links.c.key.not_in(SYSTEM_KEYS))
        .order_by(links.c.key, tables.documents.c.updated_at.desc())
    )
    rows = (await unit.session.execute(query)).mappings()
    return [records.Document.model_validate(row) for row in rows]


async def get_document(
    unit: UnitOfWork, issue: Mapping[str, Any], key: str
) -> records.Document | None:
    """The document under ``key`` (system keys included), or None."""
    query = _documents_of(issue["id"]).where(tables.issue_documents.c.key == key)
    row = (await unit.session.execute(query)).mappings().first()
    return records.Document.model_validate(row) if row else None


def _validate_content(
    body: Any, title: str | None, format_: str, change_summary: str | None
) -> str | None:
    if not isinstance(body, str):
        raise Unprocessable("Document body must be a string")
    if len(body) > MAX_BODY_CHARS:
        raise Unprocessable(f"Document body must be at most {MAX_BODY_CHARS} characters")
    if format_ not in DOCUMENT_FORMATS:
        raise Unprocessable(f"Unsupported document format: {format_}")
    if change_summary is not None and len(change_summary) > MAX_CHANGE_SUMMARY_CHARS:
        raise Unprocessable(f"Change summary must be at most {MAX_CHANGE_SUMMARY_CHARS} characters")
    if title is None:
        return None
    trimmed = title.strip()
    if len(trimmed) > MAX_TITLE_CHARS:
        raise Unprocessable(f"Document title must be at most {MAX_TITLE_CHARS} characters")
    return trimmed or None


async def upsert_document(
    unit: UnitOfWork,
    issue: Mapping[str, Any],
    *,
    key: str,
    body: Any,
    title: str | None = None,
    format_: str = "markdown",
    change_summary: str | None = None,
    base_revision_id: str | None = None,
    author_agent_id: str | None = None,
    author_user_id: str | None = None,
    author_run_id: str | None = None,
) -> DocumentWrite:
    """Create the document under ``key``, or add a revision to it (the issue row is locked)."""
    title = _validate_content(body, title, format_, change_summary)
    existing = await get_document(unit, issue, key)
    now = unit.now
    revision_id = str(uuid.uuid4())
    if existing is None:
        if base_revision_id is not None:
            raise Conflict("Document does not exist yet")
        document_id = str(uuid.uuid4())
        revision_number = 1
        await unit.session.execute(
            sa.insert(tables.documents).values(
                id=document_id,
                company_id=issue["company_id"],
                title=title,
                format=format_,
                latest_body=body,
                latest_revision_id=revision_id,
                latest_revision_number=1,
                created_by_agent_id=author_agent_id,
                created_by_user_id=author_user_id,
                updated_by_agent_id=author_agent_id,
                updated_by_user_id=author_user_id,
                created_at=now,
                updated_at=now,
            )
        )
        await unit.session.execute(
            sa.insert(tables.issue_documents).values(
                id=str(uuid.uuid4()),
                company_id=issue["company_id"],
                issue_id=issue["id"],
                document_id=document_id,
                key=key,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        if (
            base_revision_id is not None
            and as_uuid(base_revision_id) != existing.latest_revision_id
        ):
            raise Conflict(
                "Document was updated by someone else",
                details={"currentRevisionId": existing.latest_revision_id},
            )
        document_id = existing.id
        revision_number = existing.latest_revision_number + 1
        await unit.session.execute(
            sa.update(tables.documents)
            .where(tables.documents.c.id == document_id)
            .values(
                title=title,
                format=format_,
                latest_body=body,
                latest_revision_id=revision_id,
                latest_revision_number=revision_number,
                updated_by_agent_id=author_agent_id,
                updated_by_user_id=author_user_id,
                updated_at=now,
            )
        )
        await unit.session.execute(
            sa.update(tables.issue_documents)
            .where(tables.issue_documents.c.document_id == document_id)
            .values(updated_at=now)
        )
    await unit.session.execute(
        sa.insert(tables.document_revisions).values(
            id=revision_id,
            company_id=issue["company_id"],
            document_id=document_id,
            revision_number=revision_number,
            title=title,
            format=format_,
            body=body,
            change_summary=change_summary,
            created_by_agent_id=author_agent_id,
            created_by_user_id=author_user_id,
            created_by_run_id=author_run_id,
            created_at=now,
        )
    )
    document = await get_document(unit, issue, key)
    assert document is not None
    return DocumentWrite(document, created=existing is None)


async def delete_document(unit: UnitOfWork, issue: Mapping[str, Any], key: str) -> bool:
    """Delete the document under ``key`` with its revisions; False when there was none."""
    links = tables.issue_documents
    document_id = await unit.session.scalar(
        sa.select(links.c.document_id).where(links.c.issue_id == issue["id"], links.c.key == key)
    )
    if document_id is None:
        return False
    await unit.session.execute(sa.delete(links).where(links.c.document_id == document_id))
    documents = tables.documents
    await unit.session.execute(sa.delete(documents).where(documents.c.id == document_id))
    return True
