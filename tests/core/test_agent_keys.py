"""Agent API keys (core/agent_keys.py): creation, lookup by token, revocation (both backends)."""

from __future__ import annotations

import hashlib

import pytest

from core.agent_keys import (
    TOKEN_PREFIX,
    create_agent_key,
    find_agent_by_key,
    list_agent_keys,
    revoke_agent_key,
)
from core.agents import create_agent
from core.errors import InvalidInput, NotFound
from db import Database, tables
from tests.fixtures.orchestration import World, make_world


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def test_a_new_key_stores_only_the_hash_of_its_token(world: World) -> None:
    record, token = await create_agent_key(world.db, world.company_id, world.agent_id, "ci")

    assert token.startswith(TOKEN_PREFIX) and len(token) > len(TOKEN_PREFIX) + 32
    assert (record.agent_id, record.company_id, record.name) == (
        world.agent_id,
        world.company_id,
        "ci",
    )
    assert record.last_used_at is None and record.revoked_at is None
    [row] = await world.rows(tables.agent_api_keys)
    assert row["key_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(value) for value in row.values()}


async def test_tokens_are_distinct(world: World) -> None:
    _, first = await create_agent_key(world.db, world.company_id, world.agent_id, "a")
    _, second = await create_agent_key(world.db, world.company_id, world.agent_id, "b")
    assert first != second


async def test_an_agent_of_another_company_gets_no_key(world: World, db: Database) -> None:
    other = await make_world(db, name="Other")

    with pytest.raises(NotFound, match="^Agent not found$"):
        await create_agent_key(db, world.company_id, other.agent_id, "ci")
    with pytest.raises(InvalidInput, match="^Key name is required$"):
        await create_agent_key(db, world.company_id, world.agent_id, "  ")
    assert await world.rows(tables.agent_api_keys) == []


async def test_the_token_finds_its_agent_and_stamps_last_use(world: World) -> None:
    record, token = await create_agent_key(world.db, world.company_id, world.agent_id, "ci")

    holder = await find_agent_by_key(world.db, token)

    assert holder is not None
    assert holder.agent.id == world.agent_id
    assert holder.key.id == record.id and holder.key.company_id == world.company_id
    [row] = await world.rows(tables.agent_api_keys)
    assert row["last_used_at"] is not None
    assert holder.key.last_used_at == row["last_used_at"]


async def test_unknown_and_revoked_tokens_find_nobody(world: World) -> None:
    record, token = await create_agent_key(world.db, world.company_id, world.agent_id, "ci")

    assert await find_agent_by_key(world.db, token + "x") is None
    assert await find_agent_by_key(world.db, "") is None

    revoked = await revoke_agent_key(world.db, record.id)
    assert revoked.revoked_at is not None
    assert await find_agent_by_key(world.db, token) is None
    again = await revoke_agent_key(world.db, record.id)
    assert again.revoked_at == revoked.revoked_at


async def test_a_terminated_agent_cannot_authenticate(world: World) -> None:
    agent = await create_agent(
        world.db, company_id=world.company_id, name="Gone", status="terminated"
    )
    _, token = await create_agent_key(world.db, world.company_id, agent.id, "old")

    assert await find_agent_by_key(world.db, token) is None


async def test_keys_of_another_company_cannot_be_revoked(world: World, db: Database) -> None:
    other = await make_world(db, name="Other")
    record, token = await create_agent_key(db, world.company_id, world.agent_id, "ci")

    with pytest.raises(NotFound, match="^Key not found$"):
        await revoke_agent_key(db, record.id, company_id=other.company_id)
    with pytest.raises(NotFound, match="^Key not found$"):
        await revoke_agent_key(db, "not-a-uuid")
    assert await find_agent_by_key(db, token) is not None
    assert [key.id for key in await list_agent_keys(db, world.company_id, world.agent_id)] == [
        record.id
    ]
    assert await list_agent_keys(db, other.company_id, world.agent_id) == []
    revoked = await revoke_agent_key(db, record.id, company_id=world.company_id)
    assert revoked.revoked_at is not None
    assert await find_agent_by_key(db, token) is None
