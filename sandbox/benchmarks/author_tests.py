"""``sandbox bench author-tests``: what the ``plugin_sandbox`` fixture costs a plugin author's test.

The test is the one ``sandbox plugin new`` writes, on the plugin it writes: the bench generates
that plugin (``sandbox.scaffold.create_plugin``) in Python and in JavaScript into its work
folder (the JS one gets the ``node_modules`` of the JS fixture plugin, which pins the same SDK),
then runs the test as the fixture runs it: a fresh database from the session's
``SandboxDatabases``, a ``PluginSandbox`` on it, the plugin installed from its folder
(manifest, migration, worker started and initialised), a company, an agent and an issue
assigned to it seeded, one ``add-note`` action (one ``ctx.issues.get`` and one
``ctx.db.execute`` INSERT from inside the worker), the row read back from the plugin's table,
then the teardown (workers stopped, database dropped). Each plugin runs one untimed warm-up
test, then ``--runs`` timed ones in a row, on each backend.

Per plugin and backend it prints the median and p90 of a test, the wall time of the whole
sequence divided by the runs (work moved to the background shows up there), and the median of
each phase. The same test on upstream's in-memory ``createTestHarness`` (``author_tests.mjs``,
run by Node from the generated JS plugin's folder and timed inside Node; it starts no worker
and records ``ctx.db.execute`` instead of running SQL) is printed beside.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sandbox.benchmarks.backends import (
    backend_option,
    emit,
    fixture_plugin,
    progress,
    selected,
    workdir,
)
from sandbox.harness import PluginSandbox, SandboxDatabases
from sandbox.scaffold import Language, create_plugin
from sandbox.spare_workers import SpareWorkers

#: The targets of a test's cost on the fixture, in ms, for a Python worker (JS: twice these).
TARGET_MS = {"sqlite": 40.0, "postgres": 120.0}
PHASES = ("database", "install", "seed", "action", "check", "teardown")
#: The key (and folder name) of the plugin the bench generates.
PLUGIN_KEY = "bench.notes"
#: Upstream's harness scenario; copied into the generated JS plugin's folder and run there.
HARNESS_SCRIPT = Path(__file__).resolve().parent / "author_tests.mjs"
#: Upstream's harness runs in one Node process; this bounds it.
HARNESS_TIMEOUT = 120.0


def _p90(samples: list[float]) -> float:
    """The 90th percentile, nearest rank."""
    ordered = sorted(samples)
    return ordered[math.ceil(len(ordered) * 0.9) - 1]


def generate_plugins(directory: Path, sdk_modules: Path) -> dict[Language, Path]:
    """The plugin ``sandbox plugin new`` writes, in Python and in JS, under ``directory``; the
    JS one with a copy of ``sdk_modules`` (what ``npm install`` would give it) and the harness
    script."""
    plugins: dict[Language, Path] = {}
    for language in ("python", "js"):
        plugins[language] = create_plugin(PLUGIN_KEY, language, directory / language).root
    shutil.copytree(sdk_modules, plugins["js"] / "node_modules", symlinks=True)
    shutil.copy(HARNESS_SCRIPT, plugins["js"] / HARNESS_SCRIPT.name)
    return plugins


async def _author_test(
    databases: SandboxDatabases, spares: SpareWorkers, package: Path
) -> dict[str, float]:
    """The scaffold's test as the fixture runs it; the seconds of each phase."""
    marks = [time.perf_counter()]
    async with databases.database() as db:
        marks.append(time.perf_counter())
        sandbox = PluginSandbox(
            db,
            spare_workers=spares,
            templates=databases.plugin_templates,
            statements=databases.statements,
        )
        try:
            plugin = await sandbox.install(package)
            marks.append(time.perf_counter())
            company = await sandbox.add_company("Acme")
            agent = await sandbox.add_agent(company)
            issue = await sandbox.add_issue(company, "Try the plugin", assignee_agent_id=agent.id)
            marks.append(time.perf_counter())
            result = await plugin.perform_action(
                "add-note", {"issueId": issue.id, "body": "Hello"}, company=company
            )
            marks.append(time.perf_counter())
            rows = await plugin.namespace_rows("notes")
            marks.append(time.perf_counter())
            if [(row["id"], row["issue_id"]) for row in rows] != [(result["noteId"], issue.id)]:
                raise RuntimeError(f"add-note wrote {rows}, not the note {result}")
        finally:
            await sandbox.close(discard=True)  # the database is dropped next
    marks.append(time.perf_counter())
    spans = [end - start for start, end in itertools.pairwise(marks)]
    return dict(zip(PHASES, spans, strict=True))


