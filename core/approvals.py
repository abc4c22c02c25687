"""Board approvals as plugins read them (``ctx.approvals``): secrets in payloads redacted, as the
web app shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from core import records
from core.ids import as_uuid, require_company
from core.redaction import redact
from core.unit_of_work import UnitOfWork
from db import tables


def _redacted(row: Mapping[str, Any]) -> records.Approval:
    return records.Approval.trusted(dict(row) | {"payload": redact(row["payload"]) or {}})


async def list_approvals(
    unit: UnitOfWork, company_id: Any, *, status: str | None = None
) -> list[records.Approval]:
    """The company's approvals, oldest first, of one status when given."""
    approvals = tables.approvals
    query = sa.select(approvals).where(approvals.c.company_id == require_company(company_id))
    if status:
        query = query.where(approvals.c.status == status)
    rows = await unit.session.execute(query.order_by(approvals.c.created_at, approvals.c.id))
    return [_redacted(row) for row in rows.mappings()]


async def get_approval(
    unit: UnitOfWork, company_id: Any, approval_id: Any
) -> records.Approval | None:
    """The company's approval, or None (missing, malformed or another company's)."""
    approval = as_uuid(approval_id)
    if approval is None:
        return None
    approvals = tables.approvals
    query = sa.select(approvals).where(
        approvals.c.id == approval, approvals.c.company_id == require_company(company_id)
    )
    row = (await unit.session.execute(query)).mappings().one_or_none()
    return None if row is None else _redacted(row)


__all__ = ["get_approval", "list_approvals"]
