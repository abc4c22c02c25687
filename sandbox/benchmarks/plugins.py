"""``sandbox bench plugins``: what a call between the host and a plugin worker costs.

Through the real ``PluginHost`` on a fresh database per backend, for three worker kinds (the
Python benchmark plugin in the host's event loop and in its own process, and its twin on the
published npm SDK in Node), it measures:

- ``round_trip_median_us``/``round_trip_p95_us``: ``PluginHost.perform_action`` of ``noop``, an
  action that answers at once without calling the host, over ``--calls`` sequential calls after
  a warm-up; ``worker_call_median_us``: the same ``performAction`` message sent straight to the
  plugin's ``WorkerProcess`` (the worker protocol alone, what the host adds left out);
- ``creates_per_s``: one ``create-issues`` action that calls ``ctx.issues.create`` ``--creates``
  times in a row, each issue blocked by one issue and made for an agent (as ``sandbox bench
  host`` does). Every create is a worker-to-host JSON-RPC round trip plus the host's write. The
  rate comes from the host's wall time of the whole action (``creates_host_ms``);
  ``creates_plugin_ms`` is the plugin's own clock, as a check.

``direct_creates_per_s`` is the same loop on the host services without a plugin, so the
difference is what the worker protocol adds.

With ``--against-upstream [VERSION]``, the JS plugin also runs hosted by Paperclip's own worker
manager (``createPluginWorkerManager`` of the published ``@paperclipai/server``, its host calls
served by upstream's ``buildHostServices`` through ``createHostClientHandlers``) on a database of
its own on the ``postgres`` run's server (``sandbox.benchmarks.upstream_host``). The same noop
calls and creates are then measured on both hosts in ``ROUNDS`` chunks that take turns; each
side times its calls from the host's side.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from core.agents import create_agent
from core.companies import create_company
from core.host_services import build_host_services
from core.host_services.params import CreateIssue
from db import Database
from sandbox.benchmarks.backends import (
    backend_option,
    emit,
    fixture_plugin,
    on_each_backend,
    progress,
    selected,
)
from sandbox.benchmarks.upstream_host import (
    PACKAGE,
    ROUNDS,
    UpstreamHost,
    against_upstream_option,
    check_against_upstream,
    upstream_host,
)
from sandbox.plugin_host import ActivePlugin, CallActor, PluginHost
from sandbox.worker_process import WorkerTimings

WARMUP_CALLS = 200
WARMUP_CREATES = 10
#: One ``create-issues`` action may run longer than upstream's 30-second call timeout.
TIMINGS = WorkerTimings(call=WorkerTimings().max_call)


@dataclass(frozen=True)
class Seed:
    """Where the creates of one measurement go: a company, its agent and the blocker."""

    company_id: str
    agent_id: str
    blocker_id: str


async def _seed(db: Database, name: str) -> Seed:
    """A fresh company per measurement, so no run inherits another's issues or relations."""
    company = await create_company(db, name=name)
    agent = await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
    services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
    blocker = await services.issues.create(CreateIssue(company_id=company.id, title="Blocker"))
    return Seed(company.id, agent.id, blocker.id)


