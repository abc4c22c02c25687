"""``sandbox bench plugins`` and ``sandbox bench cold-start``, run as a user runs them.

Benchmarks are programs, never timed tests (DESIGN.md §7): each smoke test runs its command
once with tiny counts and checks the JSON shape and that every figure is a positive number.

SQLite only, on purpose: the commands start their own embedded PostgreSQL server (cold start
even starts one per run, as that is what it measures), while the PostgreSQL leg of this suite
already runs one. A second server per test would cost far more than the test checks; the
PostgreSQL path differs only in the database choice handed to ``open_database``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.fixtures.workers import JS_SMOKE, ROOT, ensure_npm_installed

BENCH_JS = ROOT / "fixtures" / "plugins" / "bench-js"


@pytest.fixture(scope="module")
def js_plugins_installed() -> None:
    """The pinned SDK of the JS plugins both commands run."""
    ensure_npm_installed(BENCH_JS)
    ensure_npm_installed(JS_SMOKE)


def bench(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "bench", *args, "--json", "--backend", "sqlite"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@pytest.mark.usefixtures("js_plugins_installed")
def test_plugins_command_reports_every_worker_kind() -> None:
    figures = bench("plugins", "--calls", "5", "--creates", "5")

    assert list(figures) == ["sqlite"]
    sqlite = figures["sqlite"]
    assert (sqlite["calls"], sqlite["creates"]) == (5, 5)
    assert list(sqlite["workers"]) == ["python-in-process", "python-subprocess", "js-subprocess"]
    for row in sqlite["workers"].values():
        assert set(row) == {
            "round_trip_median_us",
            "round_trip_p95_us",
            "worker_call_median_us",
            "creates_per_s",
            "creates_host_ms",
            "creates_plugin_ms",
        }
        assert all(positive(value) for value in row.values()), row
    assert positive(sqlite["direct_creates_per_s"])


@pytest.mark.usefixtures("js_plugins_installed")
def test_cold_start_command_reports_every_phase() -> None:
    figures = bench("cold-start", "--repeats", "1")

    assert list(figures) == ["sqlite"]
    sqlite = figures["sqlite"]
    assert (sqlite["repeats"], sqlite["target_ms"]) == (1, 1000)
    assert isinstance(sqlite["dont_write_bytecode"], bool)
    assert list(sqlite["plugins"]) == ["python", "js"]
    for plugin in sqlite["plugins"].values():
        assert positive(plugin["total_ms"])
        assert list(plugin["phases_ms"]) == [
            "startup",
            "imports",
            "database",
            "migrate",
            "install",
            "seed",
            "first_action",
        ]
        assert all(positive(value) for value in plugin["phases_ms"].values()), plugin
