"""SQLite copies of a template that stay open between the databases handed out.

Opening a connection to a SQLite file costs milliseconds: SQLite reads and parses the whole
schema (about 180 tables and indexes: 3 ms per connection, and a plugin test opens four). So
when a test is done with its copy of a template, the copy is not deleted: its connections stay
open in a ``ConnectionPark`` and its rows are put back to the template's, in one transaction
on a thread of its own while the next test runs on another copy (every table that has rows now
or in the template emptied, the template's rows inserted again). A later database handed out
as a copy of that template is this one, its connections already open.

A copy is deleted instead when that could leave a trace: its schema changed (a migration ran
on it), a connection to it is still in use, or the template has virtual tables or triggers that
fire on INSERT or DELETE (emptying and refilling tables would run or miss something; a trigger
on UPDATE, such as the one counting ``issues.status_version``, fires on neither). At most
``IDLE_COPIES`` copies wait at a time; the oldest goes first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import shutil
import sqlite3
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.sqlite_connection import ConnectionPark

logger = logging.getLogger(__name__)

#: Copies kept open while no database is handed out of them (four connections each).
IDLE_COPIES = 4

#: What SQLite keeps beside a database file while it is open in WAL mode.
_SQLITE_SIDE_FILES = ("-wal", "-shm")


#: SQLite's table of AUTOINCREMENT counters.
_SEQUENCES = "sqlite_sequence"


def remove_sqlite(path: Path) -> None:
    """Delete a closed SQLite database with its WAL and shared-memory files, if present."""
    for suffix in ("", *_SQLITE_SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Tables named in one statement of ``_Rows.probes`` (SQLite allows 500 terms in a compound
#: SELECT).
_PROBED_PER_STATEMENT = 250


@dataclass(frozen=True)
class _Rows:
    """A template's rows, as a copy gets them back."""

    schema_version: int
    #: Statements naming the tables that have rows now.
    probes: tuple[str, ...]
    #: ``DELETE FROM`` by table.
    deletes: dict[str, str]
    #: The template's rows by table: the table, its ``INSERT`` and the rows, for each table
    #: that has rows (and ``sqlite_sequence``, with or without, last).
    inserts: tuple[tuple[str, str, list[tuple[Any, ...]]], ...]


def _read_rows(template: Path) -> _Rows | None:
    """The rows of every table of the template file; None when putting rows back is not
    enough to make a copy like the template (triggers, virtual tables)."""
    connection = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
    try:
        objects = connection.execute("SELECT type, name, sql FROM sqlite_schema").fetchall()
        if any(_fires_on_refill(kind, sql) or _is_virtual(kind, sql) for kind, _, sql in objects):
            return None
        # sqlite_sequence goes last: inserting the other tables' rows moves its counters.
        tables = sorted(
            (name for kind, name, _ in objects if kind == "table"),
            key=lambda name: (name == _SEQUENCES, name),
        )
        inserts = []
        for table in tables:
            columns = [
                _quoted(column[1])
                for column in connection.execute(f"PRAGMA table_xinfo({_quoted(table)})")
                if column[6] == 0  # generated and hidden columns are not inserted
            ]
            listed = ", ".join(columns)
            rows = connection.execute(f"SELECT {listed} FROM {_quoted(table)}").fetchall()
            if rows or table == _SEQUENCES:
                placeholders = ", ".join("?" * len(columns))
                insert = f"INSERT INTO {_quoted(table)} ({listed}) VALUES ({placeholders})"
                inserts.append((table, insert, rows))
        (version,) = connection.execute("PRAGMA schema_version").fetchone()
    finally:
        connection.close()
    probed = [table for table in tables if table != _SEQUENCES]
    probes = tuple(
        " UNION ALL ".join(
            f"SELECT {_literal(table)} WHERE EXISTS (SELECT 1 FROM {_quoted(table)})"
            for table in probed[start : start + _PROBED_PER_STATEMENT]
        )
        for start in range(0, len(probed), _PROBED_PER_STATEMENT)
    )
    deletes = {table: f"DELETE FROM {_quoted(table)}" for table in tables}
    return _Rows(version, probes, deletes, tuple(inserts))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: The event of a trigger that emptying or refilling a table would fire ("AFTER INSERT ON t").
_REFILL_EVENT = re.compile(r"\b(INSERT|DELETE)\s+ON\b", re.IGNORECASE)


def _fires_on_refill(kind: str, sql: str | None) -> bool:
    if kind != "trigger":
        return False
    header = re.split(r"\bBEGIN\b", sql or "", maxsplit=1, flags=re.IGNORECASE)[0]
    return _REFILL_EVENT.search(header) is not None


def _is_virtual(kind: str, sql: str | None) -> bool:
    return kind == "table" and (sql or "").upper().startswith("CREATE VIRTUAL")


