"""SQLite copies kept open between tests (db/warm_copies.py, through db.templates.TemplateClones):
the next database is the same file with the template's rows back and its connections still
open, unless keeping it could leave a trace."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db import Database, tables
from db.plugin_sql.guard import Guard
from db.sqlite_connection import OneStepConnection
from db.templates import TemplateClones
from db.warm_copies import IDLE_COPIES, WarmCopies, WarmCopy
from tests.fixtures.rows import add_company


@pytest.fixture
async def clones(tmp_path: Path) -> AsyncIterator[TemplateClones]:
    started = TemplateClones(tmp_path)
    await started.start()
    try:
        yield started
    finally:
        await started.close()


async def _reader(db: Database) -> OneStepConnection:
    """The driver connection a read of ``db`` runs on."""
    async with db.read() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, OneStepConnection)
        return driver


def _file(db: Database) -> Path:
    assert db.url.database is not None
    return Path(db.url.database).resolve()


def _copies(directory: Path) -> list[Path]:
    return sorted(directory.glob("copy-*.db"))


async def _names(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.execute(sa.select(tables.companies.c.name))).scalars())


async def test_the_next_database_is_the_same_file_and_connection_with_the_rows_put_back(
    clones: TemplateClones,
) -> None:
    async with clones.database() as db:
        await add_company(db, name="First")
        first_file, first_reader = _file(db), await _reader(db)
    await clones.settle()  # its rows are put back in the background
    async with clones.database() as db:
        assert (_file(db), await _reader(db)) == (first_file, first_reader)
        assert await _names(db) == []


async def test_a_kept_connection_keeps_its_compiled_statements(
    clones: TemplateClones, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLAlchemy registers its SQL functions on every connection it is handed; on a kept
    connection that is skipped, since each registration makes SQLite drop the compiled
    statements (compiling calls the guard's authorizer: counted here)."""
    authorized: list[int] = []
    authorize = Guard.authorize

    def counted(self: Guard, action: int, *args: Any) -> int:
        authorized.append(action)
        return authorize(self, action, *args)

    monkeypatch.setattr(Guard, "authorize", counted)
    compiled = []
    for name in ("First", "Second"):
        async with clones.database() as db:
            authorized.clear()
            await add_company(db, name=name)
            compiled.append(sqlite3.SQLITE_INSERT in authorized)
        await clones.settle()
    assert compiled == [True, False]


async def test_connecting_ahead_leaves_kept_connections_where_they_are(
    clones: TemplateClones,
) -> None:
    """``connect_ahead`` opens nothing on a copy whose connections wait in the park: they
    are open already, and are taken when the first statements need them."""
    async with clones.database() as db:
        await add_company(db, name="First")
        reader = await _reader(db)
    await clones.settle()
    async with clones.database() as db:
        pooled = db.engine.sync_engine.pool
        await db.connect_ahead()
        assert pooled.checkedin() == 0  # type: ignore[attr-defined]
        assert await _reader(db) is reader


async def test_a_derived_template_gets_its_own_rows_back(clones: TemplateClones) -> None:
    async def install(db: Database) -> None:
        await add_company(db, name="Installed")

    derived = await clones.derive(install)
    for number in range(3):
        async with clones.database() as db:
            await clones.replace(db, derived)
            assert await _names(db) == ["Installed"]
            async with db.transaction() as session:
                await session.execute(sa.delete(tables.companies))
            await add_company(db, name=f"Test {number}")


async def test_a_copy_whose_schema_changed_is_deleted(clones: TemplateClones) -> None:
    async with clones.database() as db:
        async with db.transaction() as session:
            await session.execute(sa.text("CREATE TABLE left_behind (id INTEGER)"))
        changed = _file(db)
    await clones.settle()
    assert not changed.exists()
    async with clones.database() as db:
        assert _file(db) != changed
        async with db.read() as session:
            found = await session.execute(
                sa.text("SELECT count(*) FROM sqlite_schema WHERE name = 'left_behind'")
            )
            assert found.scalar_one() == 0


async def test_a_copy_with_a_connection_still_in_use_is_deleted(clones: TemplateClones) -> None:
    async with clones.database() as db:
        leaked = await db.engine.connect()
        await leaked.execute(sa.text("SELECT 1"))
        in_use = _file(db)
    assert not in_use.exists()
    await leaked.close()  # closed for good: its file is gone from the park
    async with clones.database() as db:
        assert _file(db) != in_use
        assert await _names(db) == []


async def test_at_most_a_few_copies_wait(clones: TemplateClones, tmp_path: Path) -> None:
    derived = [
        await clones.derive(functools.partial(_add, f"Template {number}"))
        for number in range(IDLE_COPIES + 2)
    ]
    for template in derived:
        async with clones.database() as db:
            await clones.replace(db, template)
            await _reader(db)
    await clones.settle()
    assert len(_copies(tmp_path)) == IDLE_COPIES


async def _files_of_two_databases(clones: TemplateClones, trigger: str) -> list[Path]:
    """The files of two databases handed out in turn as copies of a template with
    ``trigger``; each starts empty and gets a company."""

    async def add_trigger(db: Database) -> None:
        async with db.transaction() as session:
            await session.execute(sa.text(trigger))

    derived = await clones.derive(add_trigger)
    files = []
    for _ in range(2):
        async with clones.database() as db:
            await clones.replace(db, derived)
            assert await _names(db) == []
            await add_company(db, name="Seen")
            files.append(_file(db))
        await clones.settle()
    return files


