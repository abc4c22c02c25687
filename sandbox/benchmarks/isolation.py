"""``sandbox bench isolation``: what one flooding plugin costs everyone else.

On a fresh database per backend, one ``PluginHost`` runs two plugins as worker processes: the
bystander (``bench-python``, whose ``noop`` answers at once) and the flooder
(``isolation-flood``). For each flood of issue 14's list, the flooder floods while two callers
measure, one call after another, until the flood has ended:

- the bystander's ``noop`` through ``PluginHost.perform_action`` (median and p99);
- the host's own ``issues.create`` through the host services, in the same process (the slowest).

The floods: SQL texts of 20 MB, six endless ``db.execute`` writes and 24 endless ``db.query``
reads (each runs until the host's statement limit stops it), 100,000 log lines, 5,000 requests
sent without waiting for answers, and the install of ``isolation-migration``, whose backfill on
a table that references ``public.issues`` runs until the migration limit stops it. ``quiet`` is
the same measurement with no flood. The last column says how the flood ended: the first error
the flooder got, which names the limit that stopped it.

Targets (issue 14): the bystander's p99 under 100 ms, no host call over 1 s.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import click

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
from sandbox.plugin_host import PluginHost
from sandbox.worker_process import WorkerTimings

MB = 1024 * 1024
#: Calls each caller makes at least, also when a flood ends at once.
MIN_SAMPLES = 20
#: A flood that has not ended by then is reported as such (the figures still print).
FLOOD_LIMIT_S = 180.0
#: A flood action may run longer than upstream's 30-second call timeout.
TIMINGS = WorkerTimings(call=WorkerTimings().max_call)
TARGET_P99_MS = 100.0
TARGET_HOST_MS = 1_000.0


@dataclass(frozen=True)
class Flood:
    """One way to flood: an action of the flooder with its params, or a plugin to install."""

    name: str
    what: str
    action: str | None = None
    params: dict[str, int] = field(default_factory=dict)
    install: str | None = None


def floods(scale: float) -> tuple[Flood, ...]:
    """Issue 14's floods; ``scale`` shrinks or grows every count (tests use a small one)."""

    def n(count: int) -> int:
        return max(1, round(count * scale))

    return (
        Flood("quiet", "no flood"),
        Flood("sql-text", f"3 SQL texts of {n(20 * MB) / MB:.1f} MB", "sql-text",
              {"bytes": n(20 * MB), "repeat": 3}),
        Flood("long-writes", "6 endless db.execute at once", "long-writes", {"count": 6}),
        Flood("slow-reads", "24 endless db.query at once", "slow-reads", {"count": 24}),
        Flood("logs", f"{n(100_000):,} log lines", "logs", {"lines": n(100_000)}),
        Flood("unread-requests", f"{n(5_000):,} db.query sent at once", "unread-requests",
              {"count": n(5_000)}),
        Flood("migration", "a backfill on a table referencing public.issues",
              install="isolation-migration"),
    )  # fmt: skip


def _p99(samples: list[float]) -> float:
    """The 99th percentile, nearest rank."""
    ordered = sorted(samples)
    return ordered[math.ceil(len(ordered) * 0.99) - 1]


async def _sample(call: Callable[[], Awaitable[object]], done: asyncio.Event) -> list[float]:
    """Milliseconds per call, one call after another, until ``done`` (and MIN_SAMPLES)."""
    samples: list[float] = []
    while not done.is_set() or len(samples) < MIN_SAMPLES:
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _ending(outcome: object) -> str:
    """How a flood ended, in one line: its first error, or how many requests went through."""
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}: {outcome}".splitlines()[0]
    if isinstance(outcome, dict) and outcome.get("errors"):
        message, count = next(iter(outcome["errors"].items()))
        return f"{count} x {message}".splitlines()[0]
    if isinstance(outcome, dict):
        return f"{outcome['ok']} ok"
    return "installed"


