"""One database, SQLite or PostgreSQL: engine, sessions and transactions.

``create_db(url)`` is the one entry point. It reads the URL, picks the dialect once, and hands back
a ``Database`` whose two context managers are all the rest of the code needs:

- ``transaction()``: a write transaction, committed on exit and rolled back on error, with driver
  errors translated into ``db.errors``;
- ``read()``: a read-only snapshot.

SQLite write transactions start with ``BEGIN IMMEDIATE``, taking the database's write lock up
front. A deferred transaction that reads and then writes after another connection committed fails
with "database is locked" whatever the busy timeout, so row locks (which SQLite lacks) become
writer locks. Writers of one process also queue on an asyncio lock before they ask SQLite, so they
wait in order instead of polling in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any, assert_never
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from db import sqlite_connection
from db.dialect import Dialect
from db.errors import DatabaseBusy, DatabaseError, DatabaseUnavailable, translate_error
from db.models import metadata
from db.plugin_sql import install_sqlite_support
from db.types import dumps_json, loads_json

#: Where the sandbox keeps its database when nothing else is configured.
DEFAULT_SQLITE_PATH = Path(".sandbox") / "sandbox.db"

#: Milliseconds a SQLite connection waits for another process's writer before failing with
#: "database is locked". Writers in this process never wait here: they queue on the writer lock.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: RETURNING arrived in SQLite 3.35; upserts and counters rely on it.
MINIMUM_SQLITE_VERSION = (3, 35, 0)

#: Execution option naming the BEGIN statement of a SQLite transaction.
_SQLITE_BEGIN = "sandbox_sqlite_begin"

#: PostgreSQL advisory lock key held while migrating ("sandbox" in ASCII).
_MIGRATION_LOCK_KEY = 0x73616E64626F78


#: The databases whose write transaction the current task is inside.
_writing: ContextVar[frozenset[Database]] = ContextVar("sandbox_writing", default=frozenset())


class Database:
    """A configured database; create it with ``create_db``."""

    def __init__(
        self,
        engine: AsyncEngine,
        dialect: Dialect,
        *,
        writer_engine: AsyncEngine | None = None,
        read_only: bool = False,
        durable: bool = True,
        park: sqlite_connection.ConnectionPark | None = None,
    ) -> None:
        self.engine = engine
        #: Where write transactions run: a separate engine on both backends (one connection on
        #: SQLite; on PostgreSQL a pool that keeps cached plans, see _create_postgres_engine).
        self.writer_engine = writer_engine or engine
        self.dialect = dialect
        #: Opened for viewing only (``create_db(read_only=True)``): every write is refused.
        self.read_only = read_only
        #: False for a throwaway database (``create_db(durable=False)``).
        self.durable = durable
        #: SQLite: where closed connections are kept (``create_db(park=...)``).
        self.park = park
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        writer = self.writer_engine.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
        self._write_sessions = async_sessionmaker(writer, expire_on_commit=False)
        self._writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._plugin_connections: list[PluginConnections] = []
        #: Sets closed by ``dispose``, by (size, wait): the next host asking for such a set
        #: gets one back (its engines' compiled statements kept) instead of a new one.
        self._closed_plugin_connections: dict[tuple[int, int], list[PluginConnections]] = {}

    @property
    def url(self) -> URL:
        """The connection URL (password hidden when rendered)."""
        return self.engine.url

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commit on success, roll back on any error.

        Raises:
            RuntimeError: when called inside another write transaction of this database. On
                SQLite the inner one would wait forever for the outer one's write lock, so
                nesting is refused on both backends.
            DatabaseError: the database was opened read-only.
        """
        if self.read_only:
            raise DatabaseError("the database was opened read-only; nothing was written")
        async with self._as_writer(), self._write_sessions() as session:
            with self._translated_errors():
                yield session
                await session.commit()

    @asynccontextmanager
    async def _as_writer(self) -> AsyncIterator[None]:
        """The turn of one write transaction of this process (the writer lock on SQLite)."""
        if self in _writing.get():
            raise RuntimeError(
                "nested write transaction: finish the open db.transaction() first "
                "(SQLite allows one writer at a time)"
            )
        token = _writing.set(_writing.get() | {self})
        try:
            async with self._writer_lock():
                yield
        finally:
            _writing.reset(token)

    def plugin_connections(self, *, size: int, wait_ms: int) -> PluginConnections:
        """A connection set for plugin SQL, apart from the host's (closed by ``dispose``)."""
        closed = self._closed_plugin_connections.get((size, wait_ms))
        connections = (
            closed.pop() if closed else PluginConnections(self, size=size, wait_ms=wait_ms)
        )
        self._plugin_connections.append(connections)
        return connections

    def connections_in_use(self) -> int:
        """How many connections are checked out now, the plugin connection sets' too."""
        pools = {self.engine.sync_engine.pool, self.writer_engine.sync_engine.pool}
        in_use = sum(pool.checkedout() for pool in pools)  # type: ignore[attr-defined]
        return in_use + sum(connections.in_use for connections in self._plugin_connections)

    async def after_bulk_load(self, table: sa.Table) -> None:
        """Do what the server's own upkeep does soon after many rows were written to ``table``
        at once, for a caller that measures what comes next.

        PostgreSQL: VACUUM ANALYZE, as autovacuum does; until it runs, plans and visibility
        are those of the table before the load (``issues.create`` measured 3x slower in a
        company of 100,000 issues). SQLite: nothing; it keeps no statistics unless asked.
        """
        match self.dialect:
            case Dialect.SQLITE:
                return
            case Dialect.POSTGRES:
                async with self.engine.connect() as connection:
                    autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await autocommit.exec_driver_sql(f'VACUUM ANALYZE "{table.name}"')
            case _:
                assert_never(self.dialect)

    async def connect_ahead(self) -> None:
        """SQLite: open a connection of every engine now, all at once (the plugin connection
        sets' too), and leave them in their pools; for a caller that runs this beside other
        work, so that the first statements find their connection open. Each new connection
        reads the whole schema, milliseconds on its own thread.

        SQLite with a park keeping connections to the file: nothing either; they are open
        already, and handing each out twice (now and at its first statement) would cost more
        than it saves.

        PostgreSQL: nothing. Each connection is a server process starting on the same
        machine; opened early, they slowed a plugin test by 30 ms instead (measured).
        """
        match self.dialect:
            case Dialect.SQLITE:
                if self.park is not None and self.park.keeps_any(str(self.url.database)):
                    return
                engines = dict.fromkeys((self.writer_engine, self.engine))
                for connections in self._plugin_connections:
                    engines.update(dict.fromkeys(connections.engines))
                await asyncio.gather(*(_connect(engine) for engine in engines))
            case Dialect.POSTGRES:
                return
            case _:
                assert_never(self.dialect)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session; all its statements see one snapshot."""
        async with self._read_sessions() as session:
            with self._translated_errors():
                yield session
                await session.rollback()

    @contextmanager
    def statement_counter(self) -> Iterator[list[str]]:
        """Record every SQL statement sent while the block runs (the list fills as they go)."""
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engines = {self.engine.sync_engine, self.writer_engine.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", record)

    @asynccontextmanager
    async def migration_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction for schema migrations, committed on success.

        SQLite: a separate connection with foreign keys off (batch mode rebuilds tables by
        copy-and-drop, and a drop with foreign keys on cascades into child rows); the foreign
        keys are checked before commit instead. PostgreSQL: an advisory lock keeps two migrating
        processes apart.
        """
        match self.dialect:
            case Dialect.SQLITE:
                engine = _create_sqlite_engine(
                    self.url, echo=self.engine.echo, foreign_keys=False, durable=self.durable
                )
                try:
                    async with self._writer_lock(), engine.connect() as connection:
                        await connection.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
                        yield connection
                        result = await connection.exec_driver_sql("PRAGMA foreign_key_check")
                        broken = result.all()
                        if broken:
                            raise DatabaseError(
                                f"migration left {len(broken)} rows with dangling foreign keys, "
                                f"first in table {broken[0][0]!r}; rolled back"
                            )
                        await connection.commit()
                finally:
                    await engine.dispose()
            case Dialect.POSTGRES:
                async with self.engine.connect() as connection:
                    await connection.execute(
                        sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY))
                    )
                    yield connection
                    await connection.commit()
            case _:
                assert_never(self.dialect)

    async def dispose(self) -> None:
        """Close every pooled connection; the plugin connection sets handed out so far are
        closed, and ``plugin_connections`` hands them out again (a ``Database`` reused after
        ``dispose``, as test databases are, does not make new engines for every host).

        One engine after another: on SQLite the last connection closed moves the WAL into the
        file, and two closing at once may each leave that to the other (a WAL left beside the
        file in about one case of four, measured).
        """
        connections, self._plugin_connections = self._plugin_connections, []
        await self.engine.dispose()
        if self.writer_engine is not self.engine:
            await self.writer_engine.dispose()
        for plugin_connections in connections:
            await plugin_connections.dispose()
            key = (plugin_connections.size, plugin_connections.wait_ms)
            self._closed_plugin_connections.setdefault(key, []).append(plugin_connections)

    def _writer_lock(self) -> asyncio.Lock | nullcontext[None]:
        match self.dialect:
            case Dialect.SQLITE:
                loop = asyncio.get_running_loop()
                lock = self._writer_locks.get(loop)
                if lock is None:
                    lock = self._writer_locks[loop] = asyncio.Lock()
                return lock
            case Dialect.POSTGRES:
                return nullcontext()
            case _:
                assert_never(self.dialect)

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except sa_exc.DBAPIError as error:
            translated = translate_error(error, metadata)
            if translated is None:
                raise
            raise translated from error
        except sa_exc.StatementError as error:
            # A value our types refused while binding (naive datetime, malformed UUID, NaN in
            # JSON): surface the clear ValueError/TypeError, not SQLAlchemy's wrapper.
            if isinstance(error.orig, ValueError | TypeError):
                raise error.orig from error
            raise
        except OSError as error:
            raise DatabaseUnavailable(f"cannot reach the database: {error}") from error


