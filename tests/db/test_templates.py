"""Template databases (db/templates.py): migrated once, cloned fast, the same on both backends."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from db import Database, create_db, migrate, tables
from db.embedded_postgres import drop_database
from db.models import metadata
from db.templates import (
    FIRST_SLOTS,
    POSTGRES_URL_ENV,
    PREPARED_COPIES,
    TemplateClones,
    build_postgres_template,
    build_sqlite_template,
    clone_postgres,
    clone_sqlite,
    remove_sqlite,
    server_url,
    start_postgres,
)
from tests.fixtures.rows import add_agent, add_company, add_issue

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


@pytest.fixture
async def clones(backend: str, tmp_path: Path) -> AsyncIterator[TemplateClones]:
    """``TemplateClones`` on the test's backend, started."""
    server = server_url(os.environ[POSTGRES_URL_ENV]) if backend == "postgres" else None
    started = TemplateClones(tmp_path, server)
    await started.start()
    try:
        yield started
    finally:
        await started.close()


async def _add_company_named(name: str, db: Database) -> None:
    await add_company(db, name=name)


async def _rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order."""
    rows = {}
    async with db.read() as session:
        for table in metadata.sorted_tables:
            found = (await session.execute(sa.select(table))).all()
            rows[table.name] = sorted(map(tuple, found), key=repr)
    return rows


async def test_every_database_handed_out_back_to_back_is_a_fresh_copy(
    clones: TemplateClones,
) -> None:
    # More than the copies made ahead and the slots: copies made again are fresh too. SQLite
    # hands out the same copy again, its rows put back: they are the template's, exactly.
    template_rows = None
    for number in range(2 * PREPARED_COPIES + 2):
        async with clones.database() as db:
            assert await migrate.current(db) == migrate.head_revision()
            rows = await _rows(db)
            template_rows = template_rows or rows
            assert rows == template_rows
            assert await _companies(db) == []
            company = await add_company(db, name=f"Test {number}")
            agent = await add_agent(db, company)
            await add_issue(db, company, title="Left behind", assignee_agent_id=agent.id)


async def test_a_replaced_copy_is_the_derived_template_and_the_next_copy_is_fresh(
    clones: TemplateClones,
) -> None:
    derived = await clones.derive(functools.partial(_add_company_named, "Installed"))
    for number in range(PREPARED_COPIES + 2):
        async with clones.database() as db:
            assert clones.untouched(db)
            await clones.replace(db, derived)
            assert not clones.untouched(db)
            assert await _companies(db) == ["Installed"]
            await add_company(db, name=f"Test {number}")
        # The copy of the migrated template that test gave up is handed out unchanged.
        async with clones.database() as db:
            assert await _companies(db) == []
            await add_company(db, name=f"Seeded {number}")
            assert not clones.untouched(db)


@pytest.mark.postgres_only
async def test_a_test_that_replaces_its_copy_costs_one_copy_of_the_derived_template(
    tmp_path: Path,
) -> None:
    server = server_url(os.environ[POSTGRES_URL_ENV])
    clones = TemplateClones(tmp_path, server)
    await clones.start()
    try:
        derived = await clones.derive(functools.partial(_add_company_named, "Installed"))
        async with clones.database() as db:
            handed_out = await _database_oid(server, db)
            await clones.replace(db, derived)
            assert await _database_oid(server, db) != handed_out
        # The copy made of the migrated template was not thrown away: one of the next tests
        # gets it (as the next copy of the slot it was in; the other slots have theirs).
        later = []
        for _ in range(FIRST_SLOTS):
            async with clones.database() as other:
                later.append(await _database_oid(server, other))
                assert await _companies(other) == []
        assert handed_out in later
    finally:
        await clones.close()
    names = [str(derived.target), str(db.url.database), str(other.url.database)]
    assert await _existing(server, names) == []


async def _catalog(server: URL, query: str, *args: object) -> list[object]:
    """The first column of ``query``'s rows, over a connection to the server's ``postgres``."""
    connection = await asyncpg.connect(
        server.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        return [row[0] for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()


async def _database_oid(server: URL, db: Database) -> int:
    """The OID of ``db``'s database (a rename keeps it; every copy gets a new one), read from
    the catalog without connecting to ``db``."""
    (oid,) = await _catalog(
        server, "SELECT oid FROM pg_database WHERE datname = $1", db.url.database
    )
    assert isinstance(oid, int)
    return oid


async def _existing(server: URL, names: list[str]) -> list[object]:
    return await _catalog(
        server, "SELECT datname FROM pg_database WHERE datname = ANY($1::text[])", names
    )
