"""Issue comments."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import InvalidInput
from core.unit_of_work import UnitOfWork
from db import tables

#: Characters of a comment body kept in its activity row.
SNIPPET_CHARS = 120


async def list_comments(unit: UnitOfWork, issue: Mapping[str, Any]) -> list[records.Comment]:
    """All comments of the issue, newest first."""
    comments = tables.issue_comments
    query = (
        sa.select(comments)
        .where(comments.c.issue_id == issue["id"], comments.c.company_id == issue["company_id"])
        .order_by(comments.c.created_at.desc(), comments.c.id.desc())
    )
    rows = (await unit.session.execute(query)).mappings()
    return [records.Comment.model_validate(row) for row in rows]


async def create_comment(
    unit: UnitOfWork,
    issue: Mapping[str, Any],
    *,
    body: Any,
    author_agent_id: str | None = None,
    author_user_id: str | None = None,
    created_by_run_id: str | None = None,
) -> records.Comment:
    """Add a comment and bump the issue's ``updated_at``."""
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("Comment body must be a non-empty string")
    now = unit.now
    row = {
        "id": str(uuid.uuid4()),
        "company_id": issue["company_id"],
        "issue_id": issue["id"],
        "author_agent_id": author_agent_id,
        "author_user_id": author_user_id,
        "created_by_run_id": created_by_run_id,
        "body": body,
        "created_at": now,
        "updated_at": now,
    }
    await unit.session.execute(sa.insert(tables.issue_comments).values(row))
    await unit.session.execute(
        sa.update(tables.issues).where(tables.issues.c.id == issue["id"]).values(updated_at=now)
    )
    return records.Comment.model_validate(row)
