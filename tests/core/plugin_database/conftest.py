"""Both databases at once, for tests that compare the backends' results directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db import Database, create_db
from db.templates import clone_sqlite
from tests.fixtures.databases import POSTGRES_RESET_SQL


@pytest.fixture
async def both_databases(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Database, Database]]:
    """A migrated, empty SQLite database and PostgreSQL database (mark tests postgres_only)."""
    path = tmp_path / "parity.db"
    clone_sqlite(request.getfixturevalue("sqlite_template"), path)
    sqlite = create_db(path)
    postgres = create_db(request.getfixturevalue("postgres_worker_url"))
    async with postgres.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.execute(POSTGRES_RESET_SQL)
    try:
        yield sqlite, postgres
    finally:
        await sqlite.dispose()
        await postgres.dispose()
