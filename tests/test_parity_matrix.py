"""The parity matrix's own promises, checked by running small pytest sessions in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE_TESTS = """
import pytest

async def test_uses_db(db):
    assert db is not None

async def test_skips(db, backend):
    # The probe skips one backend on purpose: the matrix must turn that skip into a failure.
    if backend == "postgres":
        pytest.skip("probe: a skipped backend test must fail the parity matrix")
"""


def run_probe(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_probe.py").write_text(PROBE_TESTS)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            "-o",
            "asyncio_mode=auto",
            str(tmp_path),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_fails_loudly_when_postgres_cannot_start(tmp_path: Path) -> None:
    result = run_probe(
        tmp_path, env={"SANDBOX_TEST_POSTGRES_URL": "postgresql://nobody@127.0.0.1:9/none"}
    )
    assert result.returncode == 4  # pytest's usage error: nothing ran
    assert "PostgreSQL for the parity matrix could not start" in result.stderr
    assert "--backend sqlite" in result.stderr


def test_a_skipped_backend_test_fails_the_run_and_counts_show_per_backend(tmp_path: Path) -> None:
    result = run_probe(tmp_path, "-k", "test_skips or test_uses_db")
    assert result.returncode == 1, result.stdout
    assert "backend test skipped (not allowed)" in result.stdout
    assert "parity matrix: sqlite: 2 tests (2 passed; clean database in" in result.stdout, (
        result.stdout
    )
    assert "postgres: 2 tests (1 passed, 1 skipped;" in result.stdout


def test_one_backend_on_purpose_runs_only_that_leg(tmp_path: Path) -> None:
    result = run_probe(tmp_path, "--backend", "sqlite")
    assert result.returncode == 0, result.stdout
    assert "parity matrix: sqlite: 2 tests (2 passed;" in result.stdout
    assert "postgres:" not in result.stdout
