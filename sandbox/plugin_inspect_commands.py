"""``sandbox plugin tables`` and ``sandbox plugin sql``: a plugin's own tables, seen as the
plugin sees them.

``plugin sql`` runs one statement through the host's ``ctx.db.query`` path
(``PluginDatabase.query`` with the access the host gives the plugin's worker): whatever the
plugin may not run is refused with the message the plugin gets, and a statement that runs
returns the rows the plugin would read. (A plugin with a namespace always holds
``database.namespace.read``, the capability of ``db.query``: its manifest is refused without.)
"""

from __future__ import annotations

import json
from typing import Any

import click

from core.errors import HostError
from core.plugin_database import PluginAccess, PluginDatabase
from core.read_models.plugin_tables import PluginTable, plugin_tables
from db import Database
from sandbox.cli_support import (
    database_option,
    format_table,
    open_migrated_database,
    require_plugin,
    run_command,
)

_PLUGIN_ARGUMENT = click.argument("plugin_ref", metavar="PLUGIN")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON on one line.")


async def _access(db: Database, plugin_ref: str) -> tuple[PluginDatabase, PluginAccess]:
    """The plugin's database access as the host gives it to its worker at activation.

    Raises:
        click.ClickException: no such plugin, or it declares no namespace.
        HostError: its namespace is not active (upstream's message).
    """
    plugin = await require_plugin(db, plugin_ref)
    if not isinstance(plugin.manifest_json.get("database"), dict):
        raise click.ClickException(
            f"{plugin.plugin_key} has no database namespace: its manifest declares no "
            '"database" block'
        )
    plugin_db = PluginDatabase(db)
    return plugin_db, await plugin_db.access(plugin.id)


def _run(coroutine: Any) -> Any:
    """``run_command``, with the host's refusals (upstream's messages) as one-line errors."""
    try:
        return run_command(coroutine)
    except HostError as error:
        raise click.ClickException(" ".join(error.message.split())) from error


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@click.command("tables")
@database_option
@_PLUGIN_ARGUMENT
@_JSON
def tables_command(database: str | None, plugin_ref: str, as_json: bool) -> None:
    """The tables of PLUGIN's database namespace: columns, types and row counts.

    Names are printed as plugin SQL writes them (<namespace>.<table>), ready for `plugin sql`.
    """

    async def run() -> list[PluginTable]:
        async with open_migrated_database(database) as db:
            plugin_db, access = await _access(db, plugin_ref)
            return await plugin_tables(plugin_db, access)

    found = _run(run())
    if as_json:
        click.echo(json.dumps([table.to_json() for table in found], ensure_ascii=False))
        return
    if not found:
        click.echo("No tables in the namespace.")
    for index, table in enumerate(found):
        if index:
            click.echo()
        click.echo(f"{table.qualified_name}  ({table.rows} row{'' if table.rows == 1 else 's'})")
        width = max((len(name) for name, _ in table.columns), default=0)
        for name, kind in table.columns:
            click.echo(f"  {name.ljust(width)}  {kind}")


@click.command("sql")
@database_option
@_PLUGIN_ARGUMENT
@click.argument("statement", metavar="SQL")
@click.option("--params", "params_text", metavar="JSON", help="Values of $1, $2, ... (an array).")
@_JSON
def sql_command(
    database: str | None, plugin_ref: str, statement: str, params_text: str | None, as_json: bool
) -> None:
    """Run one read-only SQL statement as PLUGIN's ctx.db.query would, and print the rows.

    The same checks and limits apply: one SELECT on the plugin's namespace and the core tables
    its manifest declares (database.coreReadTables), in PostgreSQL's dialect on both backends.
    """
    params: list[Any] = []
    if params_text is not None:
        try:
            params = json.loads(params_text)
        except ValueError as error:
            raise click.ClickException(f"--params is not valid JSON: {error}") from None
        if not isinstance(params, list):
            raise click.ClickException("--params must be a JSON array")

    async def run() -> list[dict[str, Any]]:
        async with open_migrated_database(database) as db:
            plugin_db, access = await _access(db, plugin_ref)
            return await plugin_db.query(access, statement, params)

    rows = _run(run())
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if rows:
        headers = list(rows[0])
        click.echo(format_table(headers, [[_cell(row[h]) for h in headers] for row in rows]))
    click.echo(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
