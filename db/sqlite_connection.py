"""aiosqlite connections that run each statement in one step.

aiosqlite runs SQLite on a thread of its own; every awaited call is a round trip between the
event loop and that thread (60 µs or more). SQLAlchemy's adapter makes four per statement (open
a cursor, execute, fetch, close) and one per commit. The connections here run each statement as
ONE step, in one of two places:

- **on the event loop** (the writer): SQLite calls for a short write take microseconds, writes
  are serialised by the database's writer lock anyway, and skipping the thread makes a write
  transaction about five times faster. Lock waits never block the loop: the connection's busy
  timeout is zero and a busy database is retried with ``asyncio.sleep``;
- **in one trip to aiosqlite's thread** (readers): a long read never blocks the loop.

SQLAlchemy receives these connections through ``create_async_engine(async_creator=...)``; every
attribute other than ``cursor``, ``commit``, ``rollback`` and ``close`` passes through to
aiosqlite, so code that drives aiosqlite itself (plugin SQL, with its authorizer and progress
handler) runs on aiosqlite's thread as before.

A ``ConnectionPark`` keeps connections open past their ``close`` for the files registered
with it: opening one costs milliseconds (SQLite reads and parses the whole schema), and the
test databases of ``db.templates`` are opened again and again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: How long the loop-side writer keeps retrying a busy database before giving up, in seconds.
BUSY_RETRY_SECONDS = 30.0
#: Longest pause between two retries.
_MAX_BACKOFF_SECONDS = 0.05


def _run(
    connection: sqlite3.Connection,
    begin: str | None,
    many: bool,
    operation: str,
    parameters: Any,
) -> tuple[Any, list[Any], int, int | None]:
    """Open the transaction if ``begin`` says so, then execute and fetch: (description, rows,
    rowcount, lastrowid)."""
    if begin is not None:
        connection.execute(begin)
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _logging_failure(function: Callable[[sqlite3.Connection], None], connection: Any) -> None:
    """Call ``function(connection)`` on the connection's thread; a failure is logged there."""
    try:
        function(connection)
    except Exception:
        logger.exception("a queued SQLite call failed")


async def _on_loop(call: Callable[[], T]) -> T:
    """Run a SQLite call on the loop; while the database is busy, wait without blocking."""
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    backoff = 0.001
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)


