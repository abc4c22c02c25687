"""One migration chain builds exactly the models' schema, on both backends."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db import Database, Dialect, migrate
from db.models import metadata
from tests.fixtures.rows import add_company


async def _schema_diff(db: Database) -> list[object]:
    async with db.engine.connect() as connection:
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes, so alembic skips comparing them there;
            # test_expression_index_exists checks the one we have directly.
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified")
            warnings.filterwarnings("ignore", "Skipped unsupported reflection")
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()))


async def test_models_match_the_migrated_schema(db: Database) -> None:
    assert await _schema_diff(db) == []


async def test_upgrade_downgrade_upgrade_round_trip(db: Database) -> None:
    await add_company(db)
    assert await migrate.current(db) == migrate.head_revision()

    await migrate.downgrade(db, "base")
    assert await migrate.current(db) is None
    assert await _tables(db) <= {"alembic_version"}

    await migrate.upgrade(db)
    assert await migrate.current(db) == migrate.head_revision()
    assert await _tables(db) == set(metadata.tables) | {"alembic_version"}
    assert await _schema_diff(db) == []
    await add_company(db)  # the rebuilt schema takes writes


async def test_upgrade_is_idempotent(db: Database) -> None:
    company = await add_company(db)
    await migrate.upgrade(db)
    async with db.read() as session:
        names = (await session.scalars(sa.text("SELECT name FROM companies"))).all()
    assert names == [company.name]


async def test_schema_keeps_upstream_constraint_names(db: Database) -> None:
    async with db.engine.connect() as connection:
        foreign_keys, unique_indexes = await connection.run_sync(
            lambda sync: (
                {fk["name"] for fk in sa.inspect(sync).get_foreign_keys("issue_relations")},
                {ix["name"] for ix in sa.inspect(sync).get_indexes("issues") if ix["unique"]},
            )
        )
    assert "issue_relations_issue_id_issues_id_fk" in foreign_keys
    assert {"issues_identifier_idx", "issues_open_routine_execution_uq"} <= unique_indexes


async def test_expression_index_serves_run_lookups_by_issue(db: Database) -> None:
    query = "SELECT id FROM heartbeat_runs WHERE company_id = '{c}' AND {expr} = 'x'"
    if db.dialect == "sqlite":
        sql = "EXPLAIN QUERY PLAN " + query.format(
            c="00000000-0000-0000-0000-000000000000",
            expr="json_extract(context_snapshot, '$.issueId')",
        )
    else:
        sql = "EXPLAIN " + query.format(
            c="00000000-0000-0000-0000-000000000000", expr="(context_snapshot ->> 'issueId')"
        )
    async with db.read() as session:
        if db.dialect == Dialect.POSTGRES:
            # An empty table makes a sequential scan just as cheap; ask whether the index applies.
            await session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row) for row in (await session.execute(sa.text(sql))).all())
    assert "heartbeat_runs_company_context_issue_idx" in plan


def test_chain_has_one_head_and_every_revision_is_reachable() -> None:
    """Guards the single-chain rule: a second head would fork the schema between backends."""
    script = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    assert len(script.get_heads()) == 1
    walked = {revision.revision for revision in script.walk_revisions()}
    files = {
        path.stem.split("_", 1)[0]
        for path in (migrate.MIGRATIONS_DIR / "versions").glob("[0-9]*.py")
    }
    assert walked == files
    assert migrate.revisions()[-1] == migrate.head_revision()


def test_migrations_never_import_the_live_models() -> None:
    """Guards frozen migrations: a revision must not change when the live tables change."""
    for path in (migrate.MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text()
        assert "db.models" not in text, path.name
        assert "from db import" not in text and "db.types" not in text, path.name
