"""``sandbox activity export``: the activity log, filtered, as CSV or JSON Lines for scripts.

The same filters as the TUI's read model (core.read_models.activity), newest first, read a
page at a time so that any number of rows streams out in bounded memory.
"""

from __future__ import annotations

import sys
from typing import TextIO

import click

from core.read_models.activity import ActivityFilter, list_activity
from core.read_models.export import EXPORT_FORMATS, RowWriter
from db import migrate
from db.connect import open_database
from sandbox.cli_support import (
    database_option,
    parse_time,
    progress,
    require_company,
    require_plugin,
    run_command,
)

#: Rows read per page.
PAGE_ROWS = 2_000
#: Report progress every this many rows.
PROGRESS_EVERY = 20_000


@click.group()
def activity() -> None:
    """Read the activity log."""


@activity.command()
@database_option
@click.option("--company", metavar="COMPANY", help="Company id or issue prefix.")
@click.option(
    "--plugin", "plugin_ref", metavar="PLUGIN", help="Only this plugin's rows (key or id)."
)
@click.option("--action", help="An action, or a prefix ending in * (issue.*).")
@click.option("--entity-type", help="Only rows about this kind of entity (issue, plugin, ...).")
@click.option("--entity-id", help="Only rows about this entity.")
@click.option("--agent", "agent_id", metavar="AGENT_ID", help="Only rows of this agent.")
@click.option("--run", "run_id", metavar="RUN_ID", help="Only rows of this heartbeat run.")
@click.option("--since", help="Rows at or after this ISO-8601 time.")
@click.option("--until", help="Rows before this ISO-8601 time.")
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    default="jsonl",
    show_default=True,
    help="CSV (one column per field, details as JSON) or JSON Lines.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="The file to write ('-': standard output).",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
def export(
    database: str | None,
    company: str | None,
    plugin_ref: str | None,
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    agent_id: str | None,
    run_id: str | None,
    since: str | None,
    until: str | None,
    export_format: str,
    output: str,
    limit: int | None,
) -> None:
    """Write activity rows, newest first, as CSV or JSON Lines (read-only)."""
    start, end = parse_time(since, "--since"), parse_time(until, "--until")

    async def run() -> int:
        async with open_database(database, progress=progress, read_only=True) as db:
            if await migrate.current(db) != migrate.head_revision():
                raise click.ClickException(
                    "the database is not at the newest revision: run `sandbox db upgrade`"
                )
            company_id = plugin_id = None
            if company is not None:
                company_id = (await require_company(db, company)).id
            if plugin_ref is not None:
                plugin_id = (await require_plugin(db, plugin_ref)).id
            wanted = ActivityFilter(
                company_id=company_id,
                plugin_id=plugin_id,
                action=action,
                entity_type=entity_type,
                entity_id=entity_id,
                agent_id=agent_id,
                run_id=run_id,
                since=start,
                until=end,
            )
            with click.open_file(output, "w", encoding="utf-8", lazy=False) as stream:
                return await _write(db, wanted, stream, export_format, limit)

    written = run_command(run())
    if output != "-":
        progress(f"Wrote {written:,} row{'' if written == 1 else 's'} to {output}")


async def _write(db, wanted, stream: TextIO, export_format: str, limit: int | None) -> int:  # type: ignore[no-untyped-def]
    writer = RowWriter(stream, export_format)  # type: ignore[arg-type]
    written, before, reported = 0, None, 0
    while limit is None or written < limit:
        size = PAGE_ROWS if limit is None else min(PAGE_ROWS, limit - written)
        page = await list_activity(db, wanted, before=before, limit=size)
        written += writer.write(page.items)
        if written - reported >= PROGRESS_EVERY and stream is not sys.stdout:
            progress(f"{written:,} rows ...")
            reported = written
        if page.next is None:
            break
        before = page.next
    return written
