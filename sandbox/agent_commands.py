"""The agent commands: ``sandbox agent key create|list|revoke``, the API keys with which a
client of ``sandbox serve`` acts as an agent (``Authorization: Bearer KEY``).

Keys live in the database (only a hash of each token is stored), so these commands work with
or without a running host, and a running host honours a new or revoked key at its next request.
A token is printed once, by ``create``; it cannot be shown again, only revoked and replaced.

An agent is named by its id or its name; a name shared by agents of several companies needs
``--company`` (or the id). Mistakes become one ``Error:`` line and exit status 1.
"""

from __future__ import annotations

import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from core import records
from core.agent_keys import AgentApiKey, create_agent_key, list_agent_keys, revoke_agent_key
from core.agents import find_agents
from core.errors import HostError, NotFound
from db import Database
from sandbox.cli_support import (
    database_option,
    format_table,
    format_time,
    open_migrated_database,
    progress,
    require_company,
    run_command,
)

T = TypeVar("T")

_JSON_HELP = "Print JSON on one line."
_COMPANY_HELP = (
    "Company id or issue prefix (e.g. ACM): picks the agent when agents of several companies "
    "share its name."
)
_AGENT_ARGUMENT = click.argument("agent_ref", metavar="AGENT")

#: The name a key gets when ``--name`` is not given.
DEFAULT_KEY_NAME = "sandbox cli"


@click.group()
def agent() -> None:
    """Manage agents: their API keys for `sandbox serve`'s HTTP API."""


@agent.group()
def key() -> None:
    """Create, list and revoke agents' API keys.

    A client sending `Authorization: Bearer KEY` to `sandbox serve` acts as the agent holding
    the key. Only a hash of each key is stored: the token is shown once, when it is created.
    """


@key.command()
@database_option
@_AGENT_ARGUMENT
@click.option("--company", metavar="COMPANY", help=_COMPANY_HELP)
@click.option(
    "--name",
    default=DEFAULT_KEY_NAME,
    show_default=True,
    help="What the key is for (shown by `list`).",
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def create(
    database: str | None, agent_ref: str, company: str | None, name: str, as_json: bool
) -> None:
    """Create an API key for AGENT (an id or a name) and print its token, once.

    The token alone goes to stdout (so `$(sandbox agent key create ...)` captures it); what
    was created goes to stderr. With --json: {id, agentId, companyId, name, token}.
    """

    async def run() -> tuple[records.Agent, AgentApiKey, str]:
        async with open_migrated_database(database) as db:
            holder = await _require_agent(db, agent_ref, company)
            record, token = await create_agent_key(db, holder.company_id, holder.id, name)
            return holder, record, token

    holder, record, token = _call(run())
    if as_json:
        wire = {
            "id": record.id,
            "agentId": record.agent_id,
            "companyId": record.company_id,
            "name": record.name,
            "token": token,
        }
        click.echo(json.dumps(wire, ensure_ascii=False))
        return
    progress(f'Created key {record.id} "{record.name}" for agent {holder.name} ({holder.id})')
    progress("This token is shown only once; it cannot be shown again:")
    click.echo(token)


@key.command(name="list")
@database_option
@_AGENT_ARGUMENT
@click.option("--company", metavar="COMPANY", help=_COMPANY_HELP)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def list_command(database: str | None, agent_ref: str, company: str | None, as_json: bool) -> None:
    """List AGENT's API keys, revoked ones included, oldest first (never their tokens)."""

    async def run() -> list[AgentApiKey]:
        async with open_migrated_database(database) as db:
            holder = await _require_agent(db, agent_ref, company)
            return await list_agent_keys(db, holder.company_id, holder.id)

    keys = _call(run())
    if as_json:
        click.echo(json.dumps([k.to_wire() for k in keys], ensure_ascii=False))
        return
    if not keys:
        progress(f"No keys for agent {agent_ref}")
        return
    rows = [
        [
            k.id,
            k.name,
            format_time(k.created_at),
            format_time(k.last_used_at),
            format_time(k.revoked_at),
        ]
        for k in keys
    ]
    click.echo(format_table(["ID", "NAME", "CREATED", "LAST USED", "REVOKED"], rows))


@key.command()
@database_option
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def revoke(database: str | None, key_id: str, as_json: bool) -> None:
    """Revoke the API key KEY_ID: it stops working at once, on running hosts too.

    Revoking a revoked key again keeps its first revocation time.
    """

    async def run() -> AgentApiKey:
        async with open_migrated_database(database) as db:
            try:
                return await revoke_agent_key(db, key_id)
            except NotFound:
                raise click.ClickException(f"Key not found: {key_id}") from None

    record = _call(run())
    if as_json:
        click.echo(json.dumps(record.to_wire(), ensure_ascii=False))
        return
    click.echo(f'Revoked key {record.id} "{record.name}" at {format_time(record.revoked_at)}')


async def _require_agent(db: Database, ref: str, company_ref: str | None) -> records.Agent:
    """The one agent ``ref`` (an id or a name) names, within ``company_ref`` when given."""
    agents = await find_agents(db, ref)
    if company_ref is not None:
        company = await require_company(db, company_ref)
        agents = [a for a in agents if a.company_id == company.id]
    if not agents:
        raise click.ClickException(f"Agent not found: {ref}")
    if len(agents) == 1:
        return agents[0]
    if len({a.company_id for a in agents}) > 1:
        raise click.ClickException(
            f"Agents of several companies are named {ref}: give --company or the agent's id"
        )
    raise click.ClickException(f"Several agents are named {ref}: give the agent's id")


def _call(coroutine: Coroutine[Any, Any, T]) -> T:
    """``run_command``, with the host's refusals (a blank key name, ...) as one-line errors."""
    try:
        return run_command(coroutine)
    except HostError as error:
        raise click.ClickException(" ".join(error.message.split())) from error
