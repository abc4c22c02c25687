"""``sandbox tui`` as a reviewer runs it: in a real terminal (tmux), on a real database of each
backend, while ``sandbox action`` runs a real plugin worker in another process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from db.migrate import head_revision
from tests.fixtures.terminal import Tmux, run_in_terminal, sandbox_command
from tests.fixtures.workers import PYTHON_SMOKE

SMOKE_KEY = "paperclipai.plugin-orchestration-smoke-example"


def _sandbox(database: str, *args: str) -> str:
    result = subprocess.run(
        [*sandbox_command(*args), "--db", database], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def seeded(empty_database_url: str) -> tuple[str, str]:
    """A database with a company (ACM), an engineer, a root issue and the smoke plugin."""
    seed = json.loads(_sandbox(empty_database_url, "seed", "--json"))
    _sandbox(empty_database_url, "plugin", "install", str(PYTHON_SMOKE))
    return empty_database_url, seed["issue"]["id"]


def test_a_plugin_action_shows_up_on_the_screen(seeded: tuple[str, str]) -> None:
    database, root = seeded
    tmux = Tmux(sandbox_command("tui", "--db", database))
    try:
        tmux.wait_for("1 Activity", "LIVE")
        before = tmux.screen()
        assert "ACM-2" not in before

        _sandbox(
            database,
            "action",
            SMOKE_KEY,
            "initialize-smoke",
            "--company",
            "ACM",
            "--params",
            json.dumps({"issueId": root}),
        )

        screen = tmux.wait_for("issue ACM-2", "issue ACM-3", "issue.relations.updated")
        assert "paperclipai.plugin-orch" in screen  # the plugin's key, as the actor
        tmux.press("4")
        screen = tmux.wait_for("Capabilities: declared against used", "issues.create")
        assert "used" in screen
        tmux.press("q")
        assert tmux.exit_status() == 0
    finally:
        tmux.close()


def _fingerprint(database: str) -> object:
    """What would change if anything wrote: SQLite, the bytes of the file and its WAL;
    PostgreSQL, the rows inserted, updated and deleted in the database so far."""
    if database.startswith("sqlite"):
        path = Path(database.split("///", 1)[1])
        files = [path, path.with_name(path.name + "-wal")]
        return [file.read_bytes() if file.exists() else b"" for file in files]
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    async def counters() -> int:
        url = make_url(database).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            # Backends publish their counts when they end (or go idle): read until they settle.
            seen: list[int] = []
            while len(seen) < 3 or len(set(seen[-3:])) > 1:
                await connection.execute("SELECT pg_stat_clear_snapshot()")
                seen.append(
                    await connection.fetchval(
                        "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables"
                    )
                )
                await asyncio.sleep(0.4)
            return seen[-1]
        finally:
            await connection.close()

    return asyncio.run(counters())


def test_the_tui_writes_nothing(seeded: tuple[str, str]) -> None:
    """Read-only: browsing every screen leaves the database as it was."""
    database, _ = seeded
    before = _fingerprint(database)
    tmux = Tmux(sandbox_command("tui", "--db", database))
    try:
        tmux.wait_for("LIVE")
        for key, text in (
            ("2", "Heartbeat runs"),
            ("3", "Costs by"),
            ("4", "Capabilities"),
            ("1", "on behalf of"),
        ):
            tmux.press(key)
            tmux.wait_for(text)
        tmux.press("space")
        tmux.wait_for("PAUSED")
        tmux.press("q")
        assert tmux.exit_status() == 0
    finally:
        tmux.close()
    assert _fingerprint(database) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--company", "NOPE"), "Error: Company not found: NOPE (companies: ACM)"),
        (
            ("--plugin", "nope.plugin"),
            f"Error: Plugin not found: nope.plugin (installed: {SMOKE_KEY})",
        ),
        (("--theme", "neon"), "Error: unknown theme 'neon': choose one of"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    seeded: tuple[str, str], args: tuple[str, ...], message: str
) -> None:
    database, _ = seeded
    status, output = run_in_terminal(sandbox_command("tui", "--db", database, *args))
    assert status == 1, output
    assert "Traceback" not in output
    assert output.strip().splitlines()[-1].startswith(message), output


def test_databases_the_tui_cannot_show(tmp_path: Path, empty_database_url: str) -> None:
    missing = tmp_path / "missing.db"
    status, output = run_in_terminal(sandbox_command("tui", "--db", str(missing)))
    assert status == 1
    assert output.strip().endswith(
        f"Error: no SQLite database at {missing}: run `sandbox demo --db {missing}` to make one"
    ), output
    assert not missing.exists()  # looking does not create it

    if empty_database_url.startswith("sqlite"):  # an empty SQLite database is an empty file
        Path(empty_database_url.split("///", 1)[1]).touch()
    status, output = run_in_terminal(sandbox_command("tui", "--db", empty_database_url))
    assert status == 1
    assert "Error: the database is empty: run `sandbox demo --db" in output

    _sandbox(empty_database_url, "db", "upgrade", "--revision", "0002")
    status, output = run_in_terminal(sandbox_command("tui", "--db", empty_database_url))
    assert status == 1
    assert (
        "Error: the database is at revision 0002 and the sandbox needs "
        f"{head_revision()}: run `sandbox db upgrade --db" in output
    )

    _sandbox(empty_database_url, "db", "upgrade")
    _sandbox(empty_database_url, "seed")
    _sandbox(empty_database_url, "seed")
    status, output = run_in_terminal(sandbox_command("tui", "--db", empty_database_url))
    assert status == 1
    assert (
        "Error: the database has 2 companies: choose one with --company (companies: ACM, "
        "ACMA)" in output
    )


def test_a_bad_keymap_is_refused_before_the_screen_is_drawn(
    seeded: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, _ = seeded
    keymap = tmp_path / "keys.toml"
    keymap.write_text('pause = "p"\nexplode = "x"\n')
    monkeypatch.setenv("SANDBOX_TUI_KEYMAP", str(keymap))
    status, output = run_in_terminal(sandbox_command("tui", "--db", database))
    assert status == 1
    assert f"Error: the keymap {keymap} names unknown key ids explode; known ids:" in output


def test_without_a_terminal_it_says_so() -> None:
    result = subprocess.run(sandbox_command("tui"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: sandbox tui needs a terminal: run it in one, not in a pipe"
    )