async def _connect(engine: AsyncEngine) -> None:
    """Open a connection of ``engine`` and put it back in its pool."""
    async with engine.connect():
        pass


class ConnectionsBusy(DatabaseBusy):
    """Every connection of a bounded set stayed in use for the whole wait."""


class PluginConnections:
    """Connections of plugin SQL, apart from the host's, each found within ``wait_ms``.

    A plugin's slow statements wait for these and never take the host's pools; when every one
    stays busy for the whole wait, the call fails with ``ConnectionsBusy``.

    - PostgreSQL: one pool of ``size`` connections for plugin reads, writes and migrations.
    - SQLite: ``size`` reader connections (statements run on aiosqlite's threads) and ONE
      writer connection. The file has one writer: a plugin write transaction takes the
      database's writer lock like a host write, but only while it holds this one connection,
      so at most one plugin write is ever ahead of a host write in the writer's queue. How
      long it may hold the writer is the caller's statement limit (the guard's progress
      handler interrupts it).
    """

    def __init__(self, db: Database, *, size: int, wait_ms: int) -> None:
        self._db = db
        self.size = size
        self.wait_ms = wait_ms
        echo = db.engine.echo
        wait = {"max_overflow": 0, "pool_timeout": wait_ms / 1000}
        match db.dialect:
            case Dialect.SQLITE:
                self._reader = _create_sqlite_engine(
                    db.url,
                    echo=echo,
                    read_only=db.read_only,
                    durable=db.durable,
                    park=db.park,
                    pool={"pool_size": size, "pool_reset_on_return": None, **wait},
                )
                self._writer = _create_sqlite_engine(
                    db.url,
                    echo=echo,
                    read_only=db.read_only,
                    durable=db.durable,
                    park=db.park,
                    pool={"pool_size": 1, **wait},
                )
            case Dialect.POSTGRES:
                self._reader = self._writer = _create_postgres_engine(
                    db.url,
                    echo=echo,
                    custom_plans=True,
                    read_only=db.read_only,
                    durable=db.durable,
                    pool={"pool_size": size, **wait},
                )
            case _:
                assert_never(db.dialect)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session on a plugin connection."""
        async with (
            self._connection(self._reader) as connection,
            AsyncSession(connection, expire_on_commit=False) as session,
        ):
            with self._db._translated_errors():
                yield session
                await session.rollback()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction on a plugin connection, in the writer's turn on SQLite."""
        if self._db.read_only:
            raise DatabaseError("the database was opened read-only; nothing was written")
        async with self._connection(self._writer) as connection, self._db._as_writer():
            await connection.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
            async with AsyncSession(connection, expire_on_commit=False) as session:
                with self._db._translated_errors():
                    yield session
                    await session.commit()

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """The engines of the set: one on PostgreSQL; on SQLite the writer, then the reader."""
        return tuple(dict.fromkeys((self._writer, self._reader)))

    @property
    def in_use(self) -> int:
        """How many of the connections are checked out now."""
        return sum(engine.sync_engine.pool.checkedout() for engine in self.engines)  # type: ignore[attr-defined]

    @asynccontextmanager
    async def _connection(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        connection = engine.connect()
        try:
            await connection.start()
        except sa_exc.TimeoutError:
            raise ConnectionsBusy(
                f"all {self.size} plugin SQL connections stayed busy for {self.wait_ms} ms"
            ) from None
        try:
            yield connection
        finally:
            await connection.close()

    async def dispose(self) -> None:
        """Close every connection."""
        for engine in self.engines:  # one after another: see Database.dispose
            await engine.dispose()


def resolve_url(value: str | Path | URL | None = None) -> URL:
    """Turn what a user typed into an async driver URL.

    Accepts ``sqlite[+aiosqlite]:///path``, ``postgres[ql][+driver]://...`` and plain file paths
    (taken as SQLite files). ``None`` means the default file ``./.sandbox/sandbox.db``.
    """
    if value is None:
        value = DEFAULT_SQLITE_PATH
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str) and "://" not in value:
        value = f"sqlite+aiosqlite:///{value}"
    try:
        url = make_url(value)
    except sa_exc.ArgumentError:
        raise ValueError(f"not a database URL: {value!r}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ValueError(
                "an in-memory SQLite database cannot be shared by the sandbox's readers and "
                "writer; give a file path instead"
            )
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise ValueError(
        f"unsupported database {url.drivername!r}: use a SQLite file or a PostgreSQL URL"
    )


