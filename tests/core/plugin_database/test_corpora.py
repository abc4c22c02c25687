"""The allowed corpus runs and agrees across backends; the hostile corpus is refused.

Reference §14 lists how upstream's validator lets hostile SQL through; every item is in the
hostile corpus and must be refused with the error written next to it, on both backends, with
no change to any table.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import HostError
from core.plugin_database import (
    Mode,
    PluginAccess,
    PluginDatabase,
    check_migration,
    check_runtime,
)
from core.plugin_database.policy import check_parameters
from db import Database
from db.models import Company, Issue
from tests.core.plugin_database import corpus, hostile
from tests.fixtures.plugin_database import install_plugin, manifest, write_package
from tests.fixtures.rows import add_company, add_issue

WEAKNESSES = [f"Q{n}" for n in range(1, 13)] + [f"E{n}" for n in range(1, 12)]
WEAKNESSES += [f"M{n}" for n in range(1, 9)]


def _id(case: hostile.Hostile) -> str:
    return f"{case.mode}:{case.weakness or '-'}:{case.sql[:60]}"


def test_corpus_sizes_and_weakness_coverage() -> None:
    assert len(hostile.ALL) >= 60
    assert len(corpus.STATEMENTS) >= 40
    covered = {case.weakness for case in hostile.ALL}
    assert sorted(set(WEAKNESSES) - covered) == []


@pytest.mark.parametrize("case", hostile.ALL, ids=_id)
def test_policy_refuses_hostile_statement(case: hostile.Hostile) -> None:
    with pytest.raises(case.error) as raised:
        if case.mode == "migration":
            check_migration(case.sql, "001_hostile.sql", corpus.NS, ["issues"])
        else:
            checked = check_runtime(case.sql, Mode(case.mode), corpus.NS, ["issues"])
            check_parameters(checked.placeholders, len(case.params))
    assert str(raised.value) == case.message


async def _corpus_plugin(db: Database, root: Path) -> tuple[PluginDatabase, PluginAccess]:
    """The corpus plugin, migrated, with two core issues to join (Alpha and Beta)."""
    company = await add_company(db, prefix="CRP")
    await add_issue(db, company, title="Alpha issue", id=corpus.ISSUE_A)
    await add_issue(db, company, title="Beta issue", id=corpus.ISSUE_B)
    plugin_manifest = manifest(corpus.PLUGIN_KEY, slug="corpus")
    plugin_id = await install_plugin(db, plugin_manifest)
    plugin_db = PluginDatabase(db)
    await plugin_db.apply_migrations(
        plugin_id, plugin_manifest, write_package(root, corpus.MIGRATIONS)
    )
    return plugin_db, await plugin_db.access(plugin_id)


async def _run(plugin_db: PluginDatabase, access: PluginAccess, statement: Any) -> Any:
    if statement.mode == "query":
        return await plugin_db.query(access, statement.sql, statement.params)
    return await plugin_db.execute(access, statement.sql, statement.params)


async def test_allowed_corpus_runs(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _corpus_plugin(db, tmp_path)
    for statement in corpus.STATEMENTS:
        result = await _run(plugin_db, access, statement)
        if statement.expected is not None:
            assert result == statement.expected, statement.name
        if statement.mode == "query":
            assert result, f"{statement.name}: no rows"


@pytest.mark.postgres_only
async def test_allowed_corpus_agrees_across_backends(
    both_databases: tuple[Database, Database], tmp_path: Path
) -> None:
    sqlite, postgres = both_databases
    on_sqlite = await _corpus_plugin(sqlite, tmp_path / "sqlite")
    on_postgres = await _corpus_plugin(postgres, tmp_path / "postgres")
    for statement in corpus.STATEMENTS:
        expected = await _run(*on_postgres, statement)
        actual = await _run(*on_sqlite, statement)
        assert actual == expected, statement.name
        # Same JSON text too: key order, integer-versus-float and timestamp form all agree.
        assert repr(actual) == repr(expected), statement.name


async def _refusal_mismatch(
    case: hostile.Hostile, attempt: Coroutine[Any, Any, Any], *, migration: str | None = None
) -> tuple[str, str, str] | None:
    """None when ``attempt`` fails exactly as the case expects, else what happened.

    A refused ``migration`` file's message is the case's, then the file and the statement.
    """
    expected = re.escape(case.message)
    if migration is not None:
        expected += rf" \({re.escape(migration)}, statement \d+ at line \d+: .+\)"
    try:
        await attempt
    except HostError as error:
        if type(error) is not case.error or not re.fullmatch(expected, error.message):
            return case.sql, type(error).__name__, error.message
        return None
    return case.sql, "accepted", ""


async def _snapshot(db: Database) -> list[tuple[Any, ...]]:
    async with db.read() as session:
        issues = (await session.execute(sa.select(Issue.id, Issue.title))).all()
        companies = (await session.execute(sa.select(Company.id, Company.name))).all()
    return sorted(map(tuple, issues)) + sorted(map(tuple, companies))


async def test_backend_refuses_hostile_runtime_statements(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _corpus_plugin(db, tmp_path)
    await plugin_db.execute(access, corpus.SEED[0].sql, corpus.SEED[0].params)
    before = await _snapshot(db)
    mismatches = [
        await _refusal_mismatch(case, _run(plugin_db, access, case))
        for case in [*hostile.QUERIES, *hostile.EXECUTES]
    ]
    assert [mismatch for mismatch in mismatches if mismatch] == []
    assert await _snapshot(db) == before
    rows = await plugin_db.query(access, f"SELECT label FROM {corpus.NS}.tasks")
    assert rows == [{"label": "Write spec"}]


async def test_backend_refuses_hostile_migrations(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _corpus_plugin(db, tmp_path)
    plugin_manifest = manifest(corpus.PLUGIN_KEY, slug="corpus")
    before = await _snapshot(db), await _tables(db, corpus.NS)
    mismatches = []
    for case in hostile.MIGRATIONS:
        # The same pending file, rewritten: a failed file is retried on the next activation.
        package = write_package(tmp_path, {"003_hostile.sql": case.sql})
        applying = plugin_db.apply_migrations(access.plugin_id, plugin_manifest, package)
        mismatches.append(
            await _refusal_mismatch(case, applying, migration="migrations/003_hostile.sql")
        )
    assert [mismatch for mismatch in mismatches if mismatch] == []
    assert (await _snapshot(db), await _tables(db, corpus.NS)) == before


async def _tables(db: Database, namespace: str) -> list[str]:
    """Every table named like the namespace or outside the core schema, on either backend."""
    async with db.read() as session:
        if db.url.get_backend_name() == "sqlite":
            names = await session.scalars(sa.text("SELECT name FROM sqlite_master"))
            found = [name for name in names if name.startswith(namespace) or "evil" in name]
        else:
            names = await session.scalars(
                sa.text(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                    "AND (table_schema <> 'public' OR table_name ~ 'evil|escape|agent_copy')"
                )
            )
            found = list(names)
    return [name for name in found if not re.match(r"^sqlite_autoindex_", name)]
