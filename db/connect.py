"""Open the database a user chose: a SQLite file, a PostgreSQL URL, or embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from db.dialect import Dialect
from db.embedded_postgres import (
    DEFAULT_DATABASE,
    EmbeddedPostgres,
    database_exists,
    ensure_database,
)
from db.engine import DEFAULT_SQLITE_PATH, Database, create_db, resolve_url
from db.errors import DatabaseUnavailable

#: Environment variable naming the database when no ``--db`` is given.
DATABASE_URL_ENV = "SANDBOX_DATABASE_URL"

#: The choice that selects embedded PostgreSQL; ``embedded-postgres:DIR`` picks the data directory.
EMBEDDED_POSTGRES = "embedded-postgres"

#: Where embedded PostgreSQL keeps its data unless told otherwise.
DEFAULT_EMBEDDED_DATA_DIR = Path(".sandbox") / "postgres"


def fresh_database_choice(dialect: Dialect, directory: Path) -> str:
    """The choice of a new database of ``dialect`` kept under ``directory``: an embedded
    PostgreSQL data directory, or a SQLite file."""
    match dialect:
        case Dialect.POSTGRES:
            return f"{EMBEDDED_POSTGRES}:{directory / 'postgres'}"
        case Dialect.SQLITE:
            return str(directory / "sandbox.db")


def describe_choice(choice: str | None) -> str:
    """A short human name for a database choice, for progress messages."""
    choice = choice or os.environ.get(DATABASE_URL_ENV)
    if choice is None:
        return f"SQLite {DEFAULT_SQLITE_PATH}"
    if choice.startswith(EMBEDDED_POSTGRES):
        return f"embedded PostgreSQL ({_embedded_data_dir(choice)})"
    url = resolve_url(choice)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database}"
    return url.render_as_string(hide_password=True)


@asynccontextmanager
async def open_database(
    choice: str | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    read_only: bool = False,
) -> AsyncIterator[Database]:
    """Yield the chosen database, and close it (and any server started for it) afterwards.

    Args:
        choice: a SQLite path or URL, a PostgreSQL URL, ``embedded-postgres`` or
            ``embedded-postgres:DATA_DIR``. ``None`` reads ``SANDBOX_DATABASE_URL`` and falls back
            to ``./.sandbox/sandbox.db``.
        progress: called with a line of text before slow steps (starting a server).
        read_only: open it for viewing (``create_db(read_only=True)``): nothing is created, not
            even embedded PostgreSQL's database.

    Raises:
        DatabaseUnavailable: ``read_only`` and the database does not exist.
    """
    choice = choice or os.environ.get(DATABASE_URL_ENV) or None
    if choice is not None and choice.startswith(EMBEDDED_POSTGRES):
        server = EmbeddedPostgres(_embedded_data_dir(choice))
        if progress:
            progress(f"Starting embedded PostgreSQL in {server.data_dir} ...")
        await asyncio.to_thread(server.start)
        try:
            if not read_only:
                await ensure_database(server.url("postgres"), DEFAULT_DATABASE)
            elif not await database_exists(server.url("postgres"), DEFAULT_DATABASE):
                raise DatabaseUnavailable(
                    f"embedded PostgreSQL in {server.data_dir} has no {DEFAULT_DATABASE} database"
                )
            db = create_db(server.url(DEFAULT_DATABASE), read_only=read_only)
            try:
                yield db
            finally:
                await db.dispose()
        finally:
            if progress:
                progress("Stopping embedded PostgreSQL ...")
            await asyncio.to_thread(server.stop)
        return
    db = create_db(choice, read_only=read_only)
    try:
        yield db
    finally:
        await db.dispose()


def missing_sqlite_file(choice: str | None) -> Path | None:
    """The SQLite file a choice names, when that file does not exist (else None)."""
    choice = choice or os.environ.get(DATABASE_URL_ENV) or None
    if choice is not None and choice.startswith(EMBEDDED_POSTGRES):
        return None
    url = resolve_url(choice)
    if url.get_backend_name() != "sqlite" or url.database is None:
        return None
    path = Path(url.database)
    return None if path.exists() else path


def _embedded_data_dir(choice: str) -> Path:
    _, _, directory = choice.partition(":")
    return Path(directory) if directory else DEFAULT_EMBEDDED_DATA_DIR
