"""Agents: creation (for seeds and tests; the sandbox has no hiring flow)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import InvalidInput, NotFound
from core.ids import require_uuid
from db import Database, ForeignKeyViolation, tables
from db.constants import AGENT_ROLES, AGENT_STATUSES


async def create_agent(
    db: Database,
    *,
    company_id: Any,
    name: str,
    role: str = "general",
    status: str = "idle",
    adapter_type: str = "process",
    **columns: Any,
) -> records.Agent:
    """Create an agent of a company.

    Args:
        columns: other ``agents`` columns (``title``, ``runtime_config``, ``pause_reason``, ...).
    """
    company = require_uuid(company_id, "companyId")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("Agent name is required")
    if role not in AGENT_ROLES:
        raise InvalidInput(f"Unknown agent role: {role}")
    if status not in AGENT_STATUSES:
        raise InvalidInput(f"Unknown agent status: {status}")
    now = datetime.now(UTC)
    row = {
        "id": str(uuid.uuid4()),
        "company_id": company,
        "name": name,
        "role": role,
        "status": status,
        "adapter_type": adapter_type,
        "adapter_config": {},
        "runtime_config": {},
        "permissions": {},
        "created_at": now,
        "updated_at": now,
        **columns,
    }
    try:
        async with db.transaction() as session:
            await session.execute(sa.insert(tables.agents).values(row))
            stored = (
                (
                    await session.execute(
                        sa.select(tables.agents).where(tables.agents.c.id == row["id"])
                    )
                )
                .mappings()
                .one()
            )
    except ForeignKeyViolation as error:
        raise NotFound("Company not found") from error
    return records.Agent.model_validate(stored)
