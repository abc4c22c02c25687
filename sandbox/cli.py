"""The ``sandbox`` command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import asyncpg
import click

from db import DatabaseError, migrate
from db.connect import DATABASE_URL_ENV, describe_choice, open_database
from sandbox.benchmarks.cold_start import cold_start_command
from sandbox.benchmarks.host import host_command
from sandbox.benchmarks.plugin_sql import plugin_sql_command
from sandbox.benchmarks.plugins import plugins_command

T = TypeVar("T")

_DB_HELP = (
    "Database: a SQLite file path or URL, a PostgreSQL URL, or 'embedded-postgres' "
    "(optionally 'embedded-postgres:DATA_DIR'). Default: ./.sandbox/sandbox.db."
)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; user-facing failures become one line on stderr and exit status 1."""
    try:
        return asyncio.run(coroutine)
    except (DatabaseError, ValueError, OSError, asyncpg.PostgresError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise click.ClickException(message) from error


def database_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--db`` option shared by every command that opens the database."""
    return click.option("--db", "database", envvar=DATABASE_URL_ENV, metavar="URL", help=_DB_HELP)(
        command
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paperclip-sandbox")
def main() -> None:
    """Develop and review Paperclip plugins against a real host, on SQLite or PostgreSQL."""


@main.group()
def db() -> None:
    """Create, migrate and inspect the sandbox database."""


@db.command()
@database_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(database: str | None, revision: str) -> None:
    """Migrate the database schema forward (creating the database if needed)."""

    async def run() -> str | None:
        async with open_database(database, progress=_progress) as handle:
            _progress(f"Migrating {describe_choice(database)} to {revision} ...")
            await migrate.upgrade(handle, revision)
            return await migrate.current(handle)

    click.echo(f"Database at revision {_run(run())}")


@db.command()
@database_option
@click.argument("revision", default="-1")
def downgrade(database: str | None, revision: str) -> None:
    """Migrate the database schema back to REVISION (default: one step; 'base' empties it)."""

    async def run() -> str | None:
        async with open_database(database, progress=_progress) as handle:
            _progress(f"Migrating {describe_choice(database)} back to {revision} ...")
            await migrate.downgrade(handle, revision)
            return await migrate.current(handle)

    click.echo(f"Database at revision {_run(run()) or 'base (empty)'}")


@db.command()
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def current(database: str | None, as_json: bool) -> None:
    """Show the database's schema revision and whether it is up to date."""

    async def run() -> str | None:
        async with open_database(database, progress=_progress) as handle:
            return await migrate.current(handle)

    revision = _run(run())
    head = migrate.head_revision()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "database": describe_choice(database),
                    "revision": revision,
                    "head": head,
                    "upToDate": revision == head,
                }
            )
        )
        return
    state = "up to date" if revision == head else f"head is {head}; run 'sandbox db upgrade'"
    click.echo(f"{describe_choice(database)}: revision {revision or 'none (empty)'} ({state})")


@main.group()
def bench() -> None:
    """Measure the sandbox: programs that print figures for both backends."""


bench.add_command(cold_start_command)
bench.add_command(host_command)
bench.add_command(plugin_sql_command)
bench.add_command(plugins_command)
