"""Agent API keys: the bearer tokens agents present to the HTTP API.

As upstream (server/src/middleware/auth.ts), a key is a random token shown once; only its SHA-256
hex digest is stored (``agent_api_keys.key_hash``), so a leaked database does not leak usable
keys. A key belongs to one agent of one company; using it stamps ``last_used_at``; revoking sets
``revoked_at`` and the key stops working at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core import records
from core.agents import get_agent
from core.errors import InvalidInput, NotFound
from core.ids import as_uuid, require_company, require_uuid
from db import Database, tables

#: Prefix of every token, so a leaked one is recognisable (upstream's agent keys use it too).
TOKEN_PREFIX = "pcp_"

#: Agents in these statuses cannot authenticate, whatever key they hold (upstream's rule).
_LOCKED_OUT_STATUSES = frozenset({"terminated", "pending_approval"})


class AgentApiKey(records.Record):
    """An agent's API key, without its hash."""

    id: records.Id
    agent_id: records.Id
    company_id: records.Id
    name: str
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """The agent a presented key authenticates, and the key itself."""

    key: AgentApiKey
    agent: records.Agent


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 hex digest."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_agent_key(
    db: Database, company_id: Any, agent_id: Any, name: str
) -> tuple[AgentApiKey, str]:
    """Create a key for an agent of the company.

    Returns:
        The stored key and the token; the token is not stored and cannot be shown again.

    Raises:
        InvalidInput: the name is blank, or an id is malformed.
        NotFound: "Agent not found" (missing, or of another company).
    """
    company = require_company(company_id)
    agent = require_uuid(agent_id, "agentId")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("Key name is required")
    if await get_agent(db, agent_id=agent, company_id=company) is None:
        raise NotFound("Agent not found")
    token = TOKEN_PREFIX + secrets.token_hex(24)
    row = {
        "id": str(uuid.uuid4()),
        "agent_id": agent,
        "company_id": company,
        "name": name.strip(),
        "key_hash": hash_token(token),
        "created_at": datetime.now(UTC),
    }
    keys = tables.agent_api_keys
    async with db.transaction() as session:
        await session.execute(sa.insert(keys).values(row))
        stored = (await session.execute(sa.select(keys).where(keys.c.id == row["id"]))).mappings()
        record = AgentApiKey.model_validate(stored.one())
    return record, token


async def find_agent_by_key(db: Database, token: str) -> KeyHolder | None:
    """The agent a bearer token authenticates, stamping the key's ``last_used_at``.

    None for an unknown or revoked key, and (as upstream) for an agent that is terminated or
    pending approval; the key of such an agent is still stamped, as upstream does.
    """
    if not isinstance(token, str) or not token:
        return None
    keys = tables.agent_api_keys
    async with db.transaction() as session:
        row = (
            (
                await session.execute(
                    sa.select(keys).where(
                        keys.c.key_hash == hash_token(token), keys.c.revoked_at.is_(None)
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        now = datetime.now(UTC)
        await session.execute(
            sa.update(keys).where(keys.c.id == row["id"]).values(last_used_at=now)
        )
        agent = (
            (
                await session.execute(
                    sa.select(tables.agents).where(tables.agents.c.id == row["agent_id"])
                )
            )
            .mappings()
            .first()
        )
    if agent is None or agent["status"] in _LOCKED_OUT_STATUSES:
        return None
    key = AgentApiKey.model_validate({**row, "last_used_at": now})
    return KeyHolder(key=key, agent=records.Agent.model_validate(agent))


async def revoke_agent_key(db: Database, key_id: Any, *, company_id: Any = None) -> AgentApiKey:
    """Revoke a key (of ``company_id`` when given); revoking it again keeps the first
    ``revoked_at``.

    Raises:
        NotFound: "Key not found" (missing, or of another company).
    """
    key = as_uuid(key_id)
    if key is None:
        raise NotFound("Key not found")
    keys = tables.agent_api_keys
    mine = keys.c.id == key
    if company_id is not None:
        mine = sa.and_(mine, keys.c.company_id == require_company(company_id))
    async with db.transaction() as session:
        await session.execute(
            sa.update(keys)
            .where(mine, keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        row = (await session.execute(sa.select(keys).where(mine))).mappings().first()
    if row is None:
        raise NotFound("Key not found")
    return AgentApiKey.model_validate(row)


async def list_agent_keys(db: Database, company_id: Any, agent_id: Any) -> list[AgentApiKey]:
    """The agent's keys, revoked ones included, oldest first."""
    company = require_company(company_id)
    agent = as_uuid(agent_id)
    if agent is None:
        return []
    keys = tables.agent_api_keys
    query = (
        sa.select(keys)
        .where(keys.c.company_id == company, keys.c.agent_id == agent)
        .order_by(keys.c.created_at, keys.c.id)
    )
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    return [AgentApiKey.model_validate(row) for row in rows]
