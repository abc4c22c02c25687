"""Row values in ctx.db.query results: PostgreSQL's text of them, the same on both backends
(db/plugin_sql/composites.py on PostgreSQL, the SQLite printer's ``pg_record`` on SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.plugin_database import PluginAccess, PluginDatabase, PluginSqlSettings
from core.plugin_database.errors import PluginSqlUnsupported
from db import Database
from db.plugin_sql.values import record_output
from tests.fixtures.plugin_database import install_plugin, manifest, write_package

NS = "plugin_paperclip_dbtest_f9c12a21cb"
ITEM = "00000000-0000-4000-8000-000000000001"
SCHEMA = f"""
CREATE TABLE {NS}.items (
  id uuid PRIMARY KEY,
  parent uuid,
  name text NOT NULL,
  size integer NOT NULL,
  seen timestamptz,
  doc jsonb
);
"""
#: The item's row as PostgreSQL's record_out prints it (NULL fields empty, quoting doubled).
ITEM_ROW = f'({ITEM},,n,2,"2026-04-20 09:30:00.25+00","{{""k"": ""v w""}}")'


async def _plugin(db: Database, tmp_path: Path) -> tuple[PluginDatabase, PluginAccess]:
    plugin_manifest = manifest()
    plugin_id = await install_plugin(db, plugin_manifest)
    plugin_db = PluginDatabase(db, settings=PluginSqlSettings())
    await plugin_db.apply_migrations(
        plugin_id, plugin_manifest, write_package(tmp_path, {"001_items.sql": SCHEMA})
    )
    access = await plugin_db.access(plugin_id)
    await plugin_db.execute(
        access,
        f"INSERT INTO {NS}.items (id, name, size, seen, doc) VALUES ($1, 'n', 2, $2, $3)",
        [ITEM, "2026-04-20 11:30:00.25+02", {"k": "v w"}],
    )
    return plugin_db, access


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param("SELECT ROW(1, 'abc') AS r", {"r": "(1,abc)"}, id="row"),
        pytest.param(
            "SELECT (1, 'a b', NULL::text, '') AS r, ROW() AS e",
            {"r": '(1,"a b",,"")', "e": "()"},
            id="implicit-row-null-empty",
        ),
        pytest.param(f"SELECT i FROM {NS}.items i", {"i": ITEM_ROW}, id="whole-row"),
        pytest.param(f"SELECT items FROM {NS}.items", {"items": ITEM_ROW}, id="whole-row-table"),
        pytest.param(
            f"SELECT (SELECT i FROM {NS}.items i) AS sub", {"sub": ITEM_ROW}, id="in-subquery"
        ),
        pytest.param(
            "SELECT ROW(true, false, 2.5::float8, '2026-04-20 09:30:00.5+02'::timestamptz,"
            " 'a\"b\\c(,)'::text, '[1, \"x y\"]'::jsonb) AS r",
            {"r": '(t,f,2.5,"2026-04-20 07:30:00.5+00","a""b\\\\c(,)","[1, ""x y""]")'},
            id="field-outputs-and-quoting",
        ),
        pytest.param(
            f"SELECT ROW(1, ROW(2, ''), i) FROM {NS}.items i -- a trailing comment",
            {"row": '(1,"(2,"""")",' + '"' + ITEM_ROW.replace('"', '""') + '")'},
            id="nested",
        ),
    ],
)
async def test_a_row_value_comes_back_as_postgres_prints_it(
    db: Database, tmp_path: Path, sql: str, expected: dict[str, str]
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)

    assert await plugin_db.query(access, sql) == [expected]


async def test_row_comparisons_still_compare_rows(db: Database, tmp_path: Path) -> None:
    plugin_db, access = await _plugin(db, tmp_path)

    rows = await plugin_db.query(
        access,
        f"SELECT name FROM {NS}.items WHERE (size, name) > (1, 'z') AND (size, name) IN ((2, 'n'))",
    )

    assert rows == [{"name": "n"}]


@pytest.mark.parametrize(
    ("sql", "postgres", "construct"),
    [
        pytest.param(
            "SELECT coalesce(ROW(1, 2), NULL) AS r",
            [{"r": "(1,2)"}],
            "row values in COALESCE, CASE, GREATEST or LEAST",
            id="coalesce",
        ),
        pytest.param(
            f"SELECT array_agg(i) AS a FROM {NS}.items i",
            [{"a": [ITEM_ROW]}],
            "whole-row references outside a select list",
            id="aggregate",
        ),
        pytest.param(
            "SELECT ROW(1, ARRAY[1, 2]) AS r", [{"r": '(1,"{1,2}")'}], "A_ArrayExpr", id="array"
        ),
    ],
)
async def test_rows_sqlite_cannot_print_are_refused_by_name(
    db: Database,
    tmp_path: Path,
    backend: str,
    sql: str,
    postgres: list[dict[str, object]],
    construct: str,
) -> None:
    plugin_db, access = await _plugin(db, tmp_path)
    if backend == "postgres":
        assert await plugin_db.query(access, sql) == postgres
        return
    with pytest.raises(PluginSqlUnsupported) as raised:
        await plugin_db.query(access, sql)
    assert raised.value.message == f"Plugin SQL construct not supported on SQLite: {construct}"


def test_record_output_quotes_as_record_out() -> None:
    assert record_output(["1", None, "", "a b", 'q"', "b\\s", "(x,y)", "\t"]) == (
        '(1,,"","a b","q""","b\\\\s","(x,y)","\t")'
    )
