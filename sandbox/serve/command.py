"""``sandbox serve``: run the long-running host until Ctrl+C or SIGTERM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from db.connect import describe_choice
from sandbox.cli_support import database_option, open_migrated_database, run_command
from sandbox.serve.agent_profiles import AgentProfiles, ProfileError, load_profiles


def _human_report(event: str, fields: dict[str, Any]) -> None:
    if event == "listening":
        click.echo(f"Listening on {fields['url']} (host {fields['hostId']})")
        plugins = fields["plugins"]
        if not plugins:
            click.echo("No ready plugins (install one with `sandbox plugin install PATH`)")
        for plugin in plugins:
            line = f"  {plugin['pluginKey']} {plugin['version']}: {plugin['status']}"
            click.echo(line + (f" ({plugin['error']})" if plugin.get("error") else ""))
        agents = "simulated" if fields["agents"] == "simulate" else "off"
        watch = "on" if fields["watch"] else "off"
        click.echo(f"Agents: {agents}; watching plugin folders: {watch}. Ctrl+C stops.")
    elif event == "stopping":
        click.echo("Stopping: finishing in-flight requests, jobs and runs ...", err=True)
    elif event == "stopped":
        click.echo("Stopped.", err=True)


def _json_report(event: str, fields: dict[str, Any]) -> None:
    click.echo(json.dumps({"event": event, **fields}), nl=True)


@click.command()
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=3100, show_default=True, type=int, help="Port to listen on (0: any free)."
)
@click.option(
    "--watch/--no-watch",
    default=True,
    show_default=True,
    help="Restart a plugin's worker when its folder changes.",
)
@click.option(
    "--agents",
    type=click.Choice(["simulate", "off"]),
    default="simulate",
    show_default=True,
    help="Run queued heartbeat runs with simulated agents, or leave them queued.",
)
@click.option(
    "--agent-profiles",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file of simulated agent behaviour (default: built-in profile).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the simulation.")
@click.option("--json", "as_json", is_flag=True, help="Log one JSON object per line.")
def serve(
    database: str | None,
    host: str,
    port: int,
    watch: bool,
    agents: str,
    agent_profiles: Path | None,
    seed: int,
    as_json: bool,
) -> None:
    """Run a host: plugin workers, HTTP routes, scheduled jobs and simulated agents.

    Serves every ready plugin's scoped API routes, action and data bridges and health over HTTP
    until Ctrl+C or SIGTERM. Several hosts may serve one PostgreSQL database; while a host runs,
    `sandbox action`, `data`, `health` and `api` on the same database go through it.
    """
    from sandbox.serve.host_process import (  # uvicorn and the rest: serve only
        ServedHost,
        ServeOptions,
    )

    try:
        profiles = AgentProfiles() if agent_profiles is None else load_profiles(agent_profiles)
    except ProfileError as error:
        raise click.ClickException(str(error)) from None
    options = ServeOptions(
        host=host,
        port=port,
        watch=watch,
        agents="simulate" if agents == "simulate" else "off",
        profiles=profiles,
        seed=seed,
    )
    report = _json_report if as_json else _human_report

    async def run() -> None:
        async with open_migrated_database(database) as db:
            if not as_json:
                click.echo(f"Database: {describe_choice(database)}")
            await ServedHost(db, options, report).serve()

    run_command(run())