async def test_a_template_with_a_trigger_is_copied_for_every_database(
    clones: TemplateClones,
) -> None:
    first, second = await _files_of_two_databases(
        clones,
        "CREATE TRIGGER renamed AFTER INSERT ON companies BEGIN "
        "UPDATE companies SET description = 'seen' WHERE id = NEW.id; END",
    )
    assert first != second
    assert not first.exists()


async def test_a_template_whose_triggers_fire_on_update_only_is_reused(
    clones: TemplateClones,
) -> None:
    """The schema's own ``issues.status_version`` trigger is one: refilling never fires it."""
    first, second = await _files_of_two_databases(
        clones,
        "CREATE TRIGGER touched AFTER UPDATE OF name ON companies BEGIN "
        "UPDATE companies SET description = 'updated' WHERE id = NEW.id; END",
    )
    assert first == second


async def test_closing_deletes_every_copy(tmp_path: Path) -> None:
    clones = TemplateClones(tmp_path)
    await clones.start()
    async with clones.database() as db:
        await add_company(db, name="First")
    assert _copies(tmp_path)
    await clones.close()
    assert _copies(tmp_path) == []
    assert list(tmp_path.glob("test-*.db")) == []


async def _add(name: str, db: Database) -> None:
    await add_company(db, name=name)


async def _used_and_taken_again(copies: WarmCopies, template: Path, *writes: str) -> WarmCopy:
    """Take a copy of ``template``, run ``writes`` on it, give it back, and take the same copy
    again once its rows are back."""
    copy = copies.take(template)
    with sqlite3.connect(copy.path) as used:
        for write in writes:
            used.execute(write)
    used.close()
    await copies.give_back(copy, reusable=True)
    await copies.settle()
    again = copies.take(template)
    assert again is copy
    return again


async def test_the_template_rows_come_back_exactly(tmp_path: Path) -> None:
    """Values of every SQLite type, and a table emptied by the test, are as they were."""
    template = tmp_path / "template.db"
    with sqlite3.connect(template) as connection:
        connection.execute("CREATE TABLE kept (n INTEGER, r REAL, t TEXT, b BLOB, z)")
        connection.execute("INSERT INTO kept VALUES (1, 1.5, 'x', x'00ff', NULL)")
        connection.execute("CREATE TABLE counted (id INTEGER PRIMARY KEY AUTOINCREMENT)")
        connection.execute("INSERT INTO counted DEFAULT VALUES")
    connection.close()
    copies = WarmCopies(tmp_path)
    again = await _used_and_taken_again(
        copies, template, "DELETE FROM kept", "INSERT INTO counted DEFAULT VALUES"
    )
    with sqlite3.connect(again.path) as check:
        assert check.execute("SELECT * FROM kept").fetchall() == [(1, 1.5, "x", b"\x00\xff", None)]
        assert check.execute("SELECT id FROM counted").fetchall() == [(1,)]
        assert check.execute("SELECT seq FROM sqlite_sequence").fetchall() == [(1,)]
    check.close()
    await copies.close()


async def test_only_tables_with_rows_are_emptied_however_many_there_are(tmp_path: Path) -> None:
    """The tables that have rows are found in statements of a few hundred tables each; a row
    in the last table of the last statement is found too."""
    template = tmp_path / "template.db"
    names = [f"t{number:03}" for number in range(600)]
    with sqlite3.connect(template) as connection:
        for name in names:
            connection.execute(f"CREATE TABLE {name} (n INTEGER)")
    connection.close()
    copies = WarmCopies(tmp_path)
    writes = [f"INSERT INTO {name} VALUES (1)" for name in (names[-1], names[0])]
    again = await _used_and_taken_again(copies, template, *writes)
    with sqlite3.connect(again.path) as check:
        counts = [check.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in names]
    check.close()
    assert sum(counts) == 0
    await copies.close()


def test_a_copy_given_back_as_its_loop_ends_is_restored_for_the_next_loop(tmp_path: Path) -> None:
    """pytest closes each test's event loop right after the fixture gives the copy back; the
    restore must not depend on that loop."""
    template = tmp_path / "template.db"
    with sqlite3.connect(template) as connection:
        connection.execute("CREATE TABLE kept (n INTEGER)")
    connection.close()
    copies = WarmCopies(tmp_path)

    async def first_test() -> WarmCopy:
        copy = copies.take(template)
        with sqlite3.connect(copy.path) as used:
            used.execute("INSERT INTO kept VALUES (1)")
        used.close()
        await copies.give_back(copy, reusable=True)
        return copy

    async def second_test() -> tuple[WarmCopy, int]:
        await copies.settle()
        again = copies.take(template)
        with sqlite3.connect(again.path) as check:
            (count,) = check.execute("SELECT count(*) FROM kept").fetchone()
        check.close()
        await copies.close()
        return again, count

    given = asyncio.run(first_test())
    assert asyncio.run(second_test()) == (given, 0)
