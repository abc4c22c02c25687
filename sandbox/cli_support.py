"""What every ``sandbox`` command shares: the ``--db`` option, progress lines, looking up the
plugin or company a command names, and turning user-facing failures into one ``Error:`` line
with exit status 1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from core.companies import find_company, list_companies
from core.plugin_registry import find_plugin, list_plugins
from core.records import Company, PluginRecord
from core.suggestions import did_you_mean
from db import Database, DatabaseError, migrate
from db.connect import DATABASE_URL_ENV, describe_choice, open_database

T = TypeVar("T")

#: ``click.Context.meta`` key: ``sandbox -v`` was given (see ``verbose``).
VERBOSE = "sandbox.verbose"

_DB_HELP = (
    "Database: a SQLite file path or URL, a PostgreSQL URL, or 'embedded-postgres' "
    "(optionally 'embedded-postgres:DATA_DIR'). Default: ./.sandbox/sandbox.db."
)


def verbose() -> bool:
    """Whether the command runs under ``sandbox -v``: failures show the plugin's trace."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.meta.get(VERBOSE))


def progress(message: str) -> None:
    click.echo(message, err=True)


def parse_time(text: str | None, option: str) -> datetime | None:
    """An option's ISO-8601 time (UTC when it names no zone), or None when not given."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO-8601 time (e.g. 2026-12-05T10:00:00Z)", param_hint=option
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_time(moment: datetime | None) -> str:
    """A time as the commands print it: UTC to the second, ``-`` for none."""
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under their headers, in columns as wide as their widest cell."""
    table = [headers, *rows]
    widths = [max(len(cell) for cell in column) for column in zip(*table, strict=True)]
    lines = ("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table)
    return "\n".join(line.rstrip() for line in lines)


def run_command(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; user-facing failures become one line on stderr and exit status 1."""
    try:
        return asyncio.run(coroutine)
    except (DatabaseError, ValueError, OSError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise click.ClickException(message) from error


@asynccontextmanager
async def open_migrated_database(choice: str | None) -> AsyncIterator[Database]:
    """The chosen database, migrated to the newest revision first (a new user's first command
    just works)."""
    async with open_database(choice, progress=progress) as db:
        if await migrate.current(db) != migrate.head_revision():
            progress(f"Migrating {describe_choice(choice)} ...")
            await migrate.upgrade(db)
        yield db


def _not_found(what: str, ref: str, known: list[str]) -> click.ClickException:
    hint = did_you_mean(ref, known)
    return click.ClickException(f"{what} not found: {ref}" + (f" -- {hint}" if hint else ""))


async def require_plugin(db: Database, ref: str) -> PluginRecord:
    """The plugin whose key or record id is ``ref``; else an error that suggests the installed
    key closest to it (``Plugin not found: acme.trackr -- did you mean "acme.tracker"?``)."""
    record = await find_plugin(db, ref)
    if record is None:
        installed = await list_plugins(db, include_uninstalled=True)
        raise _not_found("Plugin", ref, [plugin.plugin_key for plugin in installed])
    return record


async def require_company(db: Database, ref: str) -> Company:
    """The company whose id or issue prefix (any case) is ``ref``; else an error that suggests
    the closest prefix (``Company not found: ACX -- did you mean "ACM"?``)."""
    company = await find_company(db, ref)
    if company is None:
        companies = await list_companies(db)
        raise _not_found("Company", ref, [company.issue_prefix for company in companies])
    return company


def database_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--db`` option shared by every command that opens the database."""
    return click.option("--db", "database", envvar=DATABASE_URL_ENV, metavar="URL", help=_DB_HELP)(
        command
    )


class _FirstLine(logging.Formatter):
    """A log record as one line: its level and the first line of its message."""

    def format(self, record: logging.LogRecord) -> str:
        lines = record.getMessage().strip().splitlines()
        return f"{record.levelname.lower()}: {lines[0] if lines else ''}"


def configure_logging() -> None:
    """Warnings and errors of the runtime on stderr, one line each (details go to plugin logs)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_FirstLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
