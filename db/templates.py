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
    DatabaseCatalog,
    EmbeddedPostgres,
    drop_database,
    ensure_database,
)
from db.engine import Database, create_db
from db.throwaway_data import throwaway_data_dir
from db.warm_copies import WarmCopies, WarmCopy, remove_sqlite

#: Reuse a running PostgreSQL server (a libpq or SQLAlchemy URL) instead of starting one.
POSTGRES_URL_ENV = "SANDBOX_TEST_POSTGRES_URL"


def server_url(url: str) -> URL:
    """A PostgreSQL server's URL (libpq or SQLAlchemy form) with the asyncpg driver."""
    return make_url(url).set(drivername="postgresql+asyncpg")


def start_postgres(data_dir: Path) -> tuple[URL, EmbeddedPostgres | None]:
    """The server of ``SANDBOX_TEST_POSTGRES_URL`` when it is set, else a throwaway embedded
    server keeping its data in memory (``db.throwaway_data``), or in ``data_dir`` when memory
    is short; deleted when it stops.

    Returns:
        The server's URL, and the embedded server to stop afterwards (None for a given one).

    Raises:
        DatabaseUnavailable: the embedded server could not start.
    """
    given = os.environ.get(POSTGRES_URL_ENV)
    if given:
        return server_url(given), None
    data_dir = throwaway_data_dir(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    mode = data_dir.parent.stat().st_mode
    if mode & 0o055 != 0o055:  # the server runs as another user when we are root
        data_dir.parent.chmod(mode | 0o755)
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


#: PostgreSQL: copies of each template kept made ahead (or being made). A test takes one and
#: another is started at once; making one can take longer than a test, so a few are ahead.
PREPARED_COPIES = 3
#: PostgreSQL: how many copies are made or dropped at a time. The server makes them faster side
#: by side than one after another (each one waits on the disk and the catalog for a while).
BACKGROUND_CONNECTIONS = 3
#: PostgreSQL: slots made at start. Two take turns: while a test runs on one, the other's last
#: copy is dropped and its next one renamed into place.
FIRST_SLOTS = 2


@dataclass(eq=False)
class _Slot:
    """Where a test's copy goes (one at a time), and the ``Database`` opened on it."""

    db: Database
    #: SQLite: a symbolic link to the copy in use; PostgreSQL: the database's name.
    target: Path | str
    #: SQLite: the copy the link leads to while the slot is handed out.
    copy: WarmCopy | None = None
    #: PostgreSQL: the background work that puts its next copy in place (the last one dropped,
    #: a copy of the migrated template renamed to its name); None: no copy in place.
    ready: concurrent.futures.Future[None] | None = None
    #: A connection was opened on the copy handed out now.
    touched: bool = False

    def __post_init__(self) -> None:
        for engine in {self.db.engine, self.db.writer_engine}:
            event.listen(engine.sync_engine, "connect", self._touch)

    def _touch(self, *_: object) -> None:
        self.touched = True


@dataclass(eq=False)
class Template:
    """A template database: the migrated one, or one ``TemplateClones.derive`` made from it."""

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

    Every ``database()`` has the template's rows and nothing else (SQLite: a copy of the file,
    or one used before whose rows were put back and whose connections stayed open,
    ``db.warm_copies``; PostgreSQL: a database created ``TEMPLATE`` it, reached through new
    connections). Kept between copies, none of it data:

    - the ``Database`` object of a slot: its engines keep their caches of SQL compiled from
      SQLAlchemy statements (a function of the statement and the dialect alone), so a test does
      not compile every statement of the host again. SQLite: the slot's file is a symbolic
      link to the copy it hands out;
    - PostgreSQL: ``PREPARED_COPIES`` databases made ahead per template. A test's copy is one
      of them renamed to its slot's name (a catalog change: no data copied). When a test ends,
      its copy is dropped, the slot's next copy renamed into place and another copy started,
      all in the background (a thread with its own loop and connections kept open) while the
      next test runs on another slot: no copy, drop or rename is on a test's path, unless
      tests run faster than the server makes copies.

    Copies in use at the same time get slots of their own.

    ``derive`` makes further templates from the migrated one (the migrated one changed by a
    function, once); ``replace`` turns a copy nobody has connected to yet into a copy of such a
    template (SQLite: the slot's link pointed at a copy of it; PostgreSQL: a copy made ahead
    renamed into its place), so a test's first step can start from a state prepared once per
    session. The copy of the migrated template it takes the place of goes back, unchanged
    (nobody connected to it), to be handed out by a later ``database()``: a test that starts by
    installing a plugin uses one copy, of its plugin's template.

    Args:
        directory: where SQLite files go (the template and the copies).
        server: the PostgreSQL server's URL; None for SQLite.
    """

    def __init__(self, directory: Path, server: URL | None = None) -> None:
        self.directory = directory
        self.server = server
        self._template: Template | None = None
        self._idle: deque[_Slot] = deque()
        self._slots: list[_Slot] = []
        self._derived: list[Template] = []
        self._by_db: dict[Database, _Slot] = {}
        #: PostgreSQL: the background loop, the catalog it uses, the work submitted not done.
        self._background: _BackgroundLoop | None = None
        self._catalog: DatabaseCatalog | None = None
        self._pending: list[concurrent.futures.Future[None]] = []
        #: SQLite: the copies, open between tests.
        self._warm = WarmCopies(directory)

    async def start(self) -> None:
        """Migrate the template (PostgreSQL: and start making the first copies)."""
        if self.server is None:
            self._template = Template(await build_sqlite_template(self.directory / "template.db"))
            return
        name = f"sandbox_plugin_template_{uuid.uuid4().hex[:8]}"
        await build_postgres_template(self.server, name)
        self._template = Template(name)
        self._background = _BackgroundLoop()
        self._catalog = DatabaseCatalog(self.server, BACKGROUND_CONNECTIONS)
        await self._in_background(self._catalog.open())
        self._top_up(self._template)
        for _ in range(FIRST_SLOTS):
            slot = self._new_slot()
            self._prepare(slot, dropping=False)
            self._idle.append(slot)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        """A new copy of the template; it is gone (or being dropped) afterwards."""
        template = self._template
        assert template is not None, "start() first"
        # A slot whose copy failed is not handed out again (close() drops what its name holds).
        slot = self._idle.popleft() if self._idle else self._new_slot()
        if isinstance(slot.target, Path):
            self._use_copy(slot, Path(template.target))
        elif slot.ready is not None:
            await asyncio.wrap_future(slot.ready)
        else:
            copy = await self._take_copy(template)
            await self._in_background(self._catalog_().rename((copy, slot.target)))
        slot.touched = False
        self._by_db[slot.db] = slot
        try:
            yield slot.db
        finally:
            del self._by_db[slot.db]
            in_use = slot.db.connections_in_use()
            await slot.db.dispose()
            if isinstance(slot.target, Path):
                assert slot.copy is not None
                copy, slot.copy = slot.copy, None
                slot.target.unlink()
                await self._warm.give_back(copy, reusable=in_use == 0)
            else:
                self._prepare(slot, dropping=True)
            self._idle.append(slot)

    async def derive(self, change: Callable[[Database], Awaitable[None]]) -> Template:
        """A new template: a copy of the migrated one, changed by ``change`` (PostgreSQL: and
        its first copies, made in the background).

        Raises:
            Whatever ``change`` raises (nothing is kept then).
        """
        assert self._template is not None, "start() first"
        target: Path | str
        if self.server is None:
            target = clone_sqlite(
                Path(self._template.target), self.directory / f"derived-{uuid.uuid4().hex[:12]}.db"
            )
            url: Path | URL = target
        else:
            target = f"sandbox_plugin_derived_{uuid.uuid4().hex[:12]}"
            await self._in_background(self._catalog_().create(target, str(self._template.target)))
            url = self.server.set(database=target)
        db = create_db(url)
        try:
            await change(db)
        except BaseException:
            await db.dispose()
            await self._drop(target)
            raise
        await db.dispose()  # SQLite: the last connection closed puts the WAL into the file
        derived = Template(target)
        self._derived.append(derived)
        if self.server is not None:
            self._top_up(derived)
        return derived

    def untouched(self, db: Database) -> bool:
        """Whether ``db`` is a copy handed out by ``database()`` that nobody connected to yet."""
        slot = self._by_db.get(db)
        return slot is not None and not slot.touched

    async def replace(self, db: Database, template: Template) -> None:
        """Make the untouched copy ``db`` a copy of ``template`` instead (same ``Database``)."""
        slot = self._by_db[db]
        assert not slot.touched, "a copy in use cannot be replaced"
        assert self._template is not None
        slot.touched = True  # from now on it is in use, even before a connection opens
        if isinstance(slot.target, Path):
            assert slot.copy is not None
            self._warm.give_back_unused(slot.copy)
            self._use_copy(slot, Path(template.target))
            return
        copy = await self._take_copy(template)
        unused = _copy_name()
        await self._in_background(
            self._catalog_().rename((slot.target, unused), (copy, slot.target))
        )
        self._template.copies.appendleft((unused, _ready()))

    async def settle(self) -> None:
        """Wait until the SQLite copies given back have their rows back (``WarmCopies``)."""
        await self._warm.settle()

    async def close(self) -> None:
        """Drop every copy and the templates (the server is the caller's)."""
        for slot in self._slots:
            await slot.db.dispose()
        if self.server is None:
            await self._warm.close()
            for derived in self._derived:
                remove_sqlite(derived.target)
            return
        for work in self._pending:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(work)
        names = [str(slot.target) for slot in self._slots]
        for template in (*self._derived, self._template):
            if template is not None:
                names.extend(name for name, _ in template.copies)
                names.append(str(template.target))
        if self._catalog is not None:
            catalog = self._catalog
            try:
                await self._in_background(_drop_each(catalog, names))
            finally:
                await self._in_background(catalog.close())
        if self._background is not None:
            self._background.stop()

    def _catalog_(self) -> DatabaseCatalog:
        assert self._catalog is not None, "PostgreSQL only, after start()"
        return self._catalog

    def _submit(self, work: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        """Start ``work`` in the background; ``close()`` waits for it."""
        assert self._background is not None
        self._pending = [pending for pending in self._pending if not pending.done()]
        future = self._background.submit(work)
        self._pending.append(future)
        return future

    async def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the background loop (where the catalog's connections live)."""
        assert self._background is not None
        await asyncio.wrap_future(self._background.submit(work))

    def _top_up(self, template: Template) -> None:
        """Start copies of ``template`` until ``PREPARED_COPIES`` are made or being made."""
        while len(template.copies) < PREPARED_COPIES:
            name = _copy_name()
            made = self._submit(self._catalog_().create(name, str(template.target)))
            template.copies.append((name, made))

    async def _take_copy(self, template: Template) -> str:
        """A copy of ``template`` made ahead (waited for when still being made); another one
        is started in its place."""
        if not template.copies:
            self._top_up(template)
        name, made = template.copies.popleft()
        self._top_up(template)
        await asyncio.wrap_future(made)
        return name

    def _prepare(self, slot: _Slot, *, dropping: bool) -> None:
        """Put the slot's next copy in place in the background: drop the copy it held
        (``dropping``), then rename a copy of the migrated template made ahead to its name."""
        assert self._template is not None
        if not self._template.copies:
            self._top_up(self._template)
        copy, made = self._template.copies.popleft()
        self._top_up(self._template)
        slot.ready = self._submit(
            _put_in_place(self._catalog_(), copy, made, slot.target, dropping=dropping)
        )

    async def _drop(self, target: Path | str) -> None:
        if isinstance(target, Path):
            remove_sqlite(target)
        else:
            await self._in_background(self._catalog_().drop(target))

    def _use_copy(self, slot: _Slot, template: Path) -> None:
        """SQLite: point the slot's link at a copy of ``template``."""
        assert isinstance(slot.target, Path)
        slot.copy = self._warm.take(template)
        slot.target.unlink(missing_ok=True)
        slot.target.symlink_to(slot.copy.path)

    def _new_slot(self) -> _Slot:
        if self.server is None:
            path = self.directory / f"test-{uuid.uuid4().hex[:12]}.db"
            slot = _Slot(create_db(path, durable=False, park=self._warm.park), path)
        else:
            name = _copy_name()
            slot = _Slot(create_db(self.server.set(database=name), durable=False), name)
        self._slots.append(slot)
        return slot


def _copy_name() -> str:
    return f"sandbox_plugin_test_{uuid.uuid4().hex[:12]}"


def _ready() -> concurrent.futures.Future[None]:
    """A future already done: a copy that exists."""
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    done.set_result(None)
    return done


async def _put_in_place(
    catalog: DatabaseCatalog,
    copy: str,
    made: concurrent.futures.Future[None],
    target: Path | str,
    *,
    dropping: bool,
) -> None:
    """Drop database ``target`` (``dropping``), wait for ``copy`` to be made, rename it to
    ``target``; on the background loop."""
    if dropping:
        await catalog.drop(str(target))
    await asyncio.wrap_future(made)
    await catalog.rename((copy, str(target)))


async def _drop_each(catalog: DatabaseCatalog, names: list[str]) -> None:
    """Drop every database of ``names`` that exists, whatever fails meanwhile."""
    for name in names:
        with contextlib.suppress(Exception):
            await catalog.drop(name)
