"""Opening and closing a database's connections: setup in one step, connections opened ahead,
throwaway databases (a test's copy of a template), and what ``dispose`` leaves behind."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from db import Database, Dialect, create_db
from db.templates import clone_sqlite
from tests.fixtures.rows import add_company


async def _setting(engine: AsyncEngine, dialect: Dialect) -> Any:
    """How the engine's connections sync a commit."""
    statement = "PRAGMA synchronous" if dialect == Dialect.SQLITE else "SHOW synchronous_commit"
    async with engine.connect() as connection:
        value = (await connection.exec_driver_sql(statement)).scalar()
        await connection.rollback()
        return value


def _engines(db: Database) -> set[AsyncEngine]:
    plugin = db.plugin_connections(size=2, wait_ms=1000)
    return {db.engine, db.writer_engine, *plugin.engines}


async def test_a_throwaway_database_skips_syncs_on_every_connection(
    db: Database, backend: str
) -> None:
    throwaway = create_db(db.url, durable=False)
    try:
        settings = {await _setting(engine, db.dialect) for engine in _engines(throwaway)}
    finally:
        await throwaway.dispose()
    assert settings == ({0} if backend == "sqlite" else {"off"})
    if backend == "sqlite":  # a kept database syncs as before (PostgreSQL: the server decides)
        assert {await _setting(engine, db.dialect) for engine in _engines(db)} == {1}


async def _driver_connection(session: Any) -> object:
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


async def test_a_throwaway_postgres_database_reads_and_writes_on_one_connection(
    db: Database, backend: str
) -> None:
    """One server process fewer to start per test database; SQLite keeps its writer apart
    (it writes on the event loop, readers on threads)."""
    throwaway = create_db(db.url, durable=False)
    try:
        async with throwaway.read() as session:
            reader = await _driver_connection(session)
        async with throwaway.transaction() as session:
            writer = await _driver_connection(session)
    finally:
        await throwaway.dispose()
    assert (writer is reader) == (backend == "postgres")


async def test_connect_ahead_opens_a_connection_of_every_sqlite_engine(
    db: Database, backend: str
) -> None:
    engines = list(_engines(db))

    def pooled() -> list[int]:
        return [engine.sync_engine.pool.checkedin() for engine in engines]  # type: ignore[attr-defined]

    before = pooled()
    await db.connect_ahead()
    # PostgreSQL opens nothing ahead: its connections are server processes (see the docstring)
    assert pooled() == ([1] * len(engines) if backend == "sqlite" else before)
    company = await add_company(db)
    async with db.read() as session:
        found = await session.scalar(sa.select(sa.func.count()).select_from(sa.table("companies")))
    assert (found, company.name) == (1, "Paperclip")


async def test_plugin_connection_sets_are_handed_out_again_after_dispose(db: Database) -> None:
    first = db.plugin_connections(size=2, wait_ms=1000)
    second = db.plugin_connections(size=2, wait_ms=1000)
    assert first is not second  # two hosts at once never share a set
    await db.dispose()
    again = {id(db.plugin_connections(size=2, wait_ms=1000)) for _ in range(2)}
    assert again == {id(first), id(second)}
    assert db.plugin_connections(size=3, wait_ms=1000) not in (first, second)


# SQLite only, by nature: its driver runs on a thread of its own, and its file is copied.


async def test_a_new_sqlite_connection_is_set_up_in_one_trip_to_its_thread(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = create_db(clone_sqlite(sqlite_template, tmp_path / "one-trip.db"))
    trips: list[str] = []
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(function, "__name__", repr(function)))
        return await execute(self, function, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    try:
        for engine in (db.engine, db.writer_engine):
            trips.clear()
            async with engine.connect():
                pass
            # ours; the rest are SQLAlchemy's dialect's (two functions, and on an engine's
            # first connection a check of the server); each plugin SQL function or setting
            # would be one more
            assert trips.count("configure") == 1, trips
            assert len(trips) <= 4, trips
    finally:
        await db.dispose()


async def test_sqlite_connections_opened_at_once_on_a_fresh_copy_wait_for_each_other(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The first connection to a copied file sets up its WAL; the others opened at the same
    moment wait for it instead of failing with "database is locked"."""
    for attempt in range(30):
        copy = create_db(clone_sqlite(sqlite_template, tmp_path / f"copy-{attempt}.db"))
        copy.plugin_connections(size=2, wait_ms=1000)
        try:
            await copy.connect_ahead()
        finally:
            await copy.dispose()


async def test_sqlite_dispose_moves_the_wal_into_the_file(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Connections closing at once may each leave the checkpoint to the other (a WAL left in
    about one case of four); ``dispose`` closes them one after another, so a copy of the file
    alone (as templates are copied) holds every commit."""
    for attempt in range(20):
        path = clone_sqlite(sqlite_template, tmp_path / f"kept-{attempt}.db")
        kept = create_db(path)
        kept.plugin_connections(size=2, wait_ms=1000)
        await kept.connect_ahead()
        company = await add_company(kept)
        await kept.dispose()
        assert not Path(f"{path}-wal").exists()
        alone = tmp_path / f"alone-{attempt}.db"
        shutil.copyfile(path, alone)
        with sqlite3.connect(alone) as connection:
            found = connection.execute(
                "SELECT name FROM companies WHERE id = ?", (str(company.id),)
            ).fetchall()
        assert found == [(company.name,)]
