"""``sandbox bench isolation``, run as a user runs it, with tiny floods and short limits.

A smoke test (benchmarks are programs, never timed tests): the command runs once on SQLite
and reports every flood with positive figures and how it ended; the floods themselves are
tested on both backends in ``tests/sandbox/containment/test_floods.py``. SQLite only for the
reason ``test_bench_plugins`` gives: the command starts its own embedded PostgreSQL server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sandbox.benchmarks.isolation import floods

#: Limits shortened so that the endless statements end quickly.
SHORT_LIMITS = {
    "SANDBOX_PLUGIN_SQL_TIMEOUT_MS": "300",
    "SANDBOX_PLUGIN_SQL_WRITE_TIMEOUT_MS": "300",
    "SANDBOX_PLUGIN_MIGRATION_LOCK_MS": "300",
}


def test_isolation_command_reports_every_flood_and_how_it_ended() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "bench", "isolation", "--json", "--backend", "sqlite",
         "--scale", "0.01"],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | SHORT_LIMITS,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert list(figures) == ["sqlite"]
    rows = figures["sqlite"]
    assert list(rows) == [flood.name for flood in floods(0.01)]
    for row in rows.values():
        assert row["bystander_calls"] >= 20 and row["host_creates"] >= 20
        assert 0 < row["bystander_median_ms"] <= row["bystander_p99_ms"]
        assert row["host_create_max_ms"] > 0
    assert "SANDBOX_PLUGIN_SQL_WRITE_TIMEOUT_MS" in rows["long-writes"]["ended"]
    assert "SANDBOX_PLUGIN_SQL_TIMEOUT_MS" in rows["slow-reads"]["ended"]
    assert "SANDBOX_PLUGIN_MIGRATION_LOCK_MS" in rows["migration"]["ended"]
