"""The ``sandbox`` command line."""

from __future__ import annotations

import json

import click

from core.manifest import HOST_VERSION
from db import migrate
from db.connect import describe_choice, open_database
from sandbox.activity_commands import activity
from sandbox.agent_commands import agent
from sandbox.attach_command import attach
from sandbox.benchmarks.author_tests import author_tests_command
from sandbox.benchmarks.cold_start import cold_start_command
from sandbox.benchmarks.host import host_command
from sandbox.benchmarks.isolation import isolation_command
from sandbox.benchmarks.plugin_sql import plugin_sql_command
from sandbox.benchmarks.plugins import plugins_command
from sandbox.benchmarks.runs import runs_command
from sandbox.benchmarks.serve import serve_command
from sandbox.benchmarks.tui import tui_command
from sandbox.cli_support import (
    VERBOSE,
    configure_logging,
    database_option,
    progress,
    run_command,
)
from sandbox.limits_command import limits_command
from sandbox.plugin_commands import action, api, data, demo, health, plugin, seed
from sandbox.serve.command import serve
from sandbox.show_commands import show
from sandbox.tui_command import tui


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="paperclip-sandbox",
    message=f"%(prog)s, version %(version)s (mirrors Paperclip {HOST_VERSION})",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="When a plugin's handler fails, print its traceback (Python) or stack (JS) too.",
)
@click.pass_context
def main(context: click.Context, verbose: bool) -> None:
    """Develop and review Paperclip plugins against a real host, on SQLite or PostgreSQL."""
    context.meta[VERBOSE] = verbose
    configure_logging()


@main.group()
def db() -> None:
    """Create, migrate and inspect the sandbox database."""


@db.command()
@database_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(database: str | None, revision: str) -> None:
    """Migrate the database schema forward (creating the database if needed)."""

    async def run() -> str | None:
        async with open_database(database, progress=progress) as handle:
            progress(f"Migrating {describe_choice(database)} to {revision} ...")
            await migrate.upgrade(handle, revision)
            return await migrate.current(handle)

    click.echo(f"Database at revision {run_command(run())}")


@db.command()
@database_option
@click.argument("revision", default="-1")
def downgrade(database: str | None, revision: str) -> None:
    """Migrate the database schema back to REVISION (default: one step; 'base' empties it)."""

    async def run() -> str | None:
        async with open_database(database, progress=progress) as handle:
            progress(f"Migrating {describe_choice(database)} back to {revision} ...")
            await migrate.downgrade(handle, revision)
            return await migrate.current(handle)

    click.echo(f"Database at revision {run_command(run()) or 'base (empty)'}")


@db.command()
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def current(database: str | None, as_json: bool) -> None:
    """Show the database's schema revision and whether it is up to date."""

    async def run() -> str | None:
        async with open_database(database, progress=progress) as handle:
            return await migrate.current(handle)

    revision = run_command(run())
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


bench.add_command(author_tests_command)
bench.add_command(cold_start_command)
bench.add_command(host_command)
bench.add_command(isolation_command)
bench.add_command(plugin_sql_command)
bench.add_command(plugins_command)
bench.add_command(runs_command)
bench.add_command(serve_command)
bench.add_command(tui_command)

main.add_command(plugin)
main.add_command(action)
main.add_command(data)
main.add_command(health)
main.add_command(api)
main.add_command(serve)
main.add_command(seed)
main.add_command(limits_command)
main.add_command(demo)
main.add_command(tui)
main.add_command(activity)
main.add_command(agent)
main.add_command(show)
main.add_command(attach)
