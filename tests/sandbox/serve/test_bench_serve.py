"""``sandbox bench serve`` end to end with small numbers: real ``sandbox serve`` processes on
both backends, figures present and positive (no speed is asserted).

The two backends run as two benchmark processes at once: each spends most of its time waiting
(host start-up, the 10 s until a killed host counts as dead), so together they stay well within
the time one would take after the other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

ENTRY = "from sandbox.benchmarks.serve import serve_command; serve_command()"
SMALL = ("--requests", "50", "--concurrency", "8", "--runs", "20")
KEYS = (
    "requests",
    "concurrency",
    "runs",
    "requests_per_s",
    "route_median_ms",
    "route_p95_ms",
    "runs_per_s_1_host",
    "runs_per_s_4_hosts",
    "recovered_runs",
    "recovery_s",
)


def test_bench_serve_reports_positive_figures_on_both_backends() -> None:
    processes = {
        backend: subprocess.Popen(
            [sys.executable, "-c", ENTRY, "--json", "--backend", backend, *SMALL],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for backend in ("sqlite", "postgres")
    }
    outputs: dict[str, tuple[int, str, str]] = {}
    try:
        for backend, process in processes.items():
            stdout, stderr = process.communicate(timeout=170)
            outputs[backend] = (process.returncode, stdout, stderr)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    for backend, (code, stdout, stderr) in outputs.items():
        assert code == 0, f"{backend}: exit {code}\n{stderr}"
        figures: dict[str, Any] = json.loads(stdout)
        assert list(figures) == [backend]
        values = figures[backend]
        assert set(values) == set(KEYS), stderr
        for key in KEYS:
            assert isinstance(values[key], int | float) and values[key] > 0, (backend, key)
        assert (values["requests"], values["concurrency"], values["runs"]) == (50, 8, 20)
        assert values["recovered_runs"] == 4
        assert "recovery of a killed host's runs" in stderr  # progress goes to stderr
