"""Companies: creation with upstream's issue-prefix allocation."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import Conflict, InvalidInput
from core.ids import as_uuid
from db import Database, UniqueViolation, tables

#: Upstream gives up after this many prefix candidates.
MAX_PREFIX_ATTEMPTS = 9999

_NOT_LETTER = re.compile(r"[^A-Z]")


def prefix_base(name: str) -> str:
    """Upper-cased name, letters A-Z only, first three; ``CMP`` when nothing is left."""
    letters = _NOT_LETTER.sub("", name.upper())[:3]
    return letters or "CMP"


#: Built once: the row goes in as parameters (building ``.values(row)`` per call cost more
#: than running the INSERT).
_INSERT_COMPANY = sa.insert(tables.companies).returning(*tables.companies.c)


async def create_company(
    db: Database,
    *,
    name: str,
    issue_prefix: str | None = None,
    description: str | None = None,
    **columns: Any,
) -> records.Company:
    """Create a company; without an explicit prefix, allocate ``PAP``, ``PAPA``, ... as upstream.

    Args:
        issue_prefix: a fixed prefix (refused with 409 when another company has it).
        columns: other ``companies`` columns (``status``, ``budget_monthly_cents``, ...).
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("Company name is required")
    unknown = columns.keys() - tables.companies.c.keys()
    if unknown:  # as ``.values()`` refuses them
        raise sa.exc.CompileError(f"Unconsumed column names: {', '.join(sorted(unknown))}")
    candidates = (
        [issue_prefix]
        if issue_prefix
        else (prefix_base(name) + "A" * n for n in range(MAX_PREFIX_ATTEMPTS))
    )
    for candidate in candidates:
        now = datetime.now(UTC)
        row = {
            "id": str(uuid.uuid4()),
            "name": name,
            "description": description,
            "issue_prefix": candidate,
            "created_at": now,
            "updated_at": now,
            **columns,
        }
        try:
            async with db.transaction() as session:
                stored = (await session.execute(_INSERT_COMPANY, row)).mappings().one()
            return records.Company.model_validate(dict(stored))
        except UniqueViolation as error:
            if error.constraint != "companies_issue_prefix_idx":
                raise
            if issue_prefix:
                raise Conflict(f"Issue prefix {issue_prefix} is already in use") from error
    raise Conflict("Unable to allocate unique issue prefix")


async def list_companies(db: Database) -> list[records.Company]:
    """Every company, oldest first (plugins are instance-wide, as upstream)."""
    companies = tables.companies
    query = sa.select(companies).order_by(companies.c.created_at, companies.c.id)
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    return [records.Company.model_validate(row) for row in rows]


#: Built once, as the INSERT above.
_SELECT_COMPANY = sa.select(tables.companies).where(tables.companies.c.id == sa.bindparam("id"))
_COMPANY_EXISTS = sa.select(sa.literal(1)).where(tables.companies.c.id == sa.bindparam("id"))


async def get_company(db: Database, company_id: Any) -> records.Company | None:
    """The company, or None when there is none with that id."""
    company = as_uuid(company_id)
    if company is None:
        return None
    async with db.read() as session:
        row = (await session.execute(_SELECT_COMPANY, {"id": company})).mappings().first()
    return None if row is None else records.Company.model_validate(dict(row))


async def company_exists(db: Database, company_id: Any) -> bool:
    """Whether there is a company with that id (nothing else is read)."""
    company = as_uuid(company_id)
    if company is None:
        return False
    async with db.read() as session:
        return (await session.execute(_COMPANY_EXISTS, {"id": company})).first() is not None


async def find_company(db: Database, ref: str) -> records.Company | None:
    """The company whose id, or issue prefix (any case), is ``ref``."""
    if as_uuid(ref) is not None:
        return await get_company(db, ref)
    prefix = ref.upper()
    return next((c for c in await list_companies(db) if c.issue_prefix.upper() == prefix), None)