class WarmCopy:
    """One copy of a template: its file, and the connection that puts its rows back."""

    def __init__(self, path: Path, template: Path) -> None:
        self.path = path
        self.template = template
        self._connection: sqlite3.Connection | None = None
        self._data_version = 0

    def restore(self, rows: _Rows) -> bool:
        """Put the template's rows back (nothing to do when no other connection wrote since
        the last time); False when the copy's schema is not the template's any more."""
        connection = self._connection
        if connection is None:
            connection = self._connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=0
            )
            connection.execute("PRAGMA synchronous=OFF")  # a throwaway file
        (data_version,) = connection.execute("PRAGMA data_version").fetchone()
        if data_version == self._data_version:
            return True
        (schema_version,) = connection.execute("PRAGMA schema_version").fetchone()
        if schema_version != rows.schema_version:
            return False
        # Foreign keys are off on this connection: no cascade runs and no order is needed;
        # the end state is the template's, whose keys hold. Only the tables that have rows
        # now or had some in the template are emptied: emptying an empty table still writes
        # its pages, which every other connection to the copy would then read again.
        connection.execute("BEGIN IMMEDIATE")
        try:
            emptied = {table for probe in rows.probes for (table,) in connection.execute(probe)}
            emptied.update(table for table, _, _ in rows.inserts)
            emptied.discard(_SEQUENCES)  # emptied after the other tables are filled
            for table in emptied:
                connection.execute(rows.deletes[table])
            for table, insert, values in rows.inserts:
                if table == _SEQUENCES:
                    connection.execute(rows.deletes[table])
                if values:
                    connection.executemany(insert, values)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        (self._data_version,) = connection.execute("PRAGMA data_version").fetchone()
        return True

    def delete(self) -> None:
        if self._connection is not None:
            self._connection.close()
        remove_sqlite(self.path)


class WarmCopies:
    """Copies of SQLite templates, handed out and taken back; their connections kept open in
    ``park`` (give it to the ``Database`` objects that reach them: ``create_db(park=...)``).

    Args:
        directory: where the copies' files go.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.park = ConnectionPark()
        self._idle: deque[WarmCopy] = deque()
        #: Copies whose rows are being put back, by the restore's future (see ``give_back``).
        self._restoring: dict[concurrent.futures.Future[bool], WarmCopy] = {}
        #: Copies to delete at the next chance to wait (a failed restore, too many idle).
        self._doomed: list[WarmCopy] = []
        self._restorer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="warm-copy-restore"
        )
        self._rows: dict[Path, _Rows | None] = {}

    def take(self, template: Path) -> WarmCopy:
        """A copy of ``template`` nobody uses: a waiting one, or a new one."""
        self._collect()
        for copy in self._idle:
            if copy.template == template:
                self._idle.remove(copy)
                return copy
        path = self.directory / f"copy-{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(template, path)
        if template not in self._rows:
            self._rows[template] = _read_rows(template)
        if self._rows[template] is not None:
            self.park.register(path)
        return WarmCopy(path, template)

    async def give_back(self, copy: WarmCopy, *, reusable: bool) -> None:
        """Take ``copy`` back (its connections closed or kept in the park by now): it waits
        for the next ``take`` of its template with the template's rows, or is deleted when
        not ``reusable`` or its rows cannot be put back.

        The rows are put back on a thread of this object's, in the background (``settle``
        waits for that): the caller's next database is another copy meanwhile, and SQLite
        lets go of the interpreter while it writes, so the two overlap. No event loop is
        involved, so the restore outlives the caller's loop (pytest closes one per test).
        """
        self._collect()
        await self._delete_doomed()
        rows = self._rows[copy.template]
        if not reusable or rows is None:
            await self._delete(copy)
            return
        self._restoring[self._restorer.submit(copy.restore, rows)] = copy

    async def settle(self) -> None:
        """Wait until every copy given back is waiting again (or deleted)."""
        restores = [asyncio.wrap_future(restore) for restore in self._restoring]
        await asyncio.gather(*restores, return_exceptions=True)  # _collect reports failures
        self._collect()
        await self._delete_doomed()

    def give_back_unused(self, copy: WarmCopy) -> None:
        """Take back a copy nobody connected to since ``take``."""
        self._idle.appendleft(copy)

    async def close(self) -> None:
        """Delete every waiting copy (once those given back are restored)."""
        await self.settle()
        while self._idle:
            await self._delete(self._idle.popleft())
        self._restorer.shutdown()

    def _collect(self) -> None:
        """Move each copy whose restore ended to the waiting ones, or to those to delete."""
        for restore, copy in list(self._restoring.items()):
            if not restore.done():
                continue
            del self._restoring[restore]
            error = restore.exception()
            if error is None and restore.result():
                self._idle.append(copy)
                continue
            if error is not None:
                logger.error("deleting %s: its rows could not be put back: %r", copy.path, error)
            self._doomed.append(copy)
        while len(self._idle) > IDLE_COPIES:
            self._doomed.append(self._idle.popleft())

    async def _delete_doomed(self) -> None:
        while self._doomed:
            await self._delete(self._doomed.pop())

    async def _delete(self, copy: WarmCopy) -> None:
        await self.park.release(copy.path)
        copy.delete()