def create_db(
    url: str | Path | URL | None = None,
    *,
    echo: bool = False,
    read_only: bool = False,
    durable: bool = True,
    park: sqlite_connection.ConnectionPark | None = None,
) -> Database:
    """Open a database from a URL or SQLite path (see ``resolve_url``); no I/O happens yet.

    Args:
        read_only: for viewers (the TUI): ``transaction()`` is refused, and below it every
            connection refuses writes (SQLite ``query_only``, PostgreSQL read-only
            transactions). A SQLite file must already exist; it is neither created nor
            converted to WAL.
        durable: False for a throwaway database (a test's copy of a template): commits are
            not synced to disk (SQLite ``synchronous=OFF``, PostgreSQL
            ``synchronous_commit=off``); a crash of the machine may lose or corrupt it. On
            PostgreSQL its writes also share the readers' pool (one server process fewer
            to start per database).
        park: SQLite: keep closed connections there (``sqlite_connection.ConnectionPark``),
            for the files it holds.

    Raises:
        ValueError: the URL names no supported database, or SQLite is too old.
        DatabaseUnavailable: ``read_only`` and the SQLite file does not exist.
    """
    resolved = resolve_url(url)
    dialect = Dialect.from_name(resolved.get_backend_name())
    match dialect:
        case Dialect.SQLITE:
            if read_only:
                assert resolved.database is not None
                path = Path(resolved.database).expanduser()
                if not path.is_file():
                    raise DatabaseUnavailable(f"no SQLite database at {path}")
            settings = {"echo": echo, "read_only": read_only, "durable": durable, "park": park}
            return Database(
                _create_sqlite_engine(resolved, **settings),
                dialect,
                writer_engine=_create_sqlite_engine(resolved, writer=True, **settings),
                read_only=read_only,
                durable=durable,
                park=park,
            )
        case Dialect.POSTGRES:
            readers = _create_postgres_engine(
                resolved, echo=echo, custom_plans=True, read_only=read_only, durable=durable
            )
            # A throwaway database (a test's) is small and short-lived: cached plans gain
            # nothing there, while a pool of its own would cost each test one more server
            # process to start. Its writes share the readers' pool.
            writers = (
                _create_postgres_engine(
                    resolved, echo=echo, custom_plans=False, read_only=read_only, durable=durable
                )
                if durable
                else readers
            )
            return Database(
                readers, dialect, writer_engine=writers, read_only=read_only, durable=durable
            )
        case _:
            assert_never(dialect)


