"""ctx.db.query and ctx.db.execute: limits, identical failures, values, caching, and what the
SQLite backend refuses to fake."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from core.errors import HostError
from core.plugin_database import (
    PluginAccess,
    PluginDatabase,
    PluginSqlConflict,
    PluginSqlInvalid,
    PluginSqlLimitExceeded,
    PluginSqlRejected,
    PluginSqlSettings,
    PluginSqlUnsupported,
    PluginSqlViolation,
    StatementCache,
)
from db import Database
from tests.fixtures.plugin_database import install_plugin, manifest, write_package
from tests.fixtures.rows import add_company, add_issue

NS = "plugin_paperclip_dbtest_f9c12a21cb"
SCHEMA = f"""
CREATE TABLE {NS}.items (
  id uuid PRIMARY KEY,
  issue_id uuid REFERENCES public.issues(id) ON DELETE CASCADE,
  name text NOT NULL,
  size integer NOT NULL DEFAULT 1 CHECK (size > 0),
  seen timestamptz,
  doc jsonb
);
CREATE UNIQUE INDEX items_name_key ON {NS}.items (name);
"""
INSERT = f"INSERT INTO {NS}.items (id, name, size) VALUES ($1, $2, $3)"
FOREVER = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"


async def _plugin(
    db: Database,
    tmp_path: Path,
    settings: PluginSqlSettings | None = None,
    statements: StatementCache | None = None,
) -> tuple[PluginDatabase, PluginAccess]:
    plugin_manifest = manifest()
    plugin_id = await install_plugin(db, plugin_manifest)
    plugin_db = PluginDatabase(db, settings=settings or PluginSqlSettings(), statements=statements)
    await plugin_db.apply_migrations(
        plugin_id, plugin_manifest, write_package(tmp_path, {"001_items.sql": SCHEMA})
    )
    return plugin_db, await plugin_db.access(plugin_id)


async def _error(call: object) -> HostError:
    with pytest.raises(HostError) as raised:
        await call  # type: ignore[misc]
    return raised.value


async def test_values_come_back_in_one_form(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    item = uuid.uuid4()
    await plugin_db.execute(
        access,
        f"INSERT INTO {NS}.items (id, name, seen, doc) VALUES ($1, $2, $3, $4)",
        [str(item).upper(), "a", "2026-04-20 11:30:00.25+02", {"z": [1, 2.5], "a": None}],
    )
    rows = await plugin_db.query(
        access,
        f"SELECT id, seen, doc, size, size > 0 AS positive, size / 2.0 AS half FROM {NS}.items",
    )
    assert rows == [
        {
            "id": str(item),
            "seen": "2026-04-20T09:30:00.250000+00:00",
            "doc": {"a": None, "z": [1, 2.5]},
            "size": 1,
            "positive": True,
            "half": 0.5,
        }
    ]


async def test_too_many_rows_is_an_error(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path, PluginSqlSettings(max_rows=3))
    numbers = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < $1) "
    numbers += "SELECT n FROM r"

    assert len(await plugin_db.query(access, numbers, [3])) == 3
    error = await _error(plugin_db.query(access, numbers, [4]))
    assert type(error) is PluginSqlLimitExceeded
    assert error.message == (
        "ctx.db.query returned more than 3 rows; page through the result with LIMIT and OFFSET "
        "(SANDBOX_PLUGIN_SQL_MAX_ROWS)"
    )


async def test_statements_stop_at_the_timeout(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path, PluginSqlSettings(statement_timeout_ms=200))

    error = await _error(plugin_db.query(access, FOREVER))

    assert type(error) is PluginSqlLimitExceeded
    assert error.message == (
        "Plugin SQL exceeded the statement timeout of 200 ms (SANDBOX_PLUGIN_SQL_TIMEOUT_MS)"
    )
    assert await plugin_db.query(access, "SELECT 1 AS one") == [{"one": 1}]


@pytest.mark.parametrize(
    ("sql", "params", "kind", "message"),
    [
        (
            INSERT,
            ["10000000-0000-4000-8000-000000000001", "taken", 1],
            PluginSqlConflict,
            'duplicate key value violates a unique constraint on "items"',
        ),
        (
            INSERT,
            [str(uuid.uuid4()), None, 1],
            PluginSqlViolation,
            'null value in column "name" of relation "items" violates not-null constraint',
        ),
        (
            INSERT,
            [str(uuid.uuid4()), "b", 0],
            PluginSqlViolation,
            "Plugin SQL violates a check constraint",
        ),
        (
            f"INSERT INTO {NS}.items (id, name, issue_id) VALUES ($1, $2, $3)",
            [str(uuid.uuid4()), "c", str(uuid.uuid4())],
            PluginSqlViolation,
            "Plugin SQL violates a foreign key constraint",
        ),
        (INSERT, ["nope", "d", 1], PluginSqlInvalid, 'invalid input syntax for type uuid: "nope"'),
        (
            f"UPDATE {NS}.items SET seen = $1",
            ["yesterday-ish"],
            PluginSqlInvalid,
            'invalid input syntax for type timestamp with time zone: "yesterday-ish"',
        ),
        (
            f"UPDATE {NS}.items SET doc = $1::jsonb",
            ["{not json"],
            PluginSqlInvalid,
            "invalid input syntax for type json",
        ),
        (
            f"UPDATE {NS}.items SET size = size / (size - size)",
            [],
            PluginSqlInvalid,
            "division by zero",
        ),
        (
            INSERT,
            [str(uuid.uuid4()), "e", "many"],
            PluginSqlInvalid,
            'invalid input syntax for type integer: "many"',
        ),
    ],
)
async def test_failures_read_the_same_on_both_backends(
    db: Database, tmp_path: Path, sql: str, params: list[object], kind: type, message: str
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    await plugin_db.execute(access, INSERT, ["10000000-0000-4000-8000-000000000001", "taken", 1])

    error = await _error(plugin_db.execute(access, sql, params))

    assert (type(error), error.message) == (kind, message)
    # The failed statement left nothing behind, and the next one runs normally.
    assert await plugin_db.query(access, f"SELECT name, size FROM {NS}.items") == [
        {"name": "taken", "size": 1}
    ]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (f"SELECT nope FROM {NS}.items", 'column "nope" does not exist'),
        (f'SELECT "nope" FROM {NS}.items', 'column "nope" does not exist'),
        (f"SELECT i.nope FROM {NS}.items i", "column i.nope does not exist"),
        (f"SELECT id FROM {NS}.items WHERE nope = 1", 'column "nope" does not exist'),
        (
            f"SELECT id FROM {NS}.missing",
            f'relation "{NS}.missing" does not exist',
        ),
    ],
)
async def test_unknown_names_read_the_same_on_both_backends(
    db: Database, tmp_path: Path, sql: str, message: str
) -> None:
    """SQLite would read an unknown double-quoted name as a string; PostgreSQL refuses it."""
    plugin_db, access = await _plugin(db, tmp_path)
    await plugin_db.execute(access, INSERT, [str(uuid.uuid4()), "row", 1])
    error = await _error(plugin_db.query(access, sql))
    assert (type(error), error.message) == (PluginSqlInvalid, message)


async def test_writing_an_unknown_column_reads_the_same_on_both_backends(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    error = await _error(
        plugin_db.execute(
            access, f"INSERT INTO {NS}.items (id, nope) VALUES ($1, $2)", [str(uuid.uuid4()), 1]
        )
    )
    assert (type(error), error.message) == (
        PluginSqlInvalid,
        'column "nope" of relation "items" does not exist',
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (f"UPDATE {NS}.items SET nope = 1", 'column "nope" of relation "items" does not exist'),
        (
            f"UPDATE {NS}.items AS i SET size = 2, (name, nope) = ('a', 1)",
            'column "nope" of relation "items" does not exist',
        ),
        (
            f"INSERT INTO {NS}.items (id, name, size) VALUES ($1, 'row', 1) "
            "ON CONFLICT (name) DO UPDATE SET nope = 1",
            'column "nope" of relation "items" does not exist',
        ),
        (f"UPDATE {NS}.items SET size = 1 WHERE bogus = 2", 'column "bogus" does not exist'),
    ],
)
async def test_updating_an_unknown_column_reads_the_same_on_both_backends(
    db: Database, tmp_path: Path, sql: str, message: str
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    await plugin_db.execute(access, INSERT, [str(uuid.uuid4()), "row", 1])
    params = [str(uuid.uuid4())] if "$1" in sql else []
    error = await _error(plugin_db.execute(access, sql, params))
    assert (type(error), error.message) == (PluginSqlInvalid, message)


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("SELECT FROM FROM", [], 'syntax error at or near "FROM"'),
        ("SELECT 1", "not a list", "ctx.db params must be an array of JSON values"),
        ("SELECT 1", [object()], "ctx.db params must be an array of JSON values"),
        ("SELECT $1", ["a\x00b"], 'invalid byte sequence for encoding "UTF8": 0x00'),
        ("SELECT $1::jsonb", [{"k": ["\x00"]}], 'invalid byte sequence for encoding "UTF8": 0x00'),
        (42, [], "ctx.db SQL must be a string"),
    ],
)
async def test_malformed_requests_are_invalid_input(
    db: Database, tmp_path: Path, sql: object, params: object, message: str
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    error = await _error(plugin_db.query(access, sql, params))  # type: ignore[arg-type]
    assert (type(error), error.message) == (PluginSqlInvalid, message)


async def test_statements_are_checked_once_per_text(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    sql = f"SELECT count(*) AS n FROM {NS}.items WHERE size > $1"
    for size in range(3):
        assert await plugin_db.query(access, sql, [size]) == [{"n": 0}]
    assert len(plugin_db.statements) == 1
    with pytest.raises(PluginSqlRejected):
        await plugin_db.query(access, "SELECT * FROM agents")
    assert len(plugin_db.statements) == 1

    uncached = PluginDatabase(db, settings=PluginSqlSettings(cache_size=0))
    assert await uncached.query(access, sql, [0]) == [{"n": 0}]
    assert len(uncached.statements) == 0


async def test_new_columns_are_seen_after_a_later_migration(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    await plugin_db.execute(access, INSERT, [str(uuid.uuid4()), "a", 2])
    assert await plugin_db.query(access, f"SELECT * FROM {NS}.items") != []

    write_package(
        tmp_path,
        {"002_flag.sql": f"ALTER TABLE {NS}.items ADD COLUMN flagged boolean DEFAULT true;"},
    )
    await plugin_db.apply_migrations(access.plugin_id, manifest(), tmp_path)

    rows = await plugin_db.query(access, f"SELECT name, flagged FROM {NS}.items")
    assert rows == [{"name": "a", "flagged": True}]


async def test_hosts_sharing_a_statement_cache_each_see_their_own_tables(
    db: Database, tmp_path: Path
) -> None:
    """A cache shared by the hosts of one process (the test fixture's) keeps one entry per
    text; its rewrite is redone for a namespace whose tables differ."""
    shared = StatementCache(16)
    first, access = await _plugin(db, tmp_path, statements=shared)
    await first.execute(access, INSERT, [str(uuid.uuid4()), "a", 2])
    everything = f"SELECT * FROM {NS}.items"
    assert "flagged" not in (await first.query(access, everything))[0]

    write_package(
        tmp_path,
        {"002_flag.sql": f"ALTER TABLE {NS}.items ADD COLUMN flagged boolean DEFAULT true;"},
    )
    second = PluginDatabase(db, settings=PluginSqlSettings(), statements=shared)
    await second.apply_migrations(access.plugin_id, manifest(), tmp_path)

    (row,) = await second.query(access, everything)
    assert (row["name"], row["flagged"]) == ("a", True)
    assert first.statements is second.statements and len(shared) == 2  # INSERT, SELECT


async def test_execute_reports_affected_rows(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    company = await add_company(db)
    issue = await add_issue(db, company)
    for name in ("a", "b", "c"):
        await plugin_db.execute(
            access,
            f"INSERT INTO {NS}.items (id, name, issue_id) VALUES (gen_random_uuid(), $1, $2)",
            [name, str(issue.id)],
        )
    update = f"UPDATE {NS}.items SET size = size + 1 WHERE name <> $1 RETURNING id, size"
    assert await plugin_db.execute(access, update, ["a"]) == {"rowCount": 2}
    assert await plugin_db.execute(access, f"DELETE FROM {NS}.items WHERE size > 5") == {
        "rowCount": 0
    }
    ids = await plugin_db.query(access, f"SELECT id FROM {NS}.items")
    assert all(len(row["id"]) == 36 and row["id"] == row["id"].lower() for row in ids)


UNSUPPORTED = [
    (f"SELECT DISTINCT ON (size) name FROM {NS}.items ORDER BY size, name", "DISTINCT ON"),
    (f"SELECT string_agg(name, ',' ORDER BY name) FROM {NS}.items", "ORDER BY inside string_agg()"),
    (f"SELECT name FROM {NS}.items WHERE name ~ '^a'", "operator ~"),
    (f"SELECT to_char(seen, 'YYYY') FROM {NS}.items", "function to_char"),
    ("SELECT * FROM generate_series(1, 3) AS g", "function generate_series in FROM"),
    (f"SELECT name FROM {NS}.items INTERSECT ALL SELECT name FROM {NS}.items", "INTERSECT ALL"),
    (f"SELECT jsonb_set(doc, '{{a}}', '1') FROM {NS}.items", "function jsonb_set"),
    (f"SELECT seen - seen FROM {NS}.items", "timestamptz - timestamptz arithmetic"),
]


@pytest.mark.parametrize(("sql", "construct"), UNSUPPORTED)
async def test_sqlite_names_what_it_cannot_run(
    db: Database, tmp_path: Path, backend: str, sql: str, construct: str
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    await plugin_db.execute(access, INSERT, [str(uuid.uuid4()), "a", 1])
    if backend == "postgres":
        assert await plugin_db.query(access, sql)
        return
    error = await _error(plugin_db.query(access, sql))
    assert type(error) is PluginSqlUnsupported
    assert error.message == f"Plugin SQL construct not supported on SQLite: {construct}"


UNSUPPORTED_MIGRATIONS = [
    (f"CREATE VIEW {NS}.big AS SELECT * FROM {NS}.items WHERE size > 1;", "View"),
    (f"ALTER TABLE {NS}.items ALTER COLUMN size TYPE bigint;", "ALTER TABLE ... ALTER COLUMN"),
    (
        f"ALTER TABLE {NS}.items ADD COLUMN at timestamptz DEFAULT now();",
        "ADD COLUMN with a DEFAULT",
    ),
    (f"CREATE TABLE {NS}.money (amount numeric(10, 2));", "numeric with a precision or length"),
]


@pytest.mark.parametrize(("sql", "construct"), UNSUPPORTED_MIGRATIONS)
async def test_sqlite_names_the_migrations_it_cannot_run(
    db: Database, tmp_path: Path, backend: str, sql: str, construct: str
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    write_package(tmp_path, {"002_more.sql": sql})
    if backend == "postgres":
        await plugin_db.apply_migrations(access.plugin_id, manifest(), tmp_path)
        return
    error = await _error(plugin_db.apply_migrations(access.plugin_id, manifest(), tmp_path))
    assert type(error) is PluginSqlUnsupported
    assert error.message.startswith(f"Plugin SQL construct not supported on SQLite: {construct}")
