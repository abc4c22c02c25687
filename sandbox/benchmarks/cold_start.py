"""``sandbox bench cold-start``: from nothing to a plugin's first answer, in a fresh process.

Each run spawns a new interpreter (``sandbox.benchmarks.cold_start_run``) on a new database
and times, from the spawn to the first answer: ``startup`` (the interpreter and the standard
library), ``imports`` (the host's modules), ``database`` (opening it; on PostgreSQL, starting
the embedded server from scratch), ``migrate``, ``install`` (the orchestration smoke plugin's
manifest, migrations, worker spawn and ``initialize``), ``seed`` (a company, an agent, an
issue) and ``first_action`` (``initialize-smoke``). Every figure is the median of
``--repeats`` runs, after one run that is not counted (it fills the OS file cache and, unless
``PYTHONDONTWRITEBYTECODE`` is set, Python's bytecode cache).

DESIGN.md §8's target is ``total_ms`` <= 1 s on SQLite with the Python plugin. The JS plugin
is measured the same way. PostgreSQL has no target: its ``database`` phase starts a server.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from db import Dialect
from db.connect import fresh_database_choice
from sandbox.benchmarks.backends import (
    backend_option,
    emit,
    fixture_plugin,
    progress,
    selected,
    workdir,
)

PHASES = ("startup", "imports", "database", "migrate", "install", "seed", "first_action")
SQLITE_TARGET_MS = 1_000


def _run_once(database: str, package: Path) -> dict[str, float]:
    """One cold start in a new interpreter: its phases in milliseconds, and ``total``.

    No timeout here: every step of the run has its own (server start, worker initialize, call).
    """
    command = [sys.executable, "-m", "sandbox.benchmarks.cold_start_run", database, str(package)]
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True) as run:
            assert run.stdout is not None
            line = run.stdout.readline()  # written as soon as the first action has answered
            total_ms = (time.perf_counter() - started) * 1000
        if run.returncode != 0 or not line:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {run.returncode}"
            raise click.ClickException(f"cold start on {database} failed: {reason}")
    phases = json.loads(line)
    phases["startup"] = round(total_ms - sum(phases.values()), 1)
    return {"total": round(total_ms, 1), **phases}


def _median_run(
    directory: Path,
    backend: str,
    plugin: str,
    package: Path,
    repeats: int,
    report: Callable[[str], None],
) -> dict[str, Any]:
    runs = []
    for run in range(repeats + 1):
        step = f"run {run}/{repeats}" if run else "warm-up run"
        report(f"{backend}, {plugin} plugin: {step} ...")
        fresh = directory / f"{backend}-{plugin}-{run}"
        fresh.mkdir()
        figures = _run_once(fresh_database_choice(Dialect(backend), fresh), package)
        shutil.rmtree(fresh, ignore_errors=True)
        if run:
            runs.append(figures)
    return {
        "total_ms": round(statistics.median(r["total"] for r in runs), 1),
        "phases_ms": {p: round(statistics.median(r[p] for r in runs), 1) for p in PHASES},
    }


def run_benchmark(
    backends: tuple[str, ...],
    packages: dict[str, Path],
    repeats: int,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """Measure each backend and plugin; returns ``{backend: figures}``."""
    figures: dict[str, Any] = {}
    with workdir() as directory:
        for backend in backends:
            figures[backend] = {
                "repeats": repeats,
                "dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
                "target_ms": SQLITE_TARGET_MS if backend == "sqlite" else None,
                "plugins": {
                    plugin: _median_run(directory, backend, plugin, package, repeats, report)
                    for plugin, package in packages.items()
                },
            }
    return figures


def _table(figures: dict[str, Any]) -> str:
    first = next(iter(figures.values()))
    lines = [
        "cold start: a new process and database to the first initialize-smoke answer, "
        f"median of {first['repeats']} runs (ms)",
        f"{'backend':<10} {'plugin':<7} {'total':>7}"
        + "".join(f" {p.replace('_', ' '):>12}" for p in PHASES),
    ]
    for backend, values in figures.items():
        for plugin, row in values["plugins"].items():
            lines.append(
                f"{backend:<10} {plugin:<7} {row['total_ms']:>7.0f}"
                + "".join(f" {row['phases_ms'][p]:>12.1f}" for p in PHASES)
            )
    lines.append(
        f"target (DESIGN.md §8): <= {SQLITE_TARGET_MS} ms on SQLite; PostgreSQL's 'database' "
        "phase starts its embedded server (no target)"
    )
    if first["dont_write_bytecode"]:
        lines.append("PYTHONDONTWRITEBYTECODE is set: modules without a .pyc compile on every run")
    return "\n".join(lines)


@click.command("cold-start")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option(
    "--repeats", default=5, show_default=True, type=click.IntRange(1), help="Runs per median."
)
@backend_option
def cold_start_command(as_json: bool, repeats: int, backend: str) -> None:
    """Time a fresh process from nothing to a plugin's first answer, phase by phase."""
    packages = {
        "python": fixture_plugin("orchestration-smoke-python"),
        "js": fixture_plugin("orchestration-smoke-js", node=True),
    }
    emit(run_benchmark(selected(backend), packages, repeats, progress), as_json, _table)


__all__ = ["cold_start_command", "run_benchmark"]