def _figures(tests: list[dict[str, float]], wall: float) -> dict[str, Any]:
    totals = [sum(test.values()) * 1000 for test in tests]
    return {
        "median_ms": round(statistics.median(totals), 1),
        "p90_ms": round(_p90(totals), 1),
        "wall_ms_per_test": round(wall * 1000 / len(tests), 1),
        "phases_median_ms": {
            phase: round(statistics.median(test[phase] * 1000 for test in tests), 1)
            for phase in PHASES
        },
    }


async def _measure_backend(
    backend: str,
    directory: Path,
    plugins: dict[Language, Path],
    runs: int,
    report: Callable[[str], None],
) -> dict[str, Any]:
    report(f"{backend}: preparing the session's databases ...")
    databases = SandboxDatabases(backend, directory / backend)  # type: ignore[arg-type]
    await databases.start()
    spares = SpareWorkers()  # the fixture's session shares one too
    figures: dict[str, Any] = {}
    try:
        for language, package in plugins.items():
            report(f"{backend}: {language}: 1 warm-up test, then {runs} timed tests ...")
            await _author_test(databases, spares, package)
            started = time.perf_counter()
            tests = [await _author_test(databases, spares, package) for _ in range(runs)]
            wall = time.perf_counter() - started
            target = TARGET_MS[backend] * (2 if language == "js" else 1)
            figures[language] = _figures(tests, wall) | {"target_ms": target}
    finally:
        spares.close()
        await databases.close()
    return figures


def upstream_harness(package: Path, runs: int) -> dict[str, Any]:
    """The test on upstream's in-memory ``createTestHarness``, timed inside Node.

    Raises:
        click.ClickException: the Node script failed (its last line of stderr).
    """
    done = subprocess.run(
        ["node", HARNESS_SCRIPT.name, str(runs)],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=HARNESS_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise click.ClickException(f"upstream's harness failed in {package}: {last}")
    samples = json.loads(done.stdout)["ms"]
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p90_ms": round(_p90(samples), 2),
    }


async def run_benchmark(
    backends: tuple[str, ...], sdk_modules: Path, runs: int, report: Callable[[str], None]
) -> dict[str, Any]:
    """Generate the scaffold's plugin, measure each backend and upstream's harness; returns
    the figures."""
    figures: dict[str, Any] = {"runs": runs, "backends": {}}
    with workdir() as directory:
        plugins = generate_plugins(directory / "plugins", sdk_modules)
        for backend in backends:
            figures["backends"][backend] = await _measure_backend(
                backend, directory, plugins, runs, report
            )
        report(f"upstream createTestHarness: {runs} timed tests in Node ...")
        figures["upstream_harness"] = await asyncio.to_thread(upstream_harness, plugins["js"], runs)
    return figures


def _table(figures: dict[str, Any]) -> str:
    lines = [
        f"The test `sandbox plugin new` writes, on the plugin_sandbox fixture: fresh database, "
        f"install, seed company/agent/issue, add-note, check the row, teardown "
        f"({figures['runs']} sequential tests, after 1 warm-up)",
        f"{'backend':<9} {'plugin':<7} {'median ms':>9} {'p90 ms':>7} {'wall/test':>9} "
        f"{'target':>6} | " + " ".join(f"{phase:>8}" for phase in PHASES),
    ]
    for backend, plugins in figures["backends"].items():
        for language, row in plugins.items():
            phases = " ".join(f"{row['phases_median_ms'][phase]:>8.1f}" for phase in PHASES)
            lines.append(
                f"{backend:<9} {language:<7} {row['median_ms']:>9.1f} {row['p90_ms']:>7.1f} "
                f"{row['wall_ms_per_test']:>9.1f} {row['target_ms']:>6.0f} | {phases}"
            )
    upstream = figures["upstream_harness"]
    lines.append(
        f"{'upstream':<9} {'js':<7} {upstream['median_ms']:>9.2f} {upstream['p90_ms']:>7.2f}"
        "   (createTestHarness: in memory, ctx.db.execute recorded not run, no worker process)"
    )
    lines.append("phases: medians in ms; wall/test: the whole sequence's time divided by the runs")
    return "\n".join(lines)


@click.command("author-tests")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--runs", default=30, show_default=True, type=click.IntRange(1), help="Timed tests per plugin."
)
@backend_option
def author_tests_command(as_json: bool, runs: int, backend: str) -> None:
    """Measure what the plugin_sandbox fixture costs the test `sandbox plugin new` writes, for
    its Python and JS plugin, next to upstream's in-memory harness."""
    sdk_modules = fixture_plugin("orchestration-smoke-js", node=True) / "node_modules"
    figures = asyncio.run(run_benchmark(selected(backend), sdk_modules, runs, progress))
    emit(figures, as_json, _table)


__all__ = ["author_tests_command", "generate_plugins", "run_benchmark", "upstream_harness"]
