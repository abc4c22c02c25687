"""Errors that point to the fix, as a plugin author meets them in the CLI (issue 11): a real
``sandbox`` subprocess on a never-migrated database of each backend."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from core.plugin_database import derive_namespace
from tests.fixtures.plugin_packages import DEFAULT_CAPABILITIES, write_plugin
from tests.sandbox.test_plugin_cli import ok, sandbox

KEY = "acme.tracker"
NS = derive_namespace(KEY, None)
CAPABILITIES = (*DEFAULT_CAPABILITIES, "database.namespace.migrate", "database.namespace.read")
WORKER = """
def setup(ctx: Any) -> None:
    ctx.actions.register("sync-issue", lambda params, context: {"synced": True})

plugin = define_plugin(setup=setup)
"""
NOTES = f"-- the plugin's tables\nCREATE TABLE {NS}.notes (id uuid PRIMARY KEY);\n"
BROKEN_TAGS = f"\nCREATE TABLE {NS}.tags (\n  id uuid PRIMARY KEY,\n  label text NOT NUL\n);\n"


def _plugin(directory: Path, key: str = KEY, **fields: object) -> Path:
    return write_plugin(directory, WORKER, key=key, capabilities=CAPABILITIES, **fields)


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one ``Error:`` line of a refused command (after progress lines, if any)."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_migration_errors_name_the_place_and_the_way_out(
    empty_database_url: str, tmp_path: Path
) -> None:
    db = empty_database_url
    broken = _plugin(tmp_path / "broken", migrations={"001_init.sql": NOTES + BROKEN_TAGS})
    assert error_line(sandbox(db, "plugin", "install", str(broken))) == (
        'Error: Activation failed: syntax error at or near "NUL" (migrations/001_init.sql, '
        f"statement 2 at line 6: CREATE TABLE {NS}.tags ( id uuid PRIMARY KEY, label...)"
    )

    key = "acme.notes"
    notes_ns = derive_namespace(key, None)
    package = _plugin(
        tmp_path / "notes",
        key=key,
        migrations={"001_init.sql": f"CREATE TABLE {notes_ns}.notes (id uuid PRIMARY KEY);\n"},
    )
    ok(sandbox(db, "plugin", "install", str(package)))
    (package / "migrations" / "001_init.sql").write_text(
        f"CREATE TABLE {notes_ns}.notes (id uuid PRIMARY KEY, body text);\n"
    )
    ok(sandbox(db, "plugin", "disable", key))
    assert error_line(sandbox(db, "plugin", "enable", key)) == (
        "Error: Activation failed: Plugin migration checksum mismatch for 001_init.sql -- "
        "applied migrations are immutable: put the change in a new migration file, or start "
        f"over with `sandbox plugin uninstall {key} --remove-data` (this deletes the plugin's "
        "tables and data) and install it again"
    )


def test_typos_get_did_you_mean(empty_database_url: str, tmp_path: Path) -> None:
    db = empty_database_url
    ok(sandbox(db, "seed"))
    ok(sandbox(db, "plugin", "install", str(_plugin(tmp_path / "tracker"))))

    action = ("action", KEY, "sync-issue", "--company", "ACM")
    assert json.loads(ok(sandbox(db, *action))) == {"synced": True}
    assert error_line(sandbox(db, "action", KEY, "sync-issu", "--company", "ACM")) == (
        'Error: No action handler registered for key "sync-issu" -- did you mean '
        '"sync-issue"? (WORKER_ERROR -32002)'
    )
    assert error_line(sandbox(db, "action", KEY, "sync-issue", "--company", "ACX")) == (
        'Error: Company not found: ACX -- did you mean "ACM"?'
    )
    assert error_line(sandbox(db, "action", "acme.trackr", "sync-issue", "--company", "ACM")) == (
        'Error: Plugin not found: acme.trackr -- did you mean "acme.tracker"?'
    )
    assert error_line(sandbox(db, "plugin", "logs", "acme.trakcer")) == (
        'Error: Plugin not found: acme.trakcer -- did you mean "acme.tracker"?'
    )
    assert error_line(sandbox(db, "plugin", "logs", "nobody.else")) == (
        "Error: Plugin not found: nobody.else"
    )

    typo = write_plugin(tmp_path / "typo", WORKER, key="acme.typo", capabilities=["issues.creat"])
    line = error_line(sandbox(db, "plugin", "install", str(typo)))
    assert line.startswith(
        'Error: Invalid plugin manifest: capabilities.0: Invalid option: expected one of "'
        'companies.read"|'
    )
    assert line.endswith('|"ui.action.register" -- capabilities.0: did you mean "issues.create"?')
