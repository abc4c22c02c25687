"""db/sqlite_connection.py drives aiosqlite below its public API, for speed: it runs calls on
aiosqlite's thread through its request queue, and reads the wrapped sqlite3 connection. These
tests pin exactly what it relies on, so an aiosqlite upgrade that moves them fails here, loudly,
instead of somewhere in the middle of a transaction."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from pathlib import Path

import aiosqlite


async def test_the_internals_the_one_step_connection_uses(tmp_path: Path) -> None:
    connection = aiosqlite.connect(str(tmp_path / "pin.db"), check_same_thread=False)
    assert isinstance(connection._thread, threading.Thread)  # made a daemon at connect
    opened = await connection
    try:
        assert isinstance(opened._conn, sqlite3.Connection)
        # _execute(function, *args) runs function(*args) on the connection's thread
        assert inspect.iscoroutinefunction(opened._execute)
        assert await opened._execute(
            lambda c: c.execute("SELECT 41 + 1").fetchone(), opened._conn
        ) == (42,)
        # _tx takes (future, callable) pairs and runs them in order on that thread
        done = asyncio.get_running_loop().create_future()
        opened._tx.put_nowait((done, lambda: "ran"))
        assert await done == "ran"
    finally:
        await opened.close()


def test_the_pinned_version_range() -> None:
    """pyproject.toml pins aiosqlite below 0.23 because of these internals."""
    major, minor = (int(part) for part in aiosqlite.__version__.split(".")[:2])
    assert (major, minor) < (0, 23)
