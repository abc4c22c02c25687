"""Migrated template databases, and fresh databases cloned from them.

Migrating an empty database through the whole chain takes a while; copying a migrated one is
fast. The test suite and ``sandbox.harness`` therefore migrate one template per backend and clone
it for every database they hand out: SQLite copies the template file, PostgreSQL creates the
database ``TEMPLATE`` the migrated one. The PostgreSQL server is the one named by
``SANDBOX_TEST_POSTGRES_URL``, or a throwaway embedded server. ``TemplateClones`` hands out such
copies one after another with as little as possible on the critical path (see there).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from db import migrate
from db.embedded_postgres import (
    EmbeddedPostgres,
    drop_database,
    ensure_database,
    rename_databases,
)
from db.engine import Database, create_db

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


#: PostgreSQL copies kept made ahead: one in use, the others ready or being made again (a copy
#: is made again while the next two tests run: making one can take longer than a test).
PREPARED_COPIES = 3


@dataclass(eq=False)
class _Slot:
    """Where copies of the template go, one at a time, and the ``Database`` opened on them."""

    db: Database
    target: Path | str  # the SQLite file, or the PostgreSQL database's name
    #: PostgreSQL: the copy being made again in the background.
    ready: concurrent.futures.Future[None] | None = None
    #: A connection was opened on the copy handed out now.
    touched: bool = False

    def __post_init__(self) -> None:
        for engine in {self.db.engine, self.db.writer_engine}:
            event.listen(engine.sync_engine, "connect", self._touch)

    def _touch(self, *_: object) -> None:
        self.touched = True


@dataclass(eq=False)
class DerivedTemplate:
    """A template made from the migrated one by ``TemplateClones.derive``."""

    target: Path | str  # the SQLite file, or the PostgreSQL database's name
    #: PostgreSQL: copies made ahead (their names), each with the future of its making.
    copies: deque[tuple[str, concurrent.futures.Future[None]]] = field(default_factory=deque)


class _BackgroundLoop:
    """An event loop in a thread of its own, for work no test's loop should wait for."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="template-clones", daemon=True
        )
        self._thread.start()

    def submit(self, work: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class TemplateClones:
    """Fresh copies of a migrated template, one per ``database()``, handed out fast.

    Every ``database()`` is a new copy of the template (SQLite: the file copied; PostgreSQL: a
    database created ``TEMPLATE`` it) reached through new connections. Two things are kept
    between copies, neither of them data:

    - the ``Database`` object of a slot: its engines keep their caches of SQL compiled from
      SQLAlchemy statements (a function of the statement and the dialect alone), so a test does
      not compile every statement of the host again;
    - PostgreSQL: ``PREPARED_COPIES`` databases made ahead. The copy a test used is dropped and
      made again from the template in the background (a thread with its own loop) while the
      next test runs on another, so neither the copy nor the drop is on a test's path.

    Copies in use at the same time get slots of their own.

    ``derive`` makes further templates from the migrated one (the migrated one changed by a
    function, once); ``replace`` turns a copy nobody has connected to yet into a copy of such a
    template (SQLite: the file copied over it; PostgreSQL: a copy made ahead renamed into its
    place), so a test's first step can start from a state prepared once per session.

    Args:
        directory: where SQLite files go (the template and the copies).
        server: the PostgreSQL server's URL; None for SQLite.
    """

    def __init__(self, directory: Path, server: URL | None = None) -> None:
        self.directory = directory
        self.server = server
        self._template: Path | str | None = None
        self._idle: deque[_Slot] = deque()
        self._slots: list[_Slot] = []
        self._background: _BackgroundLoop | None = None
        self._derived: list[DerivedTemplate] = []
        self._by_db: dict[Database, _Slot] = {}
        self._dropping: list[concurrent.futures.Future[None]] = []

    async def start(self) -> None:
        """Migrate the template (PostgreSQL: and make the first copies)."""
        if self.server is None:
            self._template = await build_sqlite_template(self.directory / "template.db")
            return
        self._template = f"sandbox_plugin_template_{uuid.uuid4().hex[:8]}"
        await build_postgres_template(self.server, self._template)
        self._background = _BackgroundLoop()
        for _ in range(PREPARED_COPIES):
            self._idle.append(await self._new_slot())

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        """A new copy of the template; it is gone (or being made again) afterwards."""
        assert self._template is not None, "start() first"
        slot = self._idle.popleft() if self._idle else await self._new_slot()
        try:
            if slot.ready is not None:
                await asyncio.wrap_future(slot.ready)
            elif isinstance(slot.target, Path):
                clone_sqlite(Path(self._template), slot.target)
        except BaseException:
            self._slots.remove(slot)  # a failed copy is not handed out again
            raise
        slot.touched = False
        self._by_db[slot.db] = slot
        try:
            yield slot.db
        finally:
            del self._by_db[slot.db]
            await slot.db.dispose()
            if isinstance(slot.target, Path):
                remove_sqlite(slot.target)
            else:
                assert self.server is not None and self._background is not None
                slot.ready = self._background.submit(
                    clone_postgres(self.server, str(self._template), slot.target, replace=True)
                )
            self._idle.append(slot)

    async def derive(self, change: Callable[[Database], Awaitable[None]]) -> DerivedTemplate:
        """A new template: a copy of the migrated one, changed by ``change`` (PostgreSQL: and
        its first copies, made in the background).

        Raises:
            Whatever ``change`` raises (nothing is kept then).
        """
        assert self._template is not None, "start() first"
        target: Path | str
        if self.server is None:
            target = clone_sqlite(
                Path(self._template), self.directory / f"derived-{uuid.uuid4().hex[:12]}.db"
            )
            url: Path | URL = target
        else:
            target = f"sandbox_plugin_derived_{uuid.uuid4().hex[:12]}"
            url = await clone_postgres(self.server, str(self._template), target)
        db = create_db(url)
        try:
            await change(db)
        except BaseException:
            await db.dispose()
            await self._drop(target)
            raise
        await db.dispose()  # SQLite: the last connection closed puts the WAL into the file
        derived = DerivedTemplate(target)
        self._derived.append(derived)
        if self.server is not None:
            for _ in range(PREPARED_COPIES):
                self._copy_ahead(derived)
        return derived

    def untouched(self, db: Database) -> bool:
        """Whether ``db`` is a copy handed out by ``database()`` that nobody connected to yet."""
        slot = self._by_db.get(db)
        return slot is not None and not slot.touched

    async def replace(self, db: Database, template: DerivedTemplate) -> None:
        """Make the untouched copy ``db`` a copy of ``template`` instead (same ``Database``)."""
        slot = self._by_db[db]
        assert not slot.touched, "a copy in use cannot be replaced"
        slot.touched = True  # from now on it is in use, even before a connection opens
        if isinstance(slot.target, Path):
            clone_sqlite(Path(template.target), slot.target)
            return
        assert self.server is not None and self._background is not None
        if not template.copies:
            self._copy_ahead(template)
        name, ready = template.copies.popleft()
        self._copy_ahead(template)
        await asyncio.wrap_future(ready)
        # Renaming is a catalog change: the unused copy of the migrated template moves aside
        # (dropped in the background), the copy of ``template`` takes its name.
        aside = f"sandbox_plugin_aside_{uuid.uuid4().hex[:12]}"
        await rename_databases(self.server, (slot.target, aside), (name, slot.target))
        self._dropping.append(self._background.submit(drop_database(self.server, aside)))

    async def close(self) -> None:
        """Drop every copy and the templates (the server is the caller's)."""
        for dropping in self._dropping:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(dropping)
        for derived in self._derived:
            for name, ready in derived.copies:
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(ready)
                await self._drop(name)
            await self._drop(derived.target)
        for slot in self._slots:
            if slot.ready is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(slot.ready)
            await slot.db.dispose()
            if self.server is not None:
                await drop_database(self.server, str(slot.target))
        if self._background is not None:
            self._background.stop()
        if self.server is not None and self._template is not None:
            await drop_database(self.server, str(self._template))

    def _copy_ahead(self, template: DerivedTemplate) -> None:
        assert self.server is not None and self._background is not None
        name = f"sandbox_plugin_test_{uuid.uuid4().hex[:12]}"
        work = clone_postgres(self.server, str(template.target), name)
        template.copies.append((name, self._background.submit(_done(work))))

    async def _drop(self, target: Path | str) -> None:
        if isinstance(target, Path):
            remove_sqlite(target)
        else:
            assert self.server is not None
            await drop_database(self.server, target)

    async def _new_slot(self) -> _Slot:
        if self.server is None:
            path = self.directory / f"test-{uuid.uuid4().hex[:12]}.db"
            slot = _Slot(create_db(path, durable=False), path)
        else:
            name = f"sandbox_plugin_test_{uuid.uuid4().hex[:12]}"
            url = await clone_postgres(self.server, str(self._template), name)
            slot = _Slot(create_db(url, durable=False), name)
        self._slots.append(slot)
        return slot


async def _done(work: Coroutine[Any, Any, object]) -> None:
    await work
