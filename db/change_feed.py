"""The change feed: committed changes to the tables live viewers follow, seen from any process.

A viewer (the TUI) runs in another process than the writers (a host, a CLI command, a test
run). It opens a ``ChangeFeed`` and iterates over batches of ``Change``: the new versions of
rows committed since the feed started, each version once, whoever wrote them.

How each backend notices a commit:

- **PostgreSQL**: triggers (migration 0003) send ``NOTIFY sandbox_changes`` inside the writing
  transaction, so a rollback sends nothing. The payload names the table and the changed ids,
  or only the table when the ids would not fit the 8000-byte limit. The feed listens on a
  connection of its own, outside the pool (a pooled connection is reset with ``UNLISTEN *``),
  and reconnects with backoff when it is lost, then catches up on the gap.
- **SQLite**: ``PRAGMA data_version`` on a connection of its own changes whenever another
  connection commits; it costs microseconds and is polled every ``poll_interval``.

What changed is read with cursors. On SQLite, append-only tables are read by rowid, which is
commit order (one writer at a time). Everything else is read by its time column
(``created_at`` of append-only tables, ``updated_at`` of rows that change) with an overlap:
a timestamp is taken before its transaction commits, so a later commit can carry an earlier
time. The feed remembers the (id, version) pairs it emitted within the overlap window and
drops repeats, so each committed version is emitted once as long as a transaction commits
within ``window`` of its timestamps. A periodic catch-up covers lost notices and writers that
bypass the triggers.

Deleted rows are not reported: viewers of small tables (plugins) re-read them instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db import tables
from db.dialect import Dialect, any_of
from db.engine import Database
from db.errors import DatabaseError, DatabaseUnavailable

if TYPE_CHECKING:
    import asyncpg

logger = logging.getLogger(__name__)

#: The NOTIFY channel of migration 0003's triggers.
CHANNEL = "sandbox_changes"
#: The ``application_name`` of the feed's listening connection (visible in pg_stat_activity).
LISTENER_NAME = "sandbox-change-feed"


@dataclass(frozen=True)
class Followed:
    """A table the feed can follow, and the column its cursor reads."""

    table: sa.Table
    #: ``created_at`` for append-only tables, ``updated_at`` for rows that change.
    version: str
    append_only: bool


#: Every table a viewer can follow (migration 0003 puts its triggers on the same tables).
FOLLOWED: dict[str, Followed] = {
    followed.table.name: followed
    for followed in (
        Followed(tables.activity_log, "created_at", append_only=True),
        Followed(tables.plugin_logs, "created_at", append_only=True),
        Followed(tables.cost_events, "created_at", append_only=True),
        Followed(tables.agent_wakeup_requests, "updated_at", append_only=False),
        Followed(tables.heartbeat_runs, "updated_at", append_only=False),
        Followed(tables.budget_incidents, "updated_at", append_only=False),
        Followed(tables.plugins, "updated_at", append_only=False),
        Followed(tables.plugin_capability_usage, "updated_at", append_only=False),
    )
}

#: Rows read per cursor query; a larger backlog arrives in several batches.
PAGE_ROWS = 2_000
#: Longest wait between two attempts after the database failed.
MAX_BACKOFF_SECONDS = 10.0


@dataclass(frozen=True)
class Change:
    """New versions of rows of one table, in the order they were written."""

    table: str
    rows: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class FeedStatus:
    """How the feed is doing, for a status line."""

    #: False while the database cannot be reached (the feed keeps retrying).
    live: bool = True
    #: The last failure, one line, while it lasts.
    error: str | None = None


@dataclass
class _Cursor:
    """What the feed has emitted of one table."""

    followed: Followed
    #: SQLite append-only tables: the highest rowid read.
    rowid: int = 0
    #: id -> version of the rows emitted (or primed) within the overlap window.
    seen: dict[str, datetime] = field(default_factory=dict)

    def fresh(self, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The rows whose version was not emitted yet, oldest first; records them as seen."""
        version = self.followed.version
        new = []
        for row in rows:
            key = str(row["id"])
            if self.seen.get(key) == row[version]:
                continue
            self.seen[key] = row[version]
            new.append(row)
        new.sort(key=lambda row: (row[version], str(row["id"])))
        return new

    def unseen(self, versions: Iterable[tuple[str, datetime]]) -> list[str]:
        """Of ``(id, version)`` pairs, the ids whose version was not emitted yet."""
        return [key for key, version in versions if self.seen.get(key) != version]

    def seen_since(self, since: datetime) -> int:
        return sum(1 for version in self.seen.values() if version >= since)

    def forget_before(self, horizon: datetime) -> None:
        self.seen = {key: version for key, version in self.seen.items() if version >= horizon}