async def measure_flood(
    flood: Flood,
    start_flood: Callable[[Flood], Awaitable[object]],
    bystander: Callable[[], Awaitable[object]],
    host_create: Callable[[], Awaitable[object]],
) -> dict[str, Any]:
    done = asyncio.Event()

    async def flooding() -> object:
        try:
            return await asyncio.wait_for(start_flood(flood), FLOOD_LIMIT_S)
        except Exception as error:  # the flood's ending is a figure, not a failure
            return error
        finally:
            done.set()

    started = time.perf_counter()
    outcome, bystander_ms, host_ms = await asyncio.gather(
        flooding(), _sample(bystander, done), _sample(host_create, done)
    )
    return {
        "what": flood.what,
        "flood_s": round(time.perf_counter() - started, 2),
        "bystander_calls": len(bystander_ms),
        "bystander_median_ms": round(statistics.median(bystander_ms), 2),
        "bystander_p99_ms": round(_p99(bystander_ms), 2),
        "host_creates": len(host_ms),
        "host_create_max_ms": round(max(host_ms), 1),
        "ended": _ending(outcome),
    }


async def _measure_backend(
    db: Database, backend: str, scale: float, report: Callable[[str], None]
) -> dict[str, Any]:
    company = await create_company(db, name="Isolation bench")
    services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
    rows: dict[str, Any] = {}
    async with PluginHost(db, timings=TIMINGS) as host:
        report(f"{backend}: installing the bystander and the flooder ...")
        bystander = await host.install(fixture_plugin("bench-python"))
        flooder = await host.install(fixture_plugin("isolation-flood"))
        await host.activate(bystander.id)
        await host.activate(flooder.id)

        async def start_flood(flood: Flood) -> object:
            if flood.install is not None:
                return await host.install(fixture_plugin(flood.install))
            if flood.action is None:
                return await asyncio.sleep(1.0, result={"ok": 0, "errors": {}})
            return await host.perform_action(
                flooder.id, flood.action, flood.params, company_id=company.id
            )

        async def noop() -> object:
            return await host.perform_action(bystander.id, "noop", {"n": 1})

        async def create() -> object:
            return await services.issues.create(
                CreateIssue(company_id=company.id, title="Created during a flood")
            )

        for flood in floods(scale):
            report(f"{backend}: {flood.name}: {flood.what} ...")
            rows[flood.name] = await measure_flood(flood, start_flood, noop, create)
    return rows


async def run_benchmark(
    backends: tuple[str, ...], scale: float, report: Callable[[str], None]
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: {flood: figures}}``."""

    async def measure(backend: str, db: Database) -> dict[str, Any]:
        return await _measure_backend(db, backend, scale, report)

    return await on_each_backend(backends, report, measure)


def _table(figures: dict[str, Any]) -> str:
    lines = [
        "A bystander plugin's noop and the host's issues.create while another plugin floods",
        f"{'backend':<9} {'flood':<16} {'seconds':>7} {'noop median':>11} {'p99 ms':>7}"
        f" {'calls':>6} {'create max':>10}  ended with",
    ]
    for backend, rows in figures.items():
        for name, row in rows.items():
            lines.append(
                f"{backend:<9} {name:<16} {row['flood_s']:>7.1f} "
                f"{row['bystander_median_ms']:>11.2f} {row['bystander_p99_ms']:>7.1f}"
                f" {row['bystander_calls']:>6} {row['host_create_max_ms']:>10.1f}"
                f"  {row['ended'][:90]}"
            )
    lines.append(
        f"targets: bystander p99 < {TARGET_P99_MS:.0f} ms, host create max < "
        f"{TARGET_HOST_MS:.0f} ms (times in ms unless said)"
    )
    return "\n".join(lines)


@click.command("isolation")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Multiply the floods' sizes (SQL text bytes, log lines, requests).",
)
@backend_option
def isolation_command(as_json: bool, scale: float, backend: str) -> None:
    """Measure a bystander plugin and the host while another plugin floods the host."""
    for name in ("bench-python", "isolation-flood", "isolation-migration"):
        fixture_plugin(name)
    figures = asyncio.run(run_benchmark(selected(backend), scale, progress))
    emit(figures, as_json, _table)


__all__ = ["Flood", "floods", "isolation_command", "measure_flood", "run_benchmark"]
