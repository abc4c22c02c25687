"""What every ``sandbox`` command shares: the ``--db`` option, progress lines, and turning
user-facing failures into one ``Error:`` line with exit status 1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click

from db import Database, DatabaseError, migrate
from db.connect import DATABASE_URL_ENV, describe_choice, open_database

T = TypeVar("T")

_DB_HELP = (
    "Database: a SQLite file path or URL, a PostgreSQL URL, or 'embedded-postgres' "
    "(optionally 'embedded-postgres:DATA_DIR'). Default: ./.sandbox/sandbox.db."
)


def progress(message: str) -> None:
    click.echo(message, err=True)


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
