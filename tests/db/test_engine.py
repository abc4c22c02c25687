"""URL handling and connection settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from db import Database, Dialect, resolve_url, tables


class TestResolveUrl:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            (None, "sqlite+aiosqlite:///.sandbox/sandbox.db"),
            ("data/dev.db", "sqlite+aiosqlite:///data/dev.db"),
            (Path("/tmp/x.db"), "sqlite+aiosqlite:////tmp/x.db"),
            ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
            ("postgres://u:p@host:5433/app", "postgresql+asyncpg://u:***@host:5433/app"),
            ("postgresql+psycopg://u@h/app", "postgresql+asyncpg://u@h/app"),
        ],
    )
    def test_picks_the_async_driver(self, given: str | None, expected: str) -> None:
        assert resolve_url(given).render_as_string(hide_password=True) == expected

    @pytest.mark.parametrize(
        ("given", "message"),
        [
            ("sqlite://", "in-memory"),
            ("sqlite:///:memory:", "in-memory"),
            ("mysql://u@h/app", "unsupported database"),
            ("bogus://", "unsupported database"),
        ],
    )
    def test_refuses_what_the_sandbox_cannot_use(self, given: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            resolve_url(given)


async def test_connection_settings(db: Database, backend: str) -> None:
    async with db.read() as session:
        if db.dialect == Dialect.SQLITE:
            settings = {
                name: (await session.execute(sa.text(f"PRAGMA {name}"))).scalar()
                for name in (
                    "journal_mode",
                    "foreign_keys",
                    "synchronous",
                    "busy_timeout",
                    "page_size",
                )
            }
            assert settings == {
                "journal_mode": "wal",
                "foreign_keys": 1,
                "synchronous": 1,
                "busy_timeout": 30000,
                "page_size": 2048,
            }
        else:
            isolation = await session.scalar(sa.text("SHOW transaction_isolation"))
            assert isolation == "read committed"
            # Readers plan for their parameters; writers keep PostgreSQL's cached plans.
            assert await session.scalar(sa.text("SHOW plan_cache_mode")) == "force_custom_plan"
    if db.dialect == Dialect.POSTGRES:
        async with db.transaction() as session:
            assert await session.scalar(sa.text("SHOW plan_cache_mode")) == "auto"
            isolation = await session.scalar(sa.text("SHOW transaction_isolation"))
            assert isolation == "read committed"
    assert db.dialect == {"sqlite": Dialect.SQLITE, "postgres": Dialect.POSTGRES}[backend]


async def test_statement_counter_records_what_runs(db: Database) -> None:
    with db.statement_counter() as statements:
        async with db.read() as session:
            await session.execute(sa.text("SELECT 1"))
            await session.execute(sa.text("SELECT 2"))
    assert [s for s in statements if s.startswith("SELECT")] == ["SELECT 1", "SELECT 2"]


async def test_nested_write_transactions_are_refused(db: Database) -> None:
    async with db.transaction():
        with pytest.raises(RuntimeError, match="nested write transaction"):
            async with db.transaction():
                pass
    async with db.transaction() as session:  # the outer one closed cleanly
        await session.execute(sa.text("SELECT 1"))


class TestReadOnly:
    """``create_db(read_only=True)``: what live viewers (the TUI) open."""

    async def test_refuses_write_transactions(self, db: Database) -> None:
        from db import DatabaseError, create_db

        viewer = create_db(db.url, read_only=True)
        try:
            with pytest.raises(DatabaseError, match="opened read-only; nothing was written"):
                async with viewer.transaction():
                    pass
            async with viewer.read() as session:
                assert (
                    await session.scalar(
                        sa.select(sa.func.count()).select_from(sa.table("companies"))
                    )
                    == 0
                )
        finally:
            await viewer.dispose()

    async def test_connections_refuse_writes_below_the_api(self, db: Database) -> None:
        """Even a write slipped into a read session fails, and nothing is stored."""
        from db import create_db

        viewer = create_db(db.url, read_only=True)
        insert = sa.text(
            "INSERT INTO companies (id, name, issue_prefix) "
            "VALUES ('00000000-0000-4000-8000-000000000001', 'X', 'X')"
        )
        try:
            with pytest.raises(Exception, match="(?i)read-?only"):
                async with viewer.read() as session:
                    await session.execute(insert)
        finally:
            await viewer.dispose()
        async with db.read() as session:
            assert await session.scalar(sa.text("SELECT count(*) FROM companies")) == 0

    def test_a_missing_sqlite_file_is_an_error_and_is_not_created(self, tmp_path: Path) -> None:
        from db import DatabaseUnavailable, create_db

        missing = tmp_path / "nothing" / "here.db"
        with pytest.raises(DatabaseUnavailable, match=f"^no SQLite database at {missing}$"):
            create_db(missing, read_only=True)
        assert not missing.parent.exists()


async def test_after_a_bulk_load_the_upkeep_the_server_would_do_is_done(
    db: Database, backend: str
) -> None:
    await db.after_bulk_load(tables.issues)
    async with db.read() as session:
        if backend == "postgres":  # autovacuum's work, done now
            done = await session.execute(
                sa.text(
                    "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL "
                    "FROM pg_stat_user_tables WHERE relname = 'issues'"
                )
            )
            assert done.one() == (True, True)
        else:  # SQLite keeps no statistics unless asked; none were asked for
            found = await session.execute(
                sa.text("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'")
            )
            assert found.scalar_one() == 0
