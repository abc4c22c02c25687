"""``sandbox tui``: the reviewer's live view, for a database another process writes.

Textual is imported here, inside the command, so that every other command keeps its cold
start. The database is opened read-only and checked (migrated to the newest revision, the
company and plugin found) before the app draws anything.
"""

from __future__ import annotations

import sys

import click

from db.connect import describe_choice, missing_sqlite_file, open_database
from sandbox.cli_support import database_option, progress, run_command


@click.command()
@database_option
@click.option(
    "--company",
    metavar="COMPANY",
    help="Company id or issue prefix (e.g. ACM); needed when the database has several.",
)
@click.option(
    "--plugin",
    "plugin_ref",
    metavar="PLUGIN",
    help="Show only this plugin's activity, wakeups and runs (its key or record id).",
)
@click.option(
    "--theme",
    metavar="NAME",
    help="A Textual theme, e.g. textual-dark (default), nord, gruvbox, tokyo-night, "
    "textual-light. The command palette (ctrl+p) switches themes too.",
)
def tui(
    database: str | None, company: str | None, plugin_ref: str | None, theme: str | None
) -> None:
    """Watch plugins live: activity, wakeups and runs, costs, plugins and logs.

    Reads the database only, while plugins run in other processes (a `sandbox action` in
    another terminal, a test run, a long-running host). Keys: ? for help, 1-4 switch screens,
    space pauses, / filters, enter shows a row, e exports, ctrl+p opens the command palette.
    Remap keys in a TOML file named by SANDBOX_TUI_KEYMAP (the help screen lists the ids).
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.ClickException("sandbox tui needs a terminal: run it in one, not in a pipe")
    from textual.theme import BUILTIN_THEMES

    from tui.app import SandboxTui
    from tui.keymap import KeymapError, keymap_path, load_keymap
    from tui.scope import resolve_scope

    if theme is not None and theme not in BUILTIN_THEMES:
        choices = ", ".join(sorted(BUILTIN_THEMES))
        raise click.ClickException(f"unknown theme {theme!r}: choose one of {choices}")
    try:
        keymap = load_keymap(keymap_path())
    except KeymapError as error:
        raise click.ClickException(str(error)) from None
    hint = f" --db {database}" if database else ""
    missing = missing_sqlite_file(database)
    if missing is not None:
        raise click.ClickException(
            f"no SQLite database at {missing}: run `sandbox demo{hint}` to make one"
        )

    async def run() -> None:
        async with open_database(database, progress=progress, read_only=True) as db:
            scope = await resolve_scope(
                db,
                company=company,
                plugin=plugin_ref,
                backend=describe_choice(database),
                hint=hint,
            )
            await SandboxTui(db, scope, theme=theme, keymap=keymap).run_async()

    run_command(run())  # a ScopeError (a ValueError) becomes one Error: line
