"""Files attached to issues: stored by the sandbox, read by plugins (``ctx.issues.
listAttachments`` and ``getAttachmentContent``, Paperclip 2026.916.1).

An attachment is an ``issue_attachments`` row pointing at an ``assets`` row; the sandbox keeps
the bytes in ``sandbox_asset_contents`` (provider ``database``), where upstream keeps them in a
storage service. Plugins cannot attach files (upstream has no such method); ``attach_file``
is how a person or a test gives an issue one (``sandbox attach``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import InvalidInput
from core.ids import as_uuid
from core.issues import find_issue, require_issue
from core.unit_of_work import UnitOfWork
from db import tables

#: ``assets.provider`` of the files the sandbox stores in its own table.
PROVIDER = "database"

_ATTACHMENT_COLUMNS = (
    tables.issue_attachments.c.id,
    tables.issue_attachments.c.company_id,
    tables.issue_attachments.c.issue_id,
    tables.issue_attachments.c.issue_comment_id,
    tables.issue_attachments.c.originating_run_id,
    tables.issue_attachments.c.asset_id,
    tables.assets.c.provider,
    tables.assets.c.object_key,
    tables.assets.c.content_type,
    tables.assets.c.byte_size,
    tables.assets.c.sha256,
    tables.assets.c.original_filename,
    tables.assets.c.created_by_agent_id,
    tables.assets.c.created_by_user_id,
    tables.issue_attachments.c.created_at,
    tables.issue_attachments.c.updated_at,
)
_JOINED = tables.issue_attachments.join(
    tables.assets, tables.assets.c.id == tables.issue_attachments.c.asset_id
)


async def attach_file(
    unit: UnitOfWork,
    *,
    company_id: str,
    issue_ref: str,
    content: bytes,
    filename: str | None,
    content_type: str,
    created_by_user_id: str | None = None,
) -> records.IssueAttachment:
    """Store ``content`` and attach it to the company's issue."""
    if not content_type or "/" not in content_type:
        raise InvalidInput(f"Invalid content type: {content_type!r} (expected type/subtype)")
    issue = await require_issue(unit, company_id, issue_ref)
    issue_id, asset_id, attachment_id = str(issue["id"]), str(uuid.uuid4()), str(uuid.uuid4())
    object_key = f"{company_id}/issues/{issue_id}/{asset_id}"
    stamps = {"created_at": unit.now, "updated_at": unit.now}
    asset = {
        "id": asset_id,
        "company_id": company_id,
        "provider": PROVIDER,
        "object_key": object_key,
        "content_type": content_type,
        "byte_size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "original_filename": filename,
        "created_by_user_id": created_by_user_id,
        **stamps,
    }
    attachment = {
        "id": attachment_id,
        "company_id": company_id,
        "issue_id": issue_id,
        "asset_id": asset_id,
        **stamps,
    }
    await unit.session.execute(sa.insert(tables.assets).values(asset))
    await unit.session.execute(
        sa.insert(tables.sandbox_asset_contents).values(asset_id=asset_id, content=content)
    )
    await unit.session.execute(sa.insert(tables.issue_attachments).values(attachment))
    return records.IssueAttachment.trusted(asset | attachment | {"asset_id": asset_id})


async def list_attachments(
    unit: UnitOfWork, company_id: str, issue_ref: Any
) -> list[records.IssueAttachment]:
    """The issue's attachments, newest first; ``[]`` for a missing or foreign issue."""
    issue = await find_issue(unit, company_id, issue_ref)
    if issue is None:
        return []
    attachments = tables.issue_attachments
    query = (
        sa.select(*_ATTACHMENT_COLUMNS)
        .select_from(_JOINED)
        .where(attachments.c.issue_id == issue["id"])
        .order_by(attachments.c.created_at.desc(), attachments.c.id.desc())
    )
    rows = (await unit.session.execute(query)).mappings()
    return [records.IssueAttachment.trusted(row) for row in rows]


async def find_attachment(
    unit: UnitOfWork, company_id: str, attachment_id: Any
) -> Mapping[str, Any] | None:
    """The company's attachment with its asset's columns, or None (missing or foreign: the
    same answer, as upstream)."""
    wanted = as_uuid(attachment_id)
    if wanted is None:
        return None
    attachments = tables.issue_attachments
    query = (
        sa.select(*_ATTACHMENT_COLUMNS)
        .select_from(_JOINED)
        .where(attachments.c.id == wanted, attachments.c.company_id == company_id)
    )
    return (await unit.session.execute(query)).mappings().one_or_none()


async def attachment_content(
    unit: UnitOfWork, attachment: Mapping[str, Any], max_bytes: Any = None
) -> records.AttachmentContent:
    """The attachment's bytes, refused when they are over ``max_bytes`` (a number > 0)."""
    size = attachment["byte_size"]
    capped = isinstance(max_bytes, int | float) and not isinstance(max_bytes, bool)
    if capped and max_bytes > 0 and size > max_bytes:
        raise InvalidInput(
            f"attachment {attachment['id']} is {size} bytes, over the {_number(max_bytes)}-byte cap"
        )
    contents = tables.sandbox_asset_contents
    content = await unit.session.scalar(
        sa.select(contents.c.content).where(contents.c.asset_id == attachment["asset_id"])
    )
    if content is None:
        raise InvalidInput(f"attachment {attachment['id']} has no stored content")
    return records.AttachmentContent(
        attachment_id=str(attachment["id"]),
        content_type=attachment["content_type"],
        byte_size=len(content),
        sha256=attachment["sha256"],
        original_filename=attachment["original_filename"],
        content_base64=base64.b64encode(bytes(content)).decode("ascii"),
    )


def _number(value: float) -> str:
    """A number as JavaScript prints it (``1024``, not ``1024.0``)."""
    return str(int(value)) if float(value).is_integer() else str(value)


__all__ = ["PROVIDER", "attach_file", "attachment_content", "find_attachment", "list_attachments"]
