"""The SQLite connections that run each statement in one step (SQLite-only by nature)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from db import create_db, migrate
from db.sqlite_connection import ConnectionPark, OneStepConnection, connect


async def test_writer_runs_on_the_loop_and_readers_on_a_thread(tmp_path: Path) -> None:
    db = create_db(tmp_path / "x.db")
    try:
        async with db.transaction() as session:
            writer = (await (await session.connection()).get_raw_connection()).driver_connection
            await session.execute(sa.text("CREATE TABLE t (n INTEGER)"))
            await session.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
        async with db.read() as session:
            reader = (await (await session.connection()).get_raw_connection()).driver_connection
            assert (await session.execute(sa.text("SELECT sum(n) FROM t"))).scalar() == 3
        assert isinstance(writer, OneStepConnection) and writer.on_loop
        assert isinstance(reader, OneStepConnection) and not reader.on_loop
    finally:
        await db.dispose()


async def test_a_busy_database_is_awaited_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    db = create_db(path)
    await migrate.upgrade(db)
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, in effect
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, other.rollback)
    started = time.monotonic()
    try:
        async with db.transaction() as session:
            await session.execute(sa.text("UPDATE companies SET name = name"))
        waited = time.monotonic() - started
    finally:
        ticker.cancel()
        other.close()
        await db.dispose()
    assert waited >= 0.25  # it really waited for the other writer
    assert ticks >= 15  # and the loop kept running meanwhile


def test_a_kept_reader_still_answers_after_the_loop_that_parked_it_closed(
    tmp_path: Path,
) -> None:
    """pytest closes each test's event loop while a kept reader's end of transaction may still
    be queued on the reader's thread; the thread must run it and live on."""
    path = tmp_path / "kept.db"
    sqlite3.connect(path).close()
    park = ConnectionPark()
    park.register(path)
    gate = threading.Event()

    async def first_loop() -> OneStepConnection:
        reader = await connect(str(path), on_loop=False, park=park)
        await reader.statement(False, "SELECT 1", None)
        reader._queue(lambda _: gate.wait(10))  # the thread is busy when this loop ends
        await reader.close()  # kept; its end of transaction queued behind the wait
        return reader

    async def second_loop() -> tuple[OneStepConnection, object]:
        reader = await connect(str(path), on_loop=False, park=park)
        async with asyncio.timeout(5):
            _, rows, _, _ = await reader.statement(False, "SELECT 2", None)
        await park.release(path)
        return reader, rows

    kept = asyncio.run(first_loop())
    gate.set()
    assert asyncio.run(second_loop()) == (kept, [(2,)])