def _create_sqlite_engine(
    url: URL,
    *,
    echo: bool,
    foreign_keys: bool = True,
    writer: bool = False,
    read_only: bool = False,
    durable: bool = True,
    park: sqlite_connection.ConnectionPark | None = None,
    pool: dict[str, Any] | None = None,
) -> AsyncEngine:
    """A SQLite engine; ``writer=True`` gives the single loop-side writer connection, ``pool``
    other pool settings than the readers' (statements on aiosqlite's threads), ``park`` where
    closed connections are kept."""
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE_VERSION:
        needed = ".".join(map(str, MINIMUM_SQLITE_VERSION))
        raise ValueError(f"SQLite {sqlite3.sqlite_version} is too old: the sandbox needs {needed}+")
    assert url.database is not None
    path = Path(url.database).expanduser()
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(
            f"cannot create the folder of the SQLite file {path}: {error.strerror}"
        ) from error
    # Each statement in one step: the writer's on the event loop, readers' in one trip to
    # aiosqlite's thread (db/sqlite_connection.py).
    connect = partial(
        sqlite_connection.connect,
        str(path),
        on_loop=writer,
        timeout=0,
        park=park,
        settings=(foreign_keys, read_only, durable),
    )
    if read_only:
        # Never create the file: a viewer's connection opens an existing database or fails.
        target = f"file:{quote(str(path.resolve()))}?mode=rw"
        connect = partial(sqlite_connection.connect, target, on_loop=writer, timeout=0, uri=True)
    # Readers: no rollback when a connection returns to the pool. Every session and connection
    # ends its transaction before it closes, and the extra rollback would be one more trip to
    # the SQLite thread per read.
    if pool is None:
        pool = (
            {"pool_size": 1, "max_overflow": 0, "pool_timeout": None}
            if writer
            else {"pool_reset_on_return": None}
        )
    engine = create_async_engine(
        url,
        echo=echo,
        json_serializer=dumps_json,
        json_deserializer=loads_json,
        async_creator=connect,
        **pool,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def configure_connection(dbapi_connection: Any, connection_record: Any) -> None:
        driver: sqlite_connection.OneStepConnection = dbapi_connection.driver_connection
        if driver.configured is not None:  # kept open by a park: configured already
            connection_record.info.update(driver.configured)
            return

        # Every setting in one step on the connection's thread: through the driver, each would
        # be a round trip (about 50 with the plugin SQL functions).
        def configure(connection: sqlite3.Connection) -> None:
            # Let us issue BEGIN ourselves (see "begin" below), not the driver's implicit one.
            connection.isolation_level = None
            # Wait for other connections' writers instead of failing at once (first, so that
            # the journal mode waits too while another connection opens the WAL). The writer
            # waits on the event loop instead (db/sqlite_connection.py), so SQLite must not
            # block there.
            connection.execute(f"PRAGMA busy_timeout={0 if writer else SQLITE_BUSY_TIMEOUT_MS}")
            if read_only:
                # A viewer: the connection refuses every change to the file, and the file's
                # journal mode and page size are left as its writers set them.
                connection.execute("PRAGMA query_only=ON")
            else:
                _configure_writable_file(connection)
            # Off by default in SQLite; without it no foreign key, cascade or SET NULL works.
            connection.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            # Safe with WAL (a crash may lose the last commits, never corrupts) and much faster;
            # a throwaway database skips even the syncs WAL makes (its first commit's among them).
            connection.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
            # LIKE compares case-sensitively on PostgreSQL; make SQLite agree.
            connection.execute("PRAGMA case_sensitive_like=ON")
            # PostgreSQL-compatible functions and the guard that rewritten plugin SQL runs under.
            install_sqlite_support(connection, connection_record.info)

        await_only(driver.setup(configure))
        driver.configured = dict(connection_record.info)

    @event.listens_for(engine.sync_engine, "begin")
    def begin_transaction(connection: sa.Connection) -> None:
        statement = connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN")
        driver = connection.connection.driver_connection
        if isinstance(driver, sqlite_connection.OneStepConnection) and not driver.on_loop:
            driver.defer_begin(statement)  # a reader: BEGIN travels with the first statement
        else:
            connection.exec_driver_sql(statement)

    return engine


def _configure_writable_file(connection: sqlite3.Connection) -> None:
    """The file-level settings of a database the sandbox writes."""
    # Takes effect only in a new, empty file. A write touches one page of every index it
    # updates (about 30 for issues.create) and commit copies each whole page into the WAL:
    # 2 KiB pages halve those bytes (+12% issues.create/s, reads measured unchanged).
    connection.execute("PRAGMA page_size=2048")
    # WAL: readers never block the writer, and the writer never blocks readers.
    connection.execute("PRAGMA journal_mode=WAL")


def _create_postgres_engine(
    url: URL,
    *,
    echo: bool,
    custom_plans: bool,
    read_only: bool = False,
    durable: bool = True,
    pool: dict[str, Any] | None = None,
) -> AsyncEngine:
    """A pool of asyncpg connections; ``custom_plans`` for the readers' pool.

    asyncpg prepares every statement, and after five runs PostgreSQL may switch to a generic plan
    that ignores the parameters. For the readers' variable-sized queries that can go badly wrong:
    a generic plan chosen while subtrees were small walked a 2,000-issue subtree in 84 ms instead
    of 4 ms. So readers plan every execution for its own parameters; writes (key lookups and
    inserts) keep the cached plans, which makes them about 15% faster.
    """
    settings = {"plan_cache_mode": "force_custom_plan"} if custom_plans else {}
    if read_only:
        settings["default_transaction_read_only"] = "on"
    if not durable:
        settings["synchronous_commit"] = "off"
    return create_async_engine(
        url,
        echo=echo,
        json_serializer=dumps_json,
        json_deserializer=loads_json,
        # PostgreSQL's default, pinned: row locks plus READ COMMITTED are what the services assume.
        isolation_level="READ COMMITTED",
        # No pre-ping: asyncpg's costs two round trips (BEGIN; ROLLBACK) per checkout, a third of
        # a short write. A connection found dead is discarded by SQLAlchemy on its first error,
        # and an hourly recycle keeps long-lived pools fresh.
        pool_recycle=3600,
        connect_args={"server_settings": settings},
        **(pool or {}),
    )


__all__ = [
    "DEFAULT_SQLITE_PATH",
    "ConnectionsBusy",
    "Database",
    "DatabaseError",
    "PluginConnections",
    "create_db",
    "resolve_url",
]
