"""Company memberships: which users and agents belong to a company, and with which role.

The host reads them where upstream does: a user assignee needs an active ``user`` membership
of the issue's company (``Assignee user not found`` otherwise).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from core import records
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import require_uuid
from db import Database, ForeignKeyViolation, UniqueViolation, tables

PrincipalType = Literal["user", "agent"]


async def add_membership(
    db: Database,
    *,
    company_id: Any,
    principal_type: PrincipalType,
    principal_id: str,
    role: str | None = "member",
    status: str = "active",
) -> records.CompanyMembership:
    """Make a user or an agent a member of a company.

    Raises:
        NotFound: ``Company not found``.
        Conflict: the principal is already a member.
    """
    if principal_type not in ("user", "agent"):
        raise InvalidInput(f"Unknown principal type: {principal_type}")
    now = datetime.now(UTC)
    row = {
        "id": str(uuid.uuid4()),
        "company_id": require_uuid(company_id, "companyId"),
        "principal_type": principal_type,
        "principal_id": str(principal_id),
        "status": status,
        "membership_role": role,
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with db.transaction() as session:
            await session.execute(sa.insert(tables.company_memberships).values(row))
    except ForeignKeyViolation as error:
        raise NotFound("Company not found") from error
    except UniqueViolation as error:
        raise Conflict(
            f"{principal_type} {principal_id} is already a member of the company"
        ) from error
    return records.CompanyMembership.model_validate(row)
