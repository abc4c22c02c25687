"""``sandbox plugin new`` (sandbox/scaffold/): the new plugin's own test passes straight after
creation, for Python and JavaScript, on both backends, without a warning; mistakes are one
error line."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from core.plugin_database import derive_namespace
from db.templates import POSTGRES_URL_ENV
from sandbox.cli import main
from sandbox.plugin_package import SUPPORTED_SDK_VERSION, SUPPORTED_SDK_VERSIONS
from tests.fixtures.author_projects import run_pytest
from tests.fixtures.workers import JS_SMOKE, ROOT

#: pytest's last line when exactly one test passed and nothing warned.
ONE_PASSED = re.compile(r"^=+ 1 passed in [0-9.]+s =+$", re.MULTILINE)


def plugin_new(*args: str) -> Result:
    return CliRunner().invoke(main, ["plugin", "new", *args])


def install_sdk(plugin: Path) -> None:
    """What ``npm install`` gives the new plugin, without the network: the node_modules of a
    fixture that pins the same SDK (installed by ``ensure_npm_installed``)."""
    pinned = json.loads((plugin / "package.json").read_text())["dependencies"]
    fixture = json.loads((JS_SMOKE / "package.json").read_text())["dependencies"]
    assert pinned == fixture == {"@paperclipai/plugin-sdk": SUPPORTED_SDK_VERSION}
    shutil.copytree(JS_SMOKE / "node_modules", plugin / "node_modules", symlinks=True)


@pytest.mark.parametrize("language", ["python", "js"])
def test_the_new_plugins_test_passes_straight_after_creation(
    language: str, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    made = plugin_new("acme.notes", f"--{language}", "--dir", str(tmp_path))
    assert made.exit_code == 0, made.output
    plugin = tmp_path / "acme.notes"
    if language == "js":
        request.getfixturevalue("js_smoke_installed")
        install_sdk(plugin)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    if backend == "postgres":  # the session's server, so the author's run starts no other one
        assert env[POSTGRES_URL_ENV]

    result = run_pytest(plugin, f"--sandbox-backend={backend}", strict_warnings=True, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert ONE_PASSED.search(result.stdout), result.stdout


def test_what_is_made_and_what_to_do_next(tmp_path: Path) -> None:
    namespace = derive_namespace("acme.notes")

    python = plugin_new("acme.notes", "--dir", str(tmp_path / "py"))
    js = plugin_new("acme.notes", "--js", "--dir", str(tmp_path / "js"))

    assert python.exit_code == js.exit_code == 0, python.output + js.output
    assert python.stdout.splitlines() == [
        f"Created the Python plugin acme.notes in {tmp_path}/py/acme.notes/",
        "  manifest.json",
        "  worker.py",
        "  migrations/001_notes.sql",
        "  tests/test_plugin.py",
        "  pytest.ini",
        "  README.md",
        "  .gitignore",
        f"Database namespace (used by migrations/001_notes.sql): {namespace}",
        "",
        "Next:",
        f"  cd {tmp_path}/py/acme.notes",
        "  pytest                              # on SQLite",
        "  pytest --sandbox-backend=both       # on SQLite and PostgreSQL",
        "  sandbox plugin install .",
    ]
    assert "  package.json\n  manifest.mjs\n  worker.mjs\n" in js.stdout
    assert "  npm install\n" in js.stdout
    for language in ("py", "js"):
        migration = tmp_path / language / "acme.notes" / "migrations" / "001_notes.sql"
        assert f"CREATE TABLE {namespace}.notes (" in migration.read_text()
    package = json.loads((tmp_path / "js" / "acme.notes" / "package.json").read_text())
    assert package["dependencies"] == {"@paperclipai/plugin-sdk": SUPPORTED_SDK_VERSION}
    # the version of the JS demo plugin, which runs on a fresh machine's Node 20 too (and whose
    # node_modules the test above gives a new plugin)
    smoke = json.loads((JS_SMOKE / "package.json").read_text())
    assert smoke["dependencies"] == package["dependencies"]


def test_every_js_fixture_pins_a_supported_sdk_version_exactly() -> None:
    """The JS fixtures run on 2026.916.1 (with Node 24, which the tests install), except the
    demo's plugin, which stays on 2026.707.0 so that the README's first command runs on Node 20."""
    pinned = {
        fixture.parent.name: json.loads(fixture.read_text())["dependencies"]
        for fixture in (ROOT / "fixtures" / "plugins").glob("*-js/package.json")
    }
    expected = {name: {"@paperclipai/plugin-sdk": "2026.916.1"} for name in pinned}
    expected["orchestration-smoke-js"] = {"@paperclipai/plugin-sdk": "2026.707.0"}
    assert pinned == expected
    assert {version for sdk in pinned.values() for version in sdk.values()} == set(
        SUPPORTED_SDK_VERSIONS
    )


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "acme.notes").mkdir()

    assert plugin_new("acme.notes", "--dir", str(tmp_path)).exit_code == 0
    assert (tmp_path / "acme.notes" / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(
            ["My Plugin"],
            "Error: Invalid plugin name 'My Plugin': Plugin id must start with a lowercase "
            "alphanumeric and contain only lowercase letters, digits, dots, hyphens, or "
            "underscores. Try 'my-plugin'",
            id="not a plugin key",
        ),
        pytest.param(
            ["_notes"],
            "Error: Invalid plugin name '_notes': Plugin id must start with a lowercase "
            "alphanumeric and contain only lowercase letters, digits, dots, hyphens, or "
            "underscores. Try 'notes'",
            id="leading underscore",
        ),
        pytest.param(
            ["acme.notes", "--python", "--js"],
            "Error: --python and --js cannot be used together: choose one",
            id="both languages",
        ),
        pytest.param(
            ["taken"],
            "Error: {dir}/taken already exists and is not an empty folder: choose another NAME "
            "or another --dir PARENT",
            id="folder taken",
        ),
    ],
)
def test_mistakes_are_one_error_line(args: list[str], error: str, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")

    result = plugin_new(*args, "--dir", str(tmp_path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [error.format(dir=tmp_path)]
    assert result.stdout == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
