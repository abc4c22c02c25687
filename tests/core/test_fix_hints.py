"""Errors that point to the fix (issue 11): a refused or failing migration statement names its
file, ordinal, line and text; a checksum mismatch says what to do; a mistyped manifest enum
value gets "did you mean". Upstream's message always comes first, unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import Conflict
from core.manifest import InvalidManifest, parse_manifest
from core.plugin_database import PluginDatabase, PluginSqlInvalid, PluginSqlRejected
from core.plugin_database.policy import check_migration
from core.plugin_database.statement_place import StatementPlace, place_of
from core.suggestions import close_matches, did_you_mean
from db import Database
from tests.fixtures.plugin_database import install_plugin, manifest, write_package

NS = "plugin_paperclip_dbtest_f9c12a21cb"

#: How errors quote its second statement: the first 80 characters.
TAGS_EXCERPT = f"CREATE TABLE {NS}.tags ( id uuid PRIMARY KEY, l..."
#: Line 1 a comment, statement 1 on line 2, statement 2 from line 4, its typo on line 6.
SYNTAX_ERROR = (
    "-- the plugin's tables\n"
    f"CREATE TABLE {NS}.notes (id uuid PRIMARY KEY);\n"
    "\n"
    f"CREATE TABLE {NS}.tags (\n"
    "  id uuid PRIMARY KEY,\n"
    "  label text NOT NUL\n"
    ");\n"
)


class TestDidYouMean:
    @pytest.mark.parametrize(
        ("word", "known", "expected"),
        [
            pytest.param("issues.creat", ["issues.create", "issues.read"], ["issues.create"]),
            pytest.param("acme.trackr", ["acme.tracker", "acme.other"], ["acme.tracker"]),
            pytest.param("acx", ["ACM", "BET"], ["ACM"], id="case is ignored, kept in the answer"),
            pytest.param("acn", ["ACM", "ACX"], ["ACM", "ACX"], id="a tie names both"),
            pytest.param("zzz", ["acme.tracker"], [], id="nothing close"),
        ],
    )
    def test_close_matches(self, word: str, known: list[str], expected: list[str]) -> None:
        assert close_matches(word, known) == expected

    def test_wording(self) -> None:
        assert did_you_mean("acme.trackr", ["acme.tracker"]) == 'did you mean "acme.tracker"?'
        assert did_you_mean("acn", ["ACM", "ACX"]) == 'did you mean "ACM" or "ACX"?'
        assert did_you_mean("zzz", ["acme.tracker"]) is None


class TestMigrationStatementPlace:
    def test_a_syntax_error_is_placed_on_the_line_the_parser_names(self) -> None:
        with pytest.raises(PluginSqlInvalid) as raised:
            check_migration(SYNTAX_ERROR, "001_init.sql", NS, [])
        assert raised.value.message == 'syntax error at or near "NUL"'  # upstream's, unchanged
        assert place_of(raised.value) == StatementPlace(2, 6, TAGS_EXCERPT)

    def test_a_refused_statement_is_placed_at_its_first_word(self) -> None:
        content = f"CREATE TABLE {NS}.a (id int);\n/* public */ CREATE TABLE public.b (id int);"
        with pytest.raises(PluginSqlRejected) as raised:
            check_migration(content, "001_init.sql", NS, [])
        assert raised.value.message == "Plugin SQL references public.b, which is not whitelisted"
        assert place_of(raised.value) == StatementPlace(2, 2, "CREATE TABLE public.b (id int)")

    def test_accepted_statements_carry_their_place_and_long_text_is_cut(self) -> None:
        columns = ", ".join(f"column_{n} text" for n in range(12))
        content = f"CREATE TABLE {NS}.a (id int);\n\n  -- wide\n  CREATE TABLE {NS}.b ({columns});"
        first, second = check_migration(content, "001_init.sql", NS, [])
        assert first.place == StatementPlace(1, 1, f"CREATE TABLE {NS}.a (id int)")
        assert second.place == StatementPlace(
            2, 4, f"CREATE TABLE {NS}.b (column_0 text, column_1 te..."
        )
        assert second.place is not None and len(second.place.text) == 80


async def _plugin(db: Database, tmp_path: Path, files: dict[str, str]) -> tuple[Any, ...]:
    plugin_manifest = manifest()
    return (
        PluginDatabase(db),
        await install_plugin(db, plugin_manifest),
        plugin_manifest,
        write_package(tmp_path, files),
    )


async def test_a_migration_syntax_error_names_the_file_statement_and_line(
    db: Database, tmp_path: Path
) -> None:
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, {"001_init.sql": SYNTAX_ERROR}
    )
    with pytest.raises(PluginSqlInvalid) as raised:
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    assert raised.value.message == (
        'syntax error at or near "NUL" (migrations/001_init.sql, statement 2 at line 6: '
        f"{TAGS_EXCERPT})"
    )
    assert raised.value.details["statement"] == {
        "file": "migrations/001_init.sql",
        "ordinal": 2,
        "line": 6,
        "text": TAGS_EXCERPT,
    }


async def test_a_statement_the_database_refuses_names_its_place(
    db: Database, tmp_path: Path
) -> None:
    content = (
        f"CREATE TABLE {NS}.notes (id uuid PRIMARY KEY);\n"
        f"CREATE TABLE {NS}.tags (id uuid PRIMARY KEY);\n"
        "\n"
        f"CREATE TABLE {NS}.notes (id uuid PRIMARY KEY);\n"
    )
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, {"001_init.sql": content}
    )
    with pytest.raises(PluginSqlInvalid) as raised:
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    assert raised.value.message == (
        'relation "notes" already exists (migrations/001_init.sql, statement 3 at line 4: '
        f"CREATE TABLE {NS}.notes (id uuid PRIMARY KEY))"
    )


async def test_an_edited_applied_migration_says_what_to_do(db: Database, tmp_path: Path) -> None:
    plugin_db, plugin_id, plugin_manifest, package = await _plugin(
        db, tmp_path, {"001_init.sql": f"CREATE TABLE {NS}.notes (id uuid PRIMARY KEY);"}
    )
    await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    write_package(tmp_path, {"001_init.sql": f"CREATE TABLE {NS}.notes (id uuid, body text);"})

    with pytest.raises(Conflict) as raised:
        await plugin_db.apply_migrations(plugin_id, plugin_manifest, package)
    assert raised.value.message == (
        "Plugin migration checksum mismatch for 001_init.sql -- applied migrations are "
        "immutable: put the change in a new migration file, or start over with `sandbox plugin "
        "uninstall paperclip.dbtest --remove-data` (this deletes the plugin's tables and data) "
        "and install it again"
    )


def _manifest(**fields: object) -> dict[str, object]:
    return {
        "id": "acme.tracker",
        "apiVersion": 1,
        "version": "1.0.0",
        "displayName": "Tracker",
        "description": "Tracks.",
        "author": "Acme",
        "categories": ["automation"],
        "capabilities": ["companies.read"],
        "entrypoints": {"worker": "./worker.py"},
        **fields,
    }


class TestManifestEnumSuggestions:
    def test_a_capability_typo_gets_did_you_mean_after_upstreams_message(self) -> None:
        with pytest.raises(InvalidManifest) as raised:
            parse_manifest(_manifest(capabilities=["companies.read", "issues.creat"]))
        upstream = raised.value.details["issues"][0]["message"]
        # zod 4 lists the options but not the value: the hint takes the value from the input.
        assert upstream.startswith('Invalid option: expected one of "companies.read"|')
        assert 'issues.creat"' not in upstream
        assert raised.value.message == (
            f"Invalid plugin manifest: capabilities.1: {upstream} -- capabilities.1: did you "
            'mean "issues.create"?'
        )

    def test_each_close_enum_value_gets_its_hint(self) -> None:
        raw = _manifest(capabilities=["issues.creat"], categories=["automaton"])
        with pytest.raises(InvalidManifest) as raised:
            parse_manifest(raw)
        assert raised.value.message.endswith(
            ' -- categories.0: did you mean "automation"?; capabilities.0: did you mean '
            '"issues.create"?'
        )

    def test_nothing_close_adds_nothing(self) -> None:
        with pytest.raises(InvalidManifest) as raised:
            parse_manifest(_manifest(capabilities=["zzz"]))
        upstream = raised.value.details["issues"][0]["message"]
        assert raised.value.message == f"Invalid plugin manifest: capabilities.0: {upstream}"
