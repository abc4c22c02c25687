"""The SQLite connections that run each statement in one step (SQLite-only by nature)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from db import create_db, migrate
from db.sqlite_connection import OneStepConnection


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
