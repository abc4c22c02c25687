"""``sandbox plugin trust``/``untrust`` and the ISOLATION column of ``sandbox plugin list``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fixtures.workers import ROOT

ESCAPE_PYTHON = ROOT / "fixtures" / "plugins" / "escape-python"
KEY = "sandbox-fixtures.escape-python"


def sandbox(database: str, *args: str, **env: str) -> str:
    """``sandbox ARGS --db DATABASE``; the command must succeed."""
    environ = {k: v for k, v in os.environ.items() if k != "SANDBOX_DATABASE_URL"} | env
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", *args, "--db", database],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _isolation(database: str, **env: str) -> tuple[str, str]:
    header, row = sandbox(database, "plugin", "list", **env).splitlines()
    [record] = json.loads(sandbox(database, "plugin", "list", "--json", **env))
    return row.split()[header.split().index("ISOLATION")], record["isolation"]


def test_trust_untrust_and_the_isolation_column(empty_database_url: str) -> None:
    sandbox(empty_database_url, "plugin", "install", str(ESCAPE_PYTHON))
    assert _isolation(empty_database_url) == ("contained", "contained")

    trusted = sandbox(empty_database_url, "plugin", "trust", KEY)
    assert trusted.strip() == f"{KEY} is now trusted: its worker runs uncontained"
    again = sandbox(empty_database_url, "plugin", "trust", KEY)
    assert again.strip() == f"{KEY} was already trusted: its worker runs uncontained"
    assert _isolation(empty_database_url) == ("trusted", "trusted")
    assert _isolation(empty_database_url, SANDBOX_CONTAINMENT="off") == ("off", "off")

    untrusted = sandbox(empty_database_url, "plugin", "untrust", KEY)
    assert untrusted.strip() == f"{KEY} is now contained"
    assert _isolation(empty_database_url) == ("contained", "contained")