def _p95(samples: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(samples)
    return ordered[math.ceil(len(ordered) * 0.95) - 1]


async def _latencies_us(
    call: Callable[[], Awaitable[object]], calls: int, warmup: int = WARMUP_CALLS
) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


async def _round_trip(host: PluginHost, active: ActivePlugin, calls: int) -> dict[str, float]:
    """``noop`` through ``PluginHost.perform_action``, then straight to the worker.

    The second figure is the worker protocol alone (the same message, sent on the plugin's
    ``WorkerProcess``); the difference is what the host adds to every call.
    """
    params = {"n": 1}
    message = {
        "key": "noop",
        "params": params,
        "renderEnvironment": None,
        "actorContext": CallActor().to_wire(None),
    }

    async def through_host() -> object:
        return await host.perform_action(active.record.id, "noop", params)

    async def worker_only() -> object:
        return await active.worker.call("performAction", message)

    samples = await _latencies_us(through_host, calls)
    worker = await _latencies_us(worker_only, calls)
    return {
        "round_trip_median_us": round(statistics.median(samples), 1),
        "round_trip_p95_us": round(_p95(samples), 1),
        "worker_call_median_us": round(statistics.median(worker), 1),
    }


async def _plugin_creates(
    host: PluginHost, plugin_id: str, seed: Seed, count: int
) -> dict[str, float]:
    async def create_issues(n: int) -> tuple[dict[str, Any], float]:
        params = {"count": n, "blockerIssueId": seed.blocker_id, "actorAgentId": seed.agent_id}
        started = time.perf_counter()
        result = await host.perform_action(
            plugin_id, "create-issues", params, company_id=seed.company_id
        )
        elapsed = time.perf_counter() - started
        if result["created"] != n:
            raise RuntimeError(f"create-issues made {result['created']} issues, not {n}")
        return result, elapsed

    await create_issues(WARMUP_CREATES)
    result, elapsed = await create_issues(count)
    return {
        "creates_per_s": round(count / elapsed, 1),
        "creates_host_ms": round(elapsed * 1000, 1),
        "creates_plugin_ms": round(result["elapsedMs"], 1),
    }


async def _direct_creates(db: Database, seed: Seed, count: int) -> float:
    """The host services' own rate for the same creates (no worker in between)."""
    services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")

    async def create(n: int) -> None:
        await services.issues.create(
            CreateIssue(
                company_id=seed.company_id,
                title=f"Benchmark issue {n}",
                status="todo",
                blocked_by_issue_ids=[seed.blocker_id],
                actor_agent_id=seed.agent_id,
            )
        )

    for n in range(WARMUP_CREATES):
        await create(n)
    started = time.perf_counter()
    for n in range(count):
        await create(n)
    return round(count / (time.perf_counter() - started), 1)


async def _against_upstream(
    db: Database,
    host: PluginHost,
    js: ActivePlugin,
    package: Path,
    upstream: UpstreamHost,
    calls: int,
    creates: int,
) -> dict[str, dict[str, float]]:
    """The JS plugin's noop round trip and creates on our host and on upstream's, in
    ``ROUNDS`` chunks that take turns: ``{"sandbox": ..., "upstream": ...}``."""
    manifest = package / "manifest.mjs"
    await upstream.ask("worker", manifest=str(manifest), worker=str(package / "worker.mjs"))
    seed = await _seed(db, "Bench js against upstream")
    ours_us: list[float] = []
    theirs_us: list[float] = []
    seconds = {"sandbox": 0.0, "upstream": 0.0}
    params = {"n": 1}
    for round_number in range(ROUNDS):
        warmup = WARMUP_CALLS if round_number == 0 else 0
        chunk = calls // ROUNDS + (1 if round_number < calls % ROUNDS else 0)
        ours_us += await _latencies_us(
            lambda: host.perform_action(js.record.id, "noop", params), chunk, warmup
        )
        theirs_us += (await upstream.ask("noop", warmup=warmup, calls=chunk))["us"]
        chunk = creates // ROUNDS + (1 if round_number < creates % ROUNDS else 0)
        warmup = WARMUP_CREATES if round_number == 0 else 0
        params_creates = {
            "count": warmup,
            "blockerIssueId": seed.blocker_id,
            "actorAgentId": seed.agent_id,
        }
        if warmup:
            await host.perform_action(
                js.record.id, "create-issues", params_creates, company_id=seed.company_id
            )
        started = time.perf_counter()
        result = await host.perform_action(
            js.record.id,
            "create-issues",
            params_creates | {"count": chunk},
            company_id=seed.company_id,
        )
        seconds["sandbox"] += time.perf_counter() - started
        if result["created"] != chunk:
            raise RuntimeError(f"create-issues made {result['created']} issues, not {chunk}")
        answer = await upstream.ask("plugin_creates", warmup=warmup, count=chunk)
        seconds["upstream"] += answer["seconds"]
    await upstream.ask("stop_worker")
    if answer["issues"] != creates + WARMUP_CREATES + 1:  # and the blocker
        raise click.ClickException(
            f"upstream's plugin made {answer['issues'] - WARMUP_CREATES - 1} issues, "
            f"not {creates}: the comparison is void"
        )
    return {
        side: {
            "round_trip_median_us": round(statistics.median(samples), 1),
            "round_trip_p95_us": round(_p95(samples), 1),
            "creates_per_s": round(creates / seconds[side], 1),
        }
        for side, samples in (("sandbox", ours_us), ("upstream", theirs_us))
    }


async def _measure_backend(
    db: Database,
    backend: str,
    packages: dict[str, Path],
    calls: int,
    creates: int,
    report: Callable[[str], None],
    upstream: UpstreamHost | None = None,
) -> dict[str, Any]:
    workers: dict[str, dict[str, float]] = {}

    async def measure(host: PluginHost, plugin_id: str, worker: str) -> ActivePlugin:
        report(f"{backend}: {worker}: 2 x {calls} noop calls, then {creates} issues.create ...")
        active = await host.activate(plugin_id)  # a subprocess worker starts here
        round_trip = await _round_trip(host, active, calls)
        seed = await _seed(db, f"Bench {worker}")
        workers[worker] = round_trip | await _plugin_creates(host, plugin_id, seed, creates)
        return active

    async with PluginHost(db, python_workers="in-process", timings=TIMINGS) as host:
        report(f"{backend}: installing bench-python ...")
        python = await host.install(packages["python"])
        await measure(host, python.id, "python-in-process")
    # A second host on the same database starts the installed plugin in its own process.
    async with PluginHost(db, python_workers="subprocess", timings=TIMINGS) as host:
        await measure(host, python.id, "python-subprocess")
        report(f"{backend}: installing bench-js ...")
        js = await host.install(packages["js"])
        active = await measure(host, js.id, "js-subprocess")
        if upstream is not None:
            report(f"{backend} and upstream's worker manager, taking turns: the JS plugin ...")
            against = await _against_upstream(
                db, host, active, packages["js"], upstream, calls, creates
            )
    report(f"{backend}: {creates} issues.create on the host services directly ...")
    direct = await _direct_creates(db, await _seed(db, "Bench direct"), creates)
    figures = {
        "calls": calls,
        "creates": creates,
        "workers": workers,
        "direct_creates_per_s": direct,
    }
    if upstream is not None:
        figures["against_upstream"] = against | {"node": upstream.node}
    return figures


async def run_benchmark(
    backends: tuple[str, ...],
    packages: dict[str, Path],
    calls: int,
    creates: int,
    report: Callable[[str], None],
    *,
    against: str | None = None,
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: figures}``. ``against``: the version of
    upstream's server whose worker manager hosts the JS plugin beside the ``postgres`` run."""

    async def measure(backend: str, db: Database) -> dict[str, Any]:
        if against is None or backend != "postgres":
            return await _measure_backend(db, backend, packages, calls, creates, report)
        async with upstream_host(db, against, report) as upstream:
            figures = await _measure_backend(
                db, backend, packages, calls, creates, report, upstream
            )
        figures["against_upstream"]["version"] = against
        return figures

    return await on_each_backend(backends, report, measure)


def _table(figures: dict[str, Any]) -> str:
    first = next(iter(figures.values()))
    lines = [
        f"performAction round trip of noop ({first['calls']} sequential calls) and "
        f"issues.create from inside the worker ({first['creates']} creates)",
        f"{'backend':<10} {'worker':<19} {'median us':>10} {'p95 us':>9} {'worker only':>12}"
        f" {'creates/s':>10}  {'(plugin clock)':>14}",
    ]
    for backend, values in figures.items():
        for worker, row in values["workers"].items():
            plugin_rate = values["creates"] / row["creates_plugin_ms"] * 1000
            lines.append(
                f"{backend:<10} {worker:<19} {row['round_trip_median_us']:>10.1f} "
                f"{row['round_trip_p95_us']:>9.1f} {row['worker_call_median_us']:>12.1f}"
                f" {row['creates_per_s']:>10.1f}"
                f"  {f'({plugin_rate:.1f})':>14}"
            )
        lines.append(
            f"{backend:<10} {'no plugin (direct)':<19} {'-':>10} {'-':>9} {'-':>12} "
            f"{values['direct_creates_per_s']:>10.1f}"
        )
    lines.append(
        "median/p95: PluginHost.perform_action; worker only: the same message on the "
        "WorkerProcess (median)"
    )
    lines.append(
        "target for the host services (DESIGN.md §8): >= 1,000 creates/s on SQLite, "
        ">= 500/s on PostgreSQL"
    )
    for backend, values in figures.items():
        if "against_upstream" in values:
            lines += ["", *_against_upstream_table(backend, values["against_upstream"])]
    return "\n".join(lines)


def _against_upstream_table(backend: str, against: dict[str, Any]) -> list[str]:
    ours, theirs = against["sandbox"], against["upstream"]
    rows = [
        ("noop round trip median us", "round_trip_median_us", False),
        ("noop round trip p95 us", "round_trip_p95_us", False),
        ("issues.create /s in the worker", "creates_per_s", True),
    ]
    lines = [
        f"against upstream: the JS plugin hosted by {PACKAGE}@{against['version']}'s worker "
        f"manager and buildHostServices (Node {against['node']}), on a database of its own on "
        f"the {backend} run's server, taking turns with the sandbox's js-subprocess",
        f"{'row':<32} {'upstream':>10} {backend + ' (x)':>18}",
    ]
    for name, key, higher_is_better in rows:
        ratio = ours[key] / theirs[key] if higher_is_better else theirs[key] / ours[key]
        lines.append(f"{name:<32} {theirs[key]:>10.1f} {f'{ours[key]:.1f} ({ratio:.1f}x)':>18}")
    return lines


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option(
    "--calls", default=2_000, show_default=True, type=click.IntRange(1), help="noop calls timed."
)
@click.option(
    "--creates",
    default=1_000,
    show_default=True,
    type=click.IntRange(1),
    help="issues.create calls in the timed create-issues action.",
)
@against_upstream_option
@backend_option
def plugins_command(
    as_json: bool, calls: int, creates: int, against: str | None, backend: str
) -> None:
    """Measure performAction round trips and issues.create from inside plugin workers."""
    check_against_upstream(against, backend)
    packages = {
        "python": fixture_plugin("bench-python"),
        "js": fixture_plugin("bench-js", node=True),
    }
    figures = asyncio.run(
        run_benchmark(selected(backend), packages, calls, creates, progress, against=against)
    )
    emit(figures, as_json, _table)


__all__ = ["plugins_command", "run_benchmark"]
