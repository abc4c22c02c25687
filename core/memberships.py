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
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.ids import require_uuid
from core.unit_of_work import UnitOfWork
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


async def require_active_human_member(unit: UnitOfWork, company_id: str, user_id: str) -> None:
    """The user a plugin acts for must be an active member of the company, and not a viewer
    (upstream's check before a plugin writes on a board member's behalf)."""
    memberships = tables.company_memberships
    role = (
        await unit.session.execute(
            sa.select(memberships.c.membership_role).where(
                memberships.c.company_id == company_id,
                memberships.c.principal_type == "user",
                memberships.c.principal_id == user_id,
                memberships.c.status == "active",
            )
        )
    ).first()
    if role is None:
        raise Forbidden(f'actorUserId "{user_id}" is not an active human member of this company')
    if role.membership_role == "viewer":
        raise Forbidden(
            f'actorUserId "{user_id}" has viewer (read-only) access and cannot take this write '
            "action"
        )
