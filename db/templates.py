"""Migrated template databases, and fresh databases cloned from them.

Migrating an empty database through the whole chain takes a while; copying a migrated one is
fast. The test suite and ``sandbox.harness`` therefore migrate one template per backend and clone
it for every database they hand out: SQLite copies the template file, PostgreSQL creates the
database ``TEMPLATE`` the migrated one. The PostgreSQL server is the one named by
``SANDBOX_TEST_POSTGRES_URL``, or a throwaway embedded server.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from db import migrate
from db.embedded_postgres import EmbeddedPostgres, drop_database, ensure_database
from db.engine import create_db

#: Reuse a running PostgreSQL server (a libpq or SQLAlchemy URL) instead of starting one.
POSTGRES_URL_ENV = "SANDBOX_TEST_POSTGRES_URL"

#: What SQLite keeps beside a database file while it is open in WAL mode.
_SQLITE_SIDE_FILES = ("-wal", "-shm")


def server_url(url: str) -> URL:
    """A PostgreSQL server's URL (libpq or SQLAlchemy form) with the asyncpg driver."""
    return make_url(url).set(drivername="postgresql+asyncpg")


def start_postgres(data_dir: Path) -> tuple[URL, EmbeddedPostgres | None]:
    """The server of ``SANDBOX_TEST_POSTGRES_URL`` when it is set, else a throwaway embedded
    server keeping its data in ``data_dir`` (deleted when it stops).

    Returns:
        The server's URL, and the embedded server to stop afterwards (None for a given one).

    Raises:
        DatabaseUnavailable: the embedded server could not start.
    """
    given = os.environ.get(POSTGRES_URL_ENV)
    if given:
        return server_url(given), None
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.parent.chmod(0o755)  # the server runs as another user when we are root
    server = EmbeddedPostgres(data_dir, keep_data=False)
    try:
        return server.start(), server
    except BaseException:
        server.stop()  # a server that came up halfway (its settings failed) stops too
        raise


async def build_sqlite_template(path: Path) -> Path:
    """Migrate a fresh SQLite file at ``path`` to the newest revision; returns ``path``."""
    # Closing the last connection checkpoints the WAL into the main file, so a plain copy of
    # that file is the whole database.
    await _migrate_and_close(path)
    return path


def clone_sqlite(template: Path, path: Path) -> Path:
    """Copy the template file to ``path`` (a new, independent database); returns ``path``."""
    shutil.copyfile(template, path)
    return path


def remove_sqlite(path: Path) -> None:
    """Delete a closed SQLite database with its WAL and shared-memory files, if present."""
    for suffix in ("", *_SQLITE_SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def build_postgres_template(server: URL, name: str, *, replace: bool = False) -> URL:
    """Create database ``name`` on ``server`` and migrate it to the newest revision.

    Args:
        server: the URL of any database on the server (its ``postgres`` database, say).
        name: the template's name.
        replace: drop a database of that name first (one left by an interrupted run).

    Returns:
        The template's URL.
    """
    if replace:
        await drop_database(server, name)
    await ensure_database(server, name)
    url = server.set(database=name)
    await _migrate_and_close(url)
    return url


async def clone_postgres(server: URL, template: str, name: str, *, replace: bool = False) -> URL:
    """Create database ``name`` on ``server`` as a copy of database ``template``.

    PostgreSQL copies the template's files, so this is fast; nobody may be connected to the
    template meanwhile. ``replace`` drops a database of that name first.

    Returns:
        The new database's URL.
    """
    if replace:
        await drop_database(server, name)
    await ensure_database(server, name, template=template)
    return server.set(database=name)


async def _migrate_and_close(url: Path | URL) -> None:
    db = create_db(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()
