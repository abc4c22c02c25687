"""Upstream's text rules, reproduced with their quirks (reference §8): they only ever refuse,
so the sandbox refuses whatever production refuses."""

from __future__ import annotations

import pytest

from core.plugin_database import Mode, PluginSqlRejected, check_migration, check_runtime
from core.plugin_database.upstream_rules import normalise, qualified_refs, split_statements


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';'; -- a; comment\nSELECT 2", ["SELECT ';'", "-- a; comment\nSELECT 2"]),
        ("SELECT 1; -- trailing", ["SELECT 1", "-- trailing"]),
        ("SELECT 'it''s; fine'", ["SELECT 'it''s; fine'"]),
        ("/* a; b */ SELECT 1", ["/* a; b */ SELECT 1"]),
        (" ;\n ; ", []),
        # Dollar quotes are not understood: the quote inside hides the semicolons.
        ("SELECT $a$'$a$; UPDATE x; SELECT $b$'$b$", ["SELECT $a$'$a$; UPDATE x; SELECT $b$'$b$"]),
    ],
)
def test_the_splitter(text: str, pieces: list[str]) -> None:
    assert split_statements(text) == pieces


def test_normalise_blanks_literals_then_drops_comments() -> None:
    assert normalise("SELECT 'x' -- c\n FROM  \"T\" /* b */") == "select '' from \"\""
    # Literals go first, so an apostrophe in a comment pairs with a later quote, and the
    # comment then swallows the whole statement: upstream refuses such a migration.
    assert normalise("-- it's\nCREATE TABLE t (x text DEFAULT 'y')") == ""


def test_only_keyword_adjacent_qualified_names_are_extracted() -> None:
    refs = qualified_refs(
        'SELECT * FROM ns.a, public.b JOIN "ns"."c" ON true WHERE x IN (SELECT 1 FROM d)'
    )
    assert [(r.keyword, r.schema, r.table) for r in refs] == [
        ("from", "ns", "a"),
        ("join", "ns", "c"),
    ]
    assert qualified_refs("CREATE UNIQUE INDEX IF NOT EXISTS i ON ns.t (x)")[0].keyword == (
        "create index"
    )


def test_false_positives_are_kept() -> None:
    with pytest.raises(PluginSqlRejected, match=r"\\bcopy\\b"):
        check_runtime("SELECT copy FROM ns.t", Mode.QUERY, "ns", [])
    check_runtime('SELECT "copy" FROM ns.t', Mode.QUERY, "ns", [])
    with pytest.raises(PluginSqlRejected, match="cannot reference public"):
        check_runtime("UPDATE ns.t SET note = 'join public.issues'", Mode.EXECUTE, "ns", [])


def test_a_trailing_comment_is_a_second_piece() -> None:
    with pytest.raises(PluginSqlRejected, match="exactly one statement"):
        check_runtime("SELECT 1 FROM ns.t; -- done", Mode.QUERY, "ns", [])
    with pytest.raises(PluginSqlRejected, match="DDL or namespace-scoped backfill"):
        check_migration("CREATE TABLE ns.t (id int); /* tail */", "001.sql", "ns", [])


def test_namespace_must_be_a_plain_identifier() -> None:
    with pytest.raises(PluginSqlRejected, match='Unsafe SQL namespace: bad"ns'):
        check_migration('CREATE TABLE "bad""ns".t (id int)', "001.sql", 'bad"ns', [])