class ChangeFeed:
    """Follows committed changes to some of the ``FOLLOWED`` tables.

    Use it as an async context manager, then iterate: each iteration waits until something
    changed and returns a non-empty list of ``Change``. Database failures never end the
    iteration: they show in ``status`` while the feed retries with backoff.

    Args:
        db: the database to follow (a read-only ``Database`` is enough).
        followed: names of ``FOLLOWED`` tables (default: all of them).
        poll_interval: SQLite: seconds between two ``PRAGMA data_version`` checks; PostgreSQL:
            the least seconds between two reads of what notices announced.
        catch_up_interval: seconds between two catch-up reads of every table.
        window: how far back cursors by time look (the overlap, see the module docstring).
        fast_window: SQLite: how far back the cursors of changing rows look after a commit
            (the catch-up looks back ``window``).
        clock: the current time (tests move it).
        on_status: called when the feed goes down or comes back (``status.live``/``error``).
    """

    def __init__(
        self,
        db: Database,
        followed: Sequence[str] | None = None,
        *,
        poll_interval: float = 0.05,
        catch_up_interval: float = 5.0,
        window: timedelta = timedelta(seconds=60),
        fast_window: timedelta = timedelta(seconds=2),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_status: Callable[[FeedStatus], None] | None = None,
    ) -> None:
        names = tuple(followed) if followed is not None else tuple(FOLLOWED)
        unknown = sorted(set(names) - set(FOLLOWED))
        if unknown:
            raise ValueError(f"the change feed cannot follow {', '.join(unknown)}")
        self.db = db
        self._status = FeedStatus()
        self._on_status = on_status
        self._cursors = {name: _Cursor(FOLLOWED[name]) for name in names}
        self._poll_interval = poll_interval
        self._catch_up_interval = catch_up_interval
        self._window = window
        self._fast_window = fast_window
        self._clock = clock
        self._next_catch_up = 0.0
        self._failures = 0
        # SQLite
        self._connection: AsyncConnection | None = None
        self._data_version: int | None = None
        #: (device, inode) of the file the connection reads.
        self._file: tuple[int, int] | None = None
        # PostgreSQL
        self._listener: asyncpg.Connection | None = None
        self._notified = asyncio.Event()
        self._pending: dict[str, set[str]] = {}
        self._overflowed: set[str] = set()
        self._last_read = 0.0
        #: Set while the listener is gone: catch up from here once it is back.
        self._gap_since: datetime | None = None

    @property
    def status(self) -> FeedStatus:
        """How the feed is doing now."""
        return self._status

    @status.setter
    def status(self, status: FeedStatus) -> None:
        changed = (status.live, status.error) != (self._status.live, self._status.error)
        self._status = status
        if changed and self._on_status is not None:
            self._on_status(status)

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> ChangeFeed:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start following: what is committed from now on will be emitted.

        Raises:
            DatabaseError: the database cannot be reached now.
        """
        try:
            await self._connect()
            await self._prime()
        except Exception:
            await self.close()
            raise
        self._next_catch_up = time.monotonic() + self._catch_up_interval

    async def close(self) -> None:
        """Stop listening and close the feed's own connection."""
        await self._disconnect()

    # -- iteration -----------------------------------------------------------------------------

    def __aiter__(self) -> ChangeFeed:
        return self

    async def __anext__(self) -> list[Change]:
        while True:
            try:
                changes = await self._next_changes()
            except Exception as error:
                if not _is_database_failure(error):
                    raise
                await self._failed(error)
                continue
            self._recovered()
            if changes:
                return changes

    async def _next_changes(self) -> list[Change]:
        """Wait for the next sign of a commit (or the catch-up time), then read the cursors."""
        match self.db.dialect:
            case Dialect.SQLITE:
                return await self._next_sqlite()
            case Dialect.POSTGRES:
                return await self._next_postgres()
            case _:
                assert_never(self.db.dialect)

    async def _failed(self, error: BaseException) -> None:
        self._failures += 1
        message = " ".join(str(error).split()) or type(error).__name__
        delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (self._failures - 1))
        self.status = replace(self.status, live=False, error=f"{message} (retrying in {delay:g}s)")
        logger.debug("change feed failed: %s", message)
        if self._gap_since is None:
            self._gap_since = self._clock()
        await self._disconnect()
        await asyncio.sleep(delay)

    def _recovered(self) -> None:
        self._failures = 0
        if not self.status.live:
            self.status = replace(self.status, live=True, error=None)

    def _catch_up_due(self) -> bool:
        if time.monotonic() < self._next_catch_up:
            return False
        self._next_catch_up = time.monotonic() + self._catch_up_interval
        return True

    # -- SQLite --------------------------------------------------------------------------------

    async def _next_sqlite(self) -> list[Change]:
        if self._connection is None:
            known = self._file
            await self._connect()
            if self._file != known:  # another database now sits at the path: start afresh
                self._gap_since = None
                await self._prime()
                return []
            return await self._read_sqlite(since=self._gap_start())
        while True:
            await asyncio.sleep(self._poll_interval)
            self._check_file()
            catch_up = self._catch_up_due()
            version = await self._sqlite_data_version()
            changed = version != self._data_version
            self._data_version = version
            if changed or catch_up:
                window = self._window if catch_up else self._fast_window
                return await self._read_sqlite(since=self._clock() - window)

    def _sqlite_path(self) -> Path:
        assert self.db.url.database is not None
        return Path(self.db.url.database).expanduser().resolve()

    def _file_identity(self) -> tuple[int, int]:
        path = self._sqlite_path()
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise DatabaseUnavailable(f"the SQLite file {path} is gone") from None
        return stat.st_dev, stat.st_ino

    def _check_file(self) -> None:
        """An open connection keeps reading a file that was deleted or replaced: notice it."""
        if self._file_identity() != self._file:
            raise DatabaseUnavailable(f"the SQLite file {self._sqlite_path()} was replaced")

    async def _sqlite_data_version(self) -> int:
        assert self._connection is not None
        raw = await self._connection.get_raw_connection()
        driver = raw.driver_connection
        return await driver.run(
            lambda connection: connection.execute("PRAGMA data_version").fetchone()[0]
        )

    async def _read_sqlite(self, since: datetime) -> list[Change]:
        """What changed, on the feed's own connection: two small queries tell which tables
        have news (the highest rowid of each append-only table, and the (id, version) pairs of
        changing rows since ``since``), then only those tables are read."""
        assert self._connection is not None
        connection = self._connection
        changes = []
        try:
            appended = [c for c in self._cursors.values() if c.followed.append_only]
            changing = [c for c in self._cursors.values() if not c.followed.append_only]
            if appended:
                tops = (await connection.execute(_highest_rowids(appended))).one()
                for cursor, top in zip(appended, tops, strict=True):
                    if top is not None and top > cursor.rowid:
                        rows = await self._rows_after_rowid(cursor)
                        if rows:
                            changes.append(Change(cursor.followed.table.name, tuple(rows)))
            if changing:
                pairs = (await connection.execute(_versions_since(changing, since))).all()
                by_table: dict[str, list[tuple[str, datetime]]] = {}
                for table, key, version in pairs:
                    by_table.setdefault(table, []).append((key, version))
                for cursor in changing:
                    name = cursor.followed.table.name
                    wanted = cursor.unseen(by_table.get(name, ()))
                    if wanted:
                        rows = cursor.fresh(await self._rows_by_id(connection, cursor, wanted))
                        if rows:
                            changes.append(Change(name, tuple(rows)))
        finally:
            await connection.rollback()
        self._forget_old()
        return changes

    async def _rows_after_rowid(self, cursor: _Cursor) -> list[Mapping[str, Any]]:
        assert self._connection is not None
        table = cursor.followed.table
        rowid = sa.literal_column("rowid")
        rows: list[Mapping[str, Any]] = []
        while True:
            query = (
                sa.select(rowid.label("_rowid"), table)
                .where(rowid > cursor.rowid)
                .order_by(rowid)
                .limit(PAGE_ROWS)
            )
            page = (await self._connection.execute(query)).mappings().all()
            for row in page:
                cursor.rowid = row["_rowid"]
                rows.append({key: value for key, value in row.items() if key != "_rowid"})
            if len(page) < PAGE_ROWS:
                return rows

    # -- PostgreSQL ----------------------------------------------------------------------------

    async def _next_postgres(self) -> list[Change]:
        if self._listener is None or self._listener.is_closed():
            await self._connect()
            return await self._catch_up_postgres(since=self._gap_start(), exhaustive=True)
        while True:
            if not self._pending and not self._overflowed:
                timeout = max(0.0, self._next_catch_up - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._notified.wait(), timeout)
            # Notices come one per writing statement: read at most every poll_interval, so
            # that a busy writer's notices are read together instead of one query each.
            await asyncio.sleep(max(0.0, self._last_read + self._poll_interval - time.monotonic()))
            self._notified.clear()
            if self._listener is None or self._listener.is_closed():
                raise DatabaseError("the change feed's listening connection was closed")
            self._last_read = time.monotonic()
            if self._catch_up_due():
                await self._listener.execute("SELECT 1")  # the listener is alive
                self._overflowed.update(self._cursors)
            changes = await self._read_notified()
            if changes:
                return changes

    def _on_notice(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        table, _, ids = payload.partition(":")
        if table not in self._cursors:
            return
        if ids:
            self._pending.setdefault(table, set()).update(ids.split(","))
        else:
            self._overflowed.add(table)
        self._notified.set()

    def _on_listener_lost(self, connection: Any) -> None:
        self._notified.set()  # wakes the iteration, which sees the closed connection

    async def _read_notified(self) -> list[Change]:
        pending, self._pending = self._pending, {}
        overflowed, self._overflowed = self._overflowed, set()
        since = self._clock() - self._window
        changes = []
        async with self.db.read() as session:
            connection = await session.connection()
            for name, cursor in self._cursors.items():
                if name in overflowed:
                    rows = await self._rows_since(connection, cursor, since, count_first=True)
                elif name in pending:
                    rows = cursor.fresh(await self._rows_by_id(connection, cursor, pending[name]))
                else:
                    continue
                if rows:
                    changes.append(Change(name, tuple(rows)))
        self._forget_old()
        return changes

    async def _catch_up_postgres(self, since: datetime, *, exhaustive: bool) -> list[Change]:
        changes = []
        async with self.db.read() as session:
            connection = await session.connection()
            for name, cursor in self._cursors.items():
                rows = await self._rows_since(connection, cursor, since, count_first=not exhaustive)
                if rows:
                    changes.append(Change(name, tuple(rows)))
        self._forget_old()
        return changes

    # -- shared reads --------------------------------------------------------------------------

    async def _rows_since(
        self,
        connection: AsyncConnection,
        cursor: _Cursor,
        since: datetime,
        *,
        count_first: bool = False,
    ) -> list[Mapping[str, Any]]:
        """Rows of the table whose version is at least ``since`` and not yet emitted.

        ``count_first``: for append-only tables, first compare the number of rows since
        ``since`` with the number emitted; when they agree there is nothing to read.
        """
        table = cursor.followed.table
        version = table.c[cursor.followed.version]
        if count_first and cursor.followed.append_only:
            count = await connection.scalar(
                sa.select(sa.func.count()).select_from(table).where(version >= since)
            )
            if count == cursor.seen_since(since):
                return []
        query = sa.select(sa.cast(table.c.id, sa.Text).label("id"), version.label("version"))
        pairs = (await connection.execute(query.where(version >= since))).all()
        wanted = cursor.unseen((row.id, row.version) for row in pairs)
        if not wanted:
            return []
        return cursor.fresh(await self._rows_by_id(connection, cursor, wanted))

    async def _rows_by_id(
        self, connection: AsyncConnection, cursor: _Cursor, ids: Iterable[str]
    ) -> list[Mapping[str, Any]]:
        table = cursor.followed.table
        wanted = sorted(ids)
        rows: list[Mapping[str, Any]] = []
        for start in range(0, len(wanted), PAGE_ROWS):
            chunk = wanted[start : start + PAGE_ROWS]
            query = sa.select(table).where(any_of(self.db.dialect, table.c.id, chunk))
            rows.extend(dict(row) for row in (await connection.execute(query)).mappings())
        return rows

    # -- connecting and priming ----------------------------------------------------------------

    async def _connect(self) -> None:
        match self.db.dialect:
            case Dialect.SQLITE:
                self._file = self._file_identity()
                self._connection = await self.db.engine.connect()
                self._data_version = await self._sqlite_data_version()
            case Dialect.POSTGRES:
                import asyncpg  # loaded with the PostgreSQL backend only

                url = self.db.url.set(drivername="postgresql")
                listener = await asyncpg.connect(
                    url.render_as_string(hide_password=False),
                    server_settings={"application_name": LISTENER_NAME},
                )
                listener.add_termination_listener(self._on_listener_lost)
                await listener.add_listener(CHANNEL, self._on_notice)
                self._listener = listener
            case _:
                assert_never(self.db.dialect)

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # the database is already gone
                logger.debug("closing the change feed's connection failed", exc_info=True)
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            listener.terminate()

    async def _prime(self) -> None:
        """Mark what is committed now as seen: the feed emits only what comes after."""
        since = self._clock() - self._window
        async with self.db.read() as session:
            connection = await session.connection()
            for cursor in self._cursors.values():
                table = cursor.followed.table
                version = table.c[cursor.followed.version]
                if self.db.dialect is Dialect.SQLITE and cursor.followed.append_only:
                    rowid = sa.literal_column("rowid")
                    top = await connection.scalar(sa.select(sa.func.max(rowid)).select_from(table))
                    cursor.rowid = top or 0
                    continue
                query = sa.select(sa.cast(table.c.id, sa.Text), version).where(version >= since)
                cursor.seen = dict((await connection.execute(query)).all())

    def _gap_start(self) -> datetime:
        """Where to catch up from after a reconnect."""
        gap, self._gap_since = self._gap_since, None
        return (gap or self._clock()) - self._window

    def _forget_old(self) -> None:
        # A minute beyond the window: clocks of other hosts may run behind ours.
        horizon = self._clock() - self._window - timedelta(minutes=1)
        for cursor in self._cursors.values():
            if len(cursor.seen) > 1_000:
                cursor.forget_before(horizon)


def _highest_rowids(cursors: list[_Cursor]) -> sa.Select[Any]:
    """SQLite: one row with the highest rowid of each append-only table."""
    rowid = sa.literal_column("rowid")
    return sa.select(
        *(
            sa.select(sa.func.max(rowid)).select_from(cursor.followed.table).scalar_subquery()
            for cursor in cursors
        )
    )


def _versions_since(cursors: list[_Cursor], since: datetime) -> sa.CompoundSelect:
    """``(table, id, version)`` of every row of these tables changed since ``since``."""
    selects = []
    for cursor in cursors:
        table = cursor.followed.table
        version = table.c[cursor.followed.version]
        selects.append(
            sa.select(
                sa.literal(table.name).label("t"),
                sa.cast(table.c.id, sa.Text).label("id"),
                version.label("version"),
            ).where(version >= since)
        )
    return sa.union_all(*selects)


def _is_database_failure(error: Exception) -> bool:
    """Whether ``error`` says the database failed or went away (rather than a bug of ours).

    Reads through SQLAlchemy raise ``DatabaseError`` or SQLAlchemy's errors; the feed's own
    connections raise their drivers' errors directly.
    """
    failures: tuple[type[BaseException], ...] = (
        DatabaseError,
        OSError,
        TimeoutError,
        sa.exc.SQLAlchemyError,
        sqlite3.Error,
    )
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is not None:
        failures += (asyncpg.PostgresError, asyncpg.InterfaceError)
    return isinstance(error, failures)


__all__ = ["CHANNEL", "FOLLOWED", "LISTENER_NAME", "Change", "ChangeFeed", "FeedStatus", "Followed"]
