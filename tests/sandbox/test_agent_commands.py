"""The agent key commands (sandbox/agent_commands.py), run as a user runs them: a real
subprocess, on a never-migrated database of each backend."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from core.agent_keys import KeyHolder, find_agent_by_key
from core.agents import create_agent
from db import create_db
from tests.sandbox.test_plugin_cli import ok, refused, seeded

#: ``sandbox agent`` until sandbox/cli.py registers the group: the group itself, run directly.
_AGENT_CLI = "from sandbox.agent_commands import agent; agent(prog_name='sandbox agent')"


def agent_cli(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``sandbox agent ARGS --db DATABASE`` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-c", _AGENT_CLI, *args, "--db", database],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def add_agent(database: str, company_id: str, name: str) -> None:
    async def add() -> None:
        db = create_db(database)
        try:
            await create_agent(db, company_id=company_id, name=name)
        finally:
            await db.dispose()

    asyncio.run(add())


def holder_of(database: str, token: str) -> KeyHolder | None:
    """What a host would make of ``Authorization: Bearer <token>``."""

    async def find() -> KeyHolder | None:
        db = create_db(database)
        try:
            return await find_agent_by_key(db, token)
        finally:
            await db.dispose()

    return asyncio.run(find())


def test_create_list_and_revoke_an_agents_key(empty_database_url: str) -> None:
    db = empty_database_url
    first = agent_cli(db, "key", "list", "Engineer")  # migrates the empty database first
    refused(first, "Error: Agent not found: Engineer")
    assert "Migrating" in first.stderr
    acme = seeded(db, "--prefix", "ACM")
    beta = seeded(db, "--prefix", "BET")  # another company with an agent named Engineer

    created = agent_cli(db, "key", "create", "Engineer", "--company", "acm", "--name", "ci bot")
    token = ok(created).strip()
    assert token.startswith("pcp_") and len(ok(created).splitlines()) == 1  # stdout: just it
    assert "shown only once" in created.stderr
    assert f"for agent Engineer ({acme['agent']['id']})" in created.stderr

    holder = holder_of(db, token)
    assert holder is not None
    assert (holder.agent.id, holder.agent.company_id) == (
        acme["agent"]["id"],
        acme["company"]["id"],
    )

    by_id = json.loads(ok(agent_cli(db, "key", "create", beta["agent"]["id"], "--json")))
    assert set(by_id) == {"id", "agentId", "companyId", "name", "token"}
    assert (by_id["agentId"], by_id["companyId"], by_id["name"]) == (
        beta["agent"]["id"],
        beta["company"]["id"],
        "sandbox cli",
    )
    beta_holder = holder_of(db, by_id["token"])
    assert beta_holder is not None and beta_holder.agent.id == beta["agent"]["id"]

    header, row = ok(agent_cli(db, "key", "list", "Engineer", "--company", "ACM")).splitlines()
    assert header.split() == ["ID", "NAME", "CREATED", "LAST", "USED", "REVOKED"]
    assert "ci bot" in row and row.endswith("  -")  # used (above), not revoked
    assert token not in row
    (listed,) = json.loads(ok(agent_cli(db, "key", "list", beta["agent"]["id"], "--json")))
    assert (listed["id"], listed["revokedAt"]) == (by_id["id"], None)
    assert "token" not in listed and "keyHash" not in listed

    key_id = json.loads(ok(agent_cli(db, "key", "list", "Engineer", "--company", "ACM", "--json")))[
        0
    ]["id"]
    revoked = ok(agent_cli(db, "key", "revoke", key_id))
    assert revoked.startswith(f'Revoked key {key_id} "ci bot" at ')
    assert holder_of(db, token) is None
    again = json.loads(ok(agent_cli(db, "key", "revoke", key_id, "--json")))
    assert again["revokedAt"] is not None
    (after,) = json.loads(
        ok(agent_cli(db, "key", "list", "Engineer", "--company", "ACM", "--json"))
    )
    assert after["revokedAt"] == again["revokedAt"]  # the first revocation time is kept
    assert holder_of(db, by_id["token"]) is not None  # other keys keep working


def test_user_mistakes_are_one_line_errors(empty_database_url: str) -> None:
    db = empty_database_url
    acme = seeded(db, "--prefix", "ACM")

    refused(agent_cli(db, "key", "create", "Nobody"), "Error: Agent not found: Nobody")
    refused(
        agent_cli(db, "key", "create", "Engineer", "--company", "ZZZ"),
        "Error: Company not found: ZZZ",
    )
    refused(
        agent_cli(db, "key", "create", "Engineer", "--name", "  "),
        "Error: Key name is required",
    )
    refused(agent_cli(db, "key", "revoke", "not-a-key"), "Error: Key not found: not-a-key")
    missing = "00000000-0000-4000-8000-000000000000"
    refused(agent_cli(db, "key", "revoke", missing), f"Error: Key not found: {missing}")

    seeded(db, "--prefix", "BET")
    refused(
        agent_cli(db, "key", "create", "Engineer"),
        "Error: Agents of several companies are named Engineer: give --company or the agent's id",
    )
    # an agent of another company is not found through this one, even by its id
    other = seeded(db, "--prefix", "CHI")
    refused(
        agent_cli(db, "key", "create", other["agent"]["id"], "--company", "ACM"),
        f"Error: Agent not found: {other['agent']['id']}",
    )
    add_agent(db, acme["company"]["id"], "Engineer")
    refused(
        agent_cli(db, "key", "create", "Engineer", "--company", "ACM"),
        "Error: Several agents are named Engineer: give the agent's id",
    )


def test_help_names_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _AGENT_CLI, "key", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = ok(result)
    assert "Usage: sandbox agent key" in text
    assert "Authorization: Bearer KEY" in text
    for command in ("create", "list", "revoke"):
        assert f"  {command} " in text
