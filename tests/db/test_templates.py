"""Template databases (db/templates.py): migrated once, cloned fast, the same on both backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from db import Database, create_db, migrate, tables
from db.embedded_postgres import drop_database
from db.templates import (
    POSTGRES_URL_ENV,
    build_postgres_template,
    build_sqlite_template,
    clone_postgres,
    clone_sqlite,
    remove_sqlite,
    server_url,
    start_postgres,
)
from tests.fixtures.rows import add_company

#: Makes (or remakes) the clone of the template; returns what ``create_db`` opens.
Clone = Callable[[], Awaitable[Path | URL]]


@pytest.fixture
async def template(backend: str, tmp_path: Path) -> AsyncIterator[tuple[Path | URL, Clone]]:
    """A freshly built template of the test's backend, and how to clone it."""
    if backend == "sqlite":
        built = await build_sqlite_template(tmp_path / "template.db")

        async def clone_file() -> Path:
            return clone_sqlite(built, tmp_path / "clone.db")

        yield built, clone_file
        return
    server = server_url(os.environ[POSTGRES_URL_ENV])
    suffix = uuid.uuid4().hex[:12]
    name, clone_name = f"sandbox_tpl_{suffix}", f"sandbox_tpl_clone_{suffix}"

    async def clone_database() -> URL:
        return await clone_postgres(server, name, clone_name, replace=True)

    try:
        yield await build_postgres_template(server, name), clone_database
    finally:
        await drop_database(server, clone_name)
        await drop_database(server, name)


async def _companies(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.execute(sa.select(tables.companies.c.name))).scalars())


async def test_the_template_is_migrated_to_head(
    template: tuple[Path | URL, Clone],
) -> None:
    db = create_db(template[0])
    try:
        assert await migrate.current(db) == migrate.head_revision()
        assert await _companies(db) == []
    finally:
        await db.dispose()


async def test_a_clone_has_the_schema_and_is_independent_of_the_template(
    template: tuple[Path | URL, Clone],
) -> None:
    source, clone = template
    copy = create_db(await clone())
    original = create_db(source)
    try:
        assert await migrate.current(copy) == migrate.head_revision()
        await add_company(copy, name="Only in the clone")
        await add_company(original, name="Only in the template")
        assert await _companies(copy) == ["Only in the clone"]
        assert await _companies(original) == ["Only in the template"]
    finally:
        await copy.dispose()
        await original.dispose()


async def test_cloning_again_replaces_a_used_clone(template: tuple[Path | URL, Clone]) -> None:
    _, clone = template
    used = create_db(await clone())
    try:
        await add_company(used, name="Left behind")
    finally:
        await used.dispose()
    fresh = create_db(await clone())
    try:
        assert await _companies(fresh) == []
    finally:
        await fresh.dispose()


async def test_removing_a_sqlite_database_takes_its_side_files(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    for name in ("gone.db", "gone.db-wal", "gone.db-shm"):
        (tmp_path / name).write_bytes(b"")
    remove_sqlite(path)
    remove_sqlite(path)  # nothing left: still fine
    assert list(tmp_path.iterdir()) == []


def test_a_given_server_is_used_as_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(POSTGRES_URL_ENV, "postgresql://someone@db.example:5433/postgres")
    url, embedded = start_postgres(tmp_path / "data")
    assert embedded is None
    assert url.render_as_string() == "postgresql+asyncpg://someone@db.example:5433/postgres"
    assert not (tmp_path / "data").exists()
