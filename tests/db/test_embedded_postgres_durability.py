"""Embedded PostgreSQL syncs to disk unless it is a throwaway server (deleted when it stops).

A throwaway server (the test matrix's, the ``plugin_sandbox`` fixture's) creates and drops a
database for nearly every test; without the syncs, a drop costs milliseconds instead of hundreds.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL

from db.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def data_root() -> Iterator[Path]:
    """A folder the server's own system user can reach (pytest's temp root is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="sandbox-pg-durability-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


async def _setting(url: URL, name: str, wanted: str) -> str:
    """The server's ``name`` once it reads ``wanted`` (a reload takes effect in its own time),
    or what it still reads after five seconds."""
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    deadline = time.monotonic() + 5
    while True:
        connection = await asyncpg.connect(dsn)
        try:
            value = str(await connection.fetchval(f"SHOW {name}"))
        finally:
            await connection.close()
        if value == wanted or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def test_a_throwaway_server_does_not_sync_to_disk_a_kept_one_does(data_root: Path) -> None:
    with EmbeddedPostgres(data_root / "kept") as kept:
        url = kept.url("postgres")
        assert await _setting(url, "fsync", "on") == "on"
        assert await _setting(url, "full_page_writes", "on") == "on"
        assert await _setting(url, "synchronous_commit", "off") == "off"
        assert await _setting(url, "max_wal_size", "1GB") == "1GB"
    with EmbeddedPostgres(data_root / "throwaway", keep_data=False) as throwaway:
        url = throwaway.url("postgres")
        assert await _setting(url, "fsync", "off") == "off"
        assert await _setting(url, "full_page_writes", "off") == "off"
        assert await _setting(url, "max_wal_size", "256MB") == "256MB"
