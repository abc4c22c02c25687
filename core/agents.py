"""Agents: creation (for seeds and tests; the sandbox has no hiring flow)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import as_uuid, require_company, require_uuid
from db import Database, ForeignKeyViolation, tables
from db.constants import AGENT_ROLES, AGENT_STATUSES

#: Built once: the row goes in as parameters (building ``.values(row)`` per call cost more
#: than running the INSERT).
_INSERT_AGENT = sa.insert(tables.agents).returning(*tables.agents.c)


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
    unknown = columns.keys() - tables.agents.c.keys()
    if unknown:  # as ``.values()`` refuses them
        raise sa.exc.CompileError(f"Unconsumed column names: {', '.join(sorted(unknown))}")
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
            stored = (await session.execute(_INSERT_AGENT, row)).mappings().one()
    except ForeignKeyViolation as error:
        raise NotFound("Company not found") from error
    return records.Agent.model_validate(dict(stored))


async def list_agents(
    db: Database, *, company_id: Any, status: str | None = None
) -> list[records.Agent]:
    """The company's agents, oldest first, optionally of one status."""
    company = require_company(company_id)
    agents = tables.agents
    query = (
        sa.select(agents)
        .where(agents.c.company_id == company)
        .order_by(agents.c.created_at, agents.c.id)
    )
    if status:
        query = query.where(agents.c.status == status)
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    return [records.Agent.model_validate(row) for row in rows]


async def get_agent(db: Database, *, agent_id: Any, company_id: Any) -> records.Agent | None:
    """The agent, or None when it is missing or belongs to another company."""
    company = require_company(company_id)
    agent = as_uuid(agent_id)
    if agent is None:
        return None
    agents = tables.agents
    query = sa.select(agents).where(agents.c.id == agent, agents.c.company_id == company)
    async with db.read() as session:
        row = (await session.execute(query)).mappings().first()
    return None if row is None else records.Agent.model_validate(row)


async def find_agents(db: Database, ref: str) -> list[records.Agent]:
    """The agents this reference names: the one with this id, else those with this name."""
    agents = tables.agents
    agent_id = as_uuid(ref)
    condition = agents.c.id == agent_id if agent_id is not None else agents.c.name == ref
    async with db.read() as session:
        rows = (await session.execute(sa.select(agents).where(condition))).mappings().all()
    return [records.Agent.model_validate(row) for row in rows]


async def set_agent_paused(
    db: Database, *, agent_id: Any, company_id: Any, paused: bool
) -> records.Agent:
    """Pause (``pause_reason`` manual) or resume the company's agent, with upstream's refusals:
    a terminated agent does neither, an agent pending approval is not resumed."""
    company = require_company(company_id)
    agent = as_uuid(agent_id)
    agents = tables.agents
    async with db.transaction() as session:
        current = (
            (
                await session.execute(
                    sa.select(agents.c.status).where(
                        agents.c.id == agent, agents.c.company_id == company
                    )
                )
            ).first()
            if agent is not None
            else None
        )
        if current is None:
            raise NotFound("Agent not found")
        if current.status == "terminated":
            raise Conflict(f"Cannot {'pause' if paused else 'resume'} terminated agent")
        if not paused and current.status == "pending_approval":
            raise Conflict("Pending approval agents cannot be resumed")
        now = datetime.now(UTC)
        changes = (
            {"status": "paused", "pause_reason": "manual", "paused_at": now}
            if paused
            else {"status": "idle", "pause_reason": None, "paused_at": None}
        )
        row = (
            (
                await session.execute(
                    sa.update(agents)
                    .where(agents.c.id == agent)
                    .values(**changes, updated_at=now)
                    .returning(*agents.c)
                )
            )
            .mappings()
            .one()
        )
    return records.Agent.model_validate(dict(row))