class OneStepCursor:
    """An aiosqlite-shaped cursor whose ``execute`` runs and fetches in one step."""

    arraysize = 1

    def __init__(self, connection: OneStepConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneStepCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def execute(self, operation: str, parameters: Any = None) -> OneStepCursor:
        await self._step(False, operation, parameters)
        return self

    async def executemany(self, operation: str, parameters: Sequence[Any]) -> OneStepCursor:
        await self._step(True, operation, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = size or self.arraysize
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def close(self) -> None:
        self._rows = []

    async def _step(self, many: bool, operation: str, parameters: Any) -> None:
        result = await self._connection.statement(many, operation, parameters)
        self.description, self._rows, self.rowcount, self.lastrowid = result


def _end_transaction(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.rollback()


class OneStepConnection:
    """An aiosqlite connection whose statements, commits and rollbacks take one step each."""

    def __init__(
        self,
        connection: aiosqlite.Connection,
        *,
        on_loop: bool,
        park: tuple[ConnectionPark, str, Hashable] | None = None,
    ) -> None:
        self._real = connection
        #: True for the writer: SQLite is called on the event loop, not on aiosqlite's thread.
        self.on_loop = on_loop
        #: Where ``close`` keeps the connection instead: the park, the file, the settings.
        self._park = park
        #: What the connection's first configuration left in its pool record's ``info`` (a
        #: kept connection is configured already; its next record gets the same).
        self.configured: dict[str, Any] | None = None
        # A reader's BEGIN waits for the transaction's first statement, so the two take one
        # trip to the thread; a transaction that runs nothing never opens.
        self._pending_begin: str | None = None
        #: The SQL functions registered through ``create_function``, by name and arity.
        self._functions: set[tuple[str, int]] = set()

    def defer_begin(self, statement: str) -> None:
        """Open the transaction with ``statement`` (``BEGIN ...``) together with its first
        statement."""
        self._pending_begin = statement

    async def ensure_transaction(self) -> None:
        """Run a deferred BEGIN now (before driving the aiosqlite connection directly)."""
        begin, self._pending_begin = self._pending_begin, None
        if begin is not None:
            await self.run(sqlite3.Connection.execute, begin)

    async def statement(
        self, many: bool, operation: str, parameters: Any
    ) -> tuple[Any, list[Any], int, int | None]:
        """Run one statement (and a deferred BEGIN before it) in one step."""
        begin, self._pending_begin = self._pending_begin, None
        return await self.run(_run, begin, many, operation, parameters)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Call ``function(sqlite3_connection, *args)`` in this connection's place."""
        real = self._real
        if self.on_loop:
            return await _on_loop(lambda: function(real._conn, *args))
        return await real._execute(function, real._conn, *args)

    async def setup(self, function: Callable[[sqlite3.Connection], None]) -> None:
        """Call ``function(sqlite3_connection)`` in one trip to the connection's thread, the
        writer's too: setting up a new connection takes milliseconds (SQLite reads the whole
        schema), too long to block the loop. The writer retries while the database is busy,
        as its statements do."""
        real = self._real
        deadline = time.monotonic() + BUSY_RETRY_SECONDS
        backoff = 0.001
        while True:
            try:
                await real._execute(function, real._conn)
                return
            except sqlite3.OperationalError as error:
                if not self.on_loop or not _is_busy(error) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

    async def create_function(
        self, name: str, arity: int, function: Callable[..., Any], **options: Any
    ) -> None:
        """Register a SQL function, once per name and arity in the connection's life.

        SQLAlchemy registers its ``regexp`` and ``floor`` again each time a kept connection
        is handed out, and every registration makes SQLite drop the connection's prepared
        statements: each statement of the next test would be compiled again.
        """
        if (name, arity) in self._functions:
            return
        await self._real.create_function(name, arity, function, **options)
        self._functions.add((name, arity))

    def cursor(self) -> _CursorOpening:
        return _CursorOpening(OneStepCursor(self))

    async def commit(self) -> None:
        if self._pending_begin is not None:  # nothing ran: there is no transaction to end
            self._pending_begin = None
            return
        await self.run(sqlite3.Connection.commit)

    async def rollback(self) -> None:
        if self._pending_begin is not None:
            self._pending_begin = None
            return
        if self.on_loop:
            await self.run(sqlite3.Connection.rollback)
            return
        # A reader does not wait for its rollback: it is queued on the connection's thread, so
        # it runs before anything the connection's next user sends, and the read returns one
        # thread round trip sooner.
        self._queue(sqlite3.Connection.rollback)

    def _queue(self, function: Callable[[sqlite3.Connection], None]) -> None:
        """Queue ``function(sqlite3_connection)`` on the connection's thread, not waiting for
        it (a failure is logged).

        No future goes with it: the caller's event loop may be closed by the time the thread
        runs it (pytest closes one per test), and aiosqlite's thread dies when it cannot hand
        a result to a closed loop, leaving a kept connection that never answers again.
        """
        real = self._real
        real._tx.put_nowait((None, partial(_logging_failure, function, real._conn)))

    async def close(self) -> None:
        """Close; on a file its park holds, end any transaction and keep it there instead (a
        reader's end is queued on its thread, ahead of whatever its next user sends)."""
        if self._park is not None:
            park, path, settings = self._park
            if park.holds(path):
                self._pending_begin = None
                if self.on_loop:
                    await self.run(_end_transaction)
                else:
                    self._queue(_end_transaction)
                park.keep(path, settings, self)
                return
        await self._real.close()

    async def close_for_good(self) -> None:
        await self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _CursorOpening:
    """``connection.cursor()`` is awaitable and an async context manager, as aiosqlite's."""

    def __init__(self, cursor: OneStepCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Any:
        async def opened() -> OneStepCursor:
            return self._cursor

        return opened().__await__()

    async def __aenter__(self) -> OneStepCursor:
        return self._cursor

    async def __aexit__(self, *exc_info: object) -> None:
        await self._cursor.close()


#: Links followed from a parked file's name before giving the walk to ``os.path.realpath``.
_MAX_LINKS = 8


class ConnectionPark:
    """Connections kept open between uses of the SQLite files registered here.

    A connection to a registered file is kept when it is closed, and handed back by the next
    ``connect`` to that file with the same settings: its schema read and its settings made.
    Files are registered by their real path (a symbolic link to one leads to its park).
    """

    def __init__(self) -> None:
        self._files: dict[str, dict[Hashable, list[OneStepConnection]]] = {}
        self._real_directories: dict[str, str] = {}

    def real_path(self, database: str) -> str:
        """``database``'s real path, following its links; the directories on the way are
        resolved once per park (they are the caller's folders, which do not move while it
        is open), so a connect costs a ``readlink`` or two, not a walk of the whole path."""
        path = os.path.abspath(database)
        for _ in range(_MAX_LINKS):
            directory, name = os.path.split(path)
            real = self._real_directories.get(directory)
            if real is None:
                real = self._real_directories[directory] = os.path.realpath(directory)
            path = os.path.join(real, name)
            try:
                target = os.readlink(path)
            except OSError:  # not a link
                return path
            path = os.path.join(real, target)
        return os.path.realpath(database)

    def register(self, path: str | os.PathLike[str]) -> None:
        """Keep the connections of ``path`` from now on."""
        self._files.setdefault(os.path.realpath(path), {})

    def keeps_any(self, database: str) -> bool:
        """Whether a connection to ``database`` (any name of the file) waits here."""
        return any(self._files.get(self.real_path(database), {}).values())

    def holds(self, path: str) -> bool:
        return path in self._files

    def keep(self, path: str, settings: Hashable, connection: OneStepConnection) -> None:
        self._files[path].setdefault(settings, []).append(connection)

    def take(self, path: str, settings: Hashable) -> OneStepConnection | None:
        """A kept connection to ``path`` (a real path) with ``settings``; None if there is none."""
        kept = self._files.get(path, {}).get(settings)
        return kept.pop() if kept else None

    async def release(self, path: str | os.PathLike[str]) -> None:
        """Close the kept connections of ``path`` and keep none from now on."""
        kept = self._files.pop(os.path.realpath(path), {})
        for connections in kept.values():
            for connection in connections:
                await connection.close_for_good()


async def connect(
    database: str,
    *,
    on_loop: bool,
    park: ConnectionPark | None = None,
    settings: Hashable = (),
    **options: Any,
) -> OneStepConnection:
    """Open an aiosqlite connection on ``database`` and wrap it; with a ``park`` that holds the
    file, a connection kept there with the same ``settings`` (``on_loop`` among them) if any.

    The writer's SQLite connection is also used from the loop's thread, so thread checks are
    off; SQLAlchemy never uses one connection from two places at once.
    """
    parked = None
    if park is not None:
        path = park.real_path(database)
        parked = (park, path, (on_loop, settings))
        kept = park.take(path, (on_loop, settings))
        if kept is not None:
            return kept
    connection = aiosqlite.connect(database, check_same_thread=False, **options)
    # The SQLite thread must not keep the interpreter alive at exit (as SQLAlchemy does).
    connection._thread.daemon = True
    return OneStepConnection(await connection, on_loop=on_loop, park=parked)
