"""The second line of defence: what the database itself refuses when plugin SQL runs.

These statements never pass the SQL policy; here they go straight to the backend runner, to
prove the narrowed PostgreSQL session and the SQLite authorizer hold on their own.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.plugin_database import PluginDatabase
from db import Database
from db.errors import PluginStatementError, PluginStatementFailure
from db.models import Issue
from db.plugin_sql import PluginSqlAccess, StatementLimits, plugin_sql_backend
from tests.fixtures.plugin_database import install_plugin, manifest, write_package
from tests.fixtures.rows import add_company, add_issue

NS = "plugin_paperclip_dbtest_f9c12a21cb"
LIMITS = StatementLimits(timeout_ms=2_000)


async def _setup(db: Database, tmp_path: Path) -> uuid.UUID:
    plugin_manifest = manifest()
    plugin_id = await install_plugin(db, plugin_manifest)
    package = write_package(tmp_path, {"001.sql": f"CREATE TABLE {NS}.t (id int PRIMARY KEY);"})
    await PluginDatabase(db).apply_migrations(plugin_id, plugin_manifest, package)
    company = await add_company(db)
    return (await add_issue(db, company, title="Untouched")).id


async def _attempt(db: Database, sql: str, mode: str, limits: StatementLimits = LIMITS) -> None:
    backend = plugin_sql_backend(db.dialect)
    access = PluginSqlAccess(NS, frozenset({"issues"}), mode)  # type: ignore[arg-type]
    context = db.read() if mode == "read" else db.transaction()
    async with context as session:
        await backend.run(session, sql, [], access=access, limits=limits)


async def _title(db: Database, issue_id: uuid.UUID) -> str | None:
    async with db.read() as session:
        return await session.scalar(sa.select(Issue.title).where(Issue.id == issue_id))


@pytest.mark.parametrize("mode", ["read", "write"])
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE issues SET title = 'changed'",
        "DELETE FROM issues",
        "SELECT count(*) FROM agents",
        "INSERT INTO agents (id) VALUES (NULL)",
    ],
)
async def test_core_tables_are_out_of_reach(
    db: Database, tmp_path: Path, sql: str, mode: str
) -> None:
    issue_id = await _setup(db, tmp_path)
    with pytest.raises(PluginStatementError):
        await _attempt(db, sql, mode)
    assert await _title(db, issue_id) == "Untouched"


async def test_reads_cannot_write_even_inside_the_namespace(db: Database, tmp_path: Path) -> None:
    await _setup(db, tmp_path)
    own_table = f'"{NS}.t"' if db.url.get_backend_name() == "sqlite" else f"{NS}.t"
    with pytest.raises(PluginStatementError):
        await _attempt(db, f"INSERT INTO {own_table} (id) VALUES (1)", "read")
    await _attempt(db, f"INSERT INTO {own_table} (id) VALUES (1)", "write")


async def test_one_statement_at_a_time(db: Database, tmp_path: Path) -> None:
    issue_id = await _setup(db, tmp_path)
    with pytest.raises(PluginStatementError):
        await _attempt(db, "SELECT 1; UPDATE issues SET title = 'changed'", "write")
    assert await _title(db, issue_id) == "Untouched"


async def test_the_timeout_stops_a_runaway_statement(db: Database, tmp_path: Path) -> None:
    await _setup(db, tmp_path)
    forever = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r"
    with pytest.raises(PluginStatementError) as raised:
        await _attempt(db, forever, "read", StatementLimits(timeout_ms=150))
    assert raised.value.failure is PluginStatementFailure.TIMEOUT
    assert str(raised.value) == "Plugin SQL exceeded the statement timeout of 150 ms"


async def test_the_narrowing_ends_with_the_transaction(db: Database, tmp_path: Path) -> None:
    issue_id = await _setup(db, tmp_path)
    await _attempt(db, "SELECT 1", "read")
    async with db.transaction() as session:
        await session.execute(sa.update(Issue).where(Issue.id == issue_id).values(title="Host"))
        if db.url.get_backend_name() == "postgresql":
            assert await session.scalar(sa.text("SHOW search_path")) == '"$user", public'
            assert await session.scalar(sa.text("SHOW statement_timeout")) == "0"
    assert await _title(db, issue_id) == "Host"
