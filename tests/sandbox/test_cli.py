"""The ``sandbox db`` commands, run as a user runs them: a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from core.manifest import HOST_VERSION
from db.migrate import head_revision
from sandbox.cli import main


def sandbox(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_upgrade_current_downgrade(empty_database_url: str) -> None:
    fresh = sandbox("db", "current", "--db", empty_database_url, "--json")
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout) | {"database": None} == {
        "database": None,
        "revision": None,
        "head": head_revision(),
        "upToDate": False,
    }

    upgraded = sandbox("db", "upgrade", "--db", empty_database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"Database at revision {head_revision()}"
    assert "Migrating" in upgraded.stderr

    current = sandbox("db", "current", "--db", empty_database_url, "--json")
    assert json.loads(current.stdout)["upToDate"] is True

    downgraded = sandbox("db", "downgrade", "base", "--db", empty_database_url)
    assert downgraded.returncode == 0, downgraded.stderr
    assert downgraded.stdout.strip() == "Database at revision base (empty)"


def test_default_database_lives_in_dot_sandbox(tmp_path: Path) -> None:
    result = sandbox("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".sandbox" / "sandbox.db").is_file()
    shown = sandbox("db", "current", cwd=tmp_path)
    assert shown.stdout.strip() == (
        f"SQLite .sandbox/sandbox.db: revision {head_revision()} (up to date)"
    )


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("mysql://u@h/app", "Error: unsupported database 'mysql'"),
        ("sqlite:///:memory:", "Error: an in-memory SQLite database cannot be shared"),
        ("{tmp}/a-file/x.db", "Error: cannot create the folder of the SQLite file"),
    ],
)
def test_user_mistakes_give_one_line_and_exit_1(
    database: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = sandbox("db", "upgrade", "--db", database.format(tmp=tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def test_every_command_has_help() -> None:
    """Walks the whole command tree in-process, so a new command cannot miss its help."""
    runner = CliRunner()
    walked = list(_commands(main))
    assert ("plugin", "install") in walked and ("bench", "cold-start") in walked
    for path in walked:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith(f"Usage: main {' '.join(path)}".rstrip()), path
        command = main
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        assert command.help, f"{path} has no help text"


def test_the_installed_entry_point_answers() -> None:
    script = Path(sys.executable).with_name("sandbox")
    for command in ([str(script)], [sys.executable, "-m", "sandbox"]):
        result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout and "plugin" in result.stdout


def test_the_version_names_the_paperclip_release_the_host_mirrors() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip().endswith(f"(mirrors Paperclip {HOST_VERSION})")
    assert HOST_VERSION == "2026.707.0"


@pytest.fixture
def postgres_data_root() -> Iterator[Path]:
    """A data folder the server's own user can reach: not under pytest's 0700 temp root, whose
    mode any other pytest session (the parity-matrix probes) resets at any moment."""
    root = Path(tempfile.mkdtemp(prefix="sandbox-cli-pg-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres_only
def test_embedded_postgres_choice(postgres_data_root: Path) -> None:
    data = postgres_data_root / "pg"
    upgraded = sandbox("db", "upgrade", "--db", f"embedded-postgres:{data}")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Starting embedded PostgreSQL" in upgraded.stderr
    assert upgraded.stdout.strip() == f"Database at revision {head_revision()}"
    current = sandbox("db", "current", "--db", f"embedded-postgres:{data}", "--json")
    assert json.loads(current.stdout)["upToDate"] is True


@pytest.mark.postgres_only
def test_plugin_sql_benchmark_reports_both_backends() -> None:
    result = sandbox("bench", "plugin-sql", "--iterations", "2", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) == {"sqlite", "postgres"}
    for values in figures.values():
        assert values["statements"] == len(values["by_statement"]) >= 10
        for key in ("policy_rewrite_cold_us", "policy_rewrite_cached_us", "raw_execution_us"):
            assert values[key] > 0
        assert values["policy_rewrite_cached_us"] < values["policy_rewrite_cold_us"]
    assert "Starting embedded PostgreSQL" in result.stderr
    assert "Measuring sqlite" in result.stderr
