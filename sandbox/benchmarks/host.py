"""``sandbox bench host``: the orchestration host services' speed on each backend.

Measures, on a fresh database per backend:

- ``issues_create_per_s``: sequential ``issues.create`` calls, each with one blocker relation and
  its activity row, named actor included;
- ``request_wakeup_per_s``: sequential ``issues.request_wakeup`` calls on distinct issues, each
  queueing a run;
- ``summary``: ``issues.summaries.get_orchestration`` over subtrees of 300, 2,000 and 10,000
  issues that carry cost events, relations and runs: median latency and the number of SQL
  statements one call sends.

The subtrees are written with bulk inserts (their setup is not what is measured). With
``--scale``, the bench measures instead how creates and a summary change as one company grows
(``sandbox.benchmarks.host_scale``). It prints only what it measured in that run.

With ``--against-upstream [VERSION]``, Paperclip's own host services (``buildHostServices`` of
the published ``@paperclipai/server``, ``sandbox.benchmarks.upstream_host``) do the same work on
a database of their own on the PostgreSQL server of the ``postgres`` run, interleaved with it:
creates and wakeups in ``ROUNDS`` alternating chunks, each summary size one side after the
other. The table then gives upstream's figure and each backend's ratio to it per row.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import click

from core.host_services import HostServices, build_host_services
from core.host_services.params import CreateIssue, GetOrchestration, RequestWakeup
from db import Database
from sandbox.benchmarks.backends import backend_option, emit, on_each_backend, progress, selected
from sandbox.benchmarks.host_scale import SCALE_LEVELS, run_scale, scale_table
from sandbox.benchmarks.host_workload import (
    bench_company,
    creates_per_second,
    subtree,
    warm_blocker,
)
from sandbox.benchmarks.upstream_host import (
    PACKAGE,
    ROUNDS,
    UpstreamHost,
    against_upstream_option,
    check_against_upstream,
    upstream_host,
)

SUBTREE_SIZES = (300, 2_000, 10_000)
#: Upstream's summary of 10,000 issues takes seconds: it is timed at most this many times.
UPSTREAM_SUMMARY_REPEATS = 3
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


async def _wakeups_per_second(
    services: HostServices, company: str, agent: str, count: int
) -> float:
    issue_ids = [
        (
            await services.issues.create(
                CreateIssue(
                    company_id=company, title=f"Wake {n}", status="todo", assignee_agent_id=agent
                )
            )
        ).id
        for n in range(count + 10)
    ]
    for issue_id in issue_ids[:10]:
        await services.issues.request_wakeup(RequestWakeup(issue_id=issue_id, company_id=company))
    started = time.perf_counter()
    for issue_id in issue_ids[10:]:
        result = await services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=company)
        )
        assert result.queued
    return count / (time.perf_counter() - started)


async def _summary(
    db: Database, services: HostServices, company: str, root: str, size: int, repeats: int
) -> dict[str, Any]:
    async def once() -> None:
        summary = await services.issues.summaries.get_orchestration(
            GetOrchestration(issue_id=root, company_id=company, include_subtree=True)
        )
        assert len(summary.subtree_issue_ids) == size

    await once()
    with db.statement_counter() as statements:
        await once()
    sent = [s for s in statements if not s.lstrip().upper().startswith(_TRANSACTION_CONTROL)]
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        await once()
        timings.append((time.perf_counter() - started) * 1000)
    return {"subtree": size, "ms": round(statistics.median(timings), 2), "statements": len(sent)}


async def _taking_turns(
    total: int,
    ours: Callable[[int], Awaitable[float]],
    upstream: UpstreamHost | None,
    op: str,
) -> tuple[float, float | None]:
    """Calls per second over ``total`` calls: ours (``ours(n)`` makes n calls and returns their
    rate) and upstream's command ``op`` (None without upstream), in ``ROUNDS`` chunks that take
    turns."""
    rounds = 1 if upstream is None else ROUNDS
    ours_seconds = theirs_seconds = 0.0
    for n in range(rounds):
        chunk = total // rounds + (1 if n < total % rounds else 0)
        ours_seconds += chunk / await ours(chunk)
        if upstream is not None:
            theirs_seconds += (await upstream.ask(op, count=chunk))["seconds"]
    return total / ours_seconds, None if upstream is None else round(total / theirs_seconds, 1)


async def run_benchmark(
    backends: tuple[str, ...],
    creates: int,
    wakeups: int,
    report: Callable[[str], None],
    *,
    against: str | None = None,
    sizes: tuple[int, ...] = SUBTREE_SIZES,
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: figures}``, and ``upstream``'s figures when
    ``against`` names the version of upstream's server to measure beside ``postgres``."""
    upstream_figures: dict[str, Any] = {}

    async def measure(backend: str, db: Database) -> dict[str, Any]:
        if against is None or backend != "postgres":
            return await _measure(backend, db, None)
        async with upstream_host(db, against, report) as upstream:
            figures = await _measure(backend, db, upstream)
            upstream_figures.update(figures.pop("upstream"))
            upstream_figures.update(version=against, node=upstream.node)
            upstream_figures["written"] = await _written(upstream, creates)
        return figures

    async def _measure(backend: str, db: Database, upstream: UpstreamHost | None) -> dict[str, Any]:
        services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
        theirs: dict[str, Any] = {}
        company, agent = await bench_company(db, "Bench Creates")
        report(f"{backend}: {creates} issues.create ...")
        blocker = await warm_blocker(services, company)
        create_rate, theirs["issues_create_per_s"] = await _taking_turns(
            creates,
            lambda n: creates_per_second(services, company, agent, blocker, n),
            upstream,
            "creates",
        )
        company, agent = await bench_company(db, "Bench Wakeups")
        report(f"{backend}: {wakeups} issues.requestWakeup ...")
        wake_rate, theirs["request_wakeup_per_s"] = await _taking_turns(
            wakeups, lambda n: _wakeups_per_second(services, company, agent, n), upstream, "wakeups"
        )
        summaries, theirs["summary"] = [], []
        for size in sizes:
            report(f"{backend}: orchestration summary of a {size}-issue subtree ...")
            company, agent = await bench_company(db, f"Bench Tree {size}")
            root = await subtree(db, company, agent, size)
            repeats = 20 if size <= 2_000 else 5
            summaries.append(await _summary(db, services, company, root, size, repeats))
            if upstream is not None:
                report(f"upstream: orchestration summary of a {size}-issue subtree ...")
                repeats = min(repeats, UPSTREAM_SUMMARY_REPEATS)
                answer = await upstream.ask("summary", size=size, repeats=repeats)
                theirs["summary"].append(
                    {"subtree": size, "ms": round(statistics.median(answer["ms"]), 2)}
                )
        figures = {
            "issues_create_per_s": round(create_rate, 1),
            "request_wakeup_per_s": round(wake_rate, 1),
            "summary": summaries,
        }
        return figures if upstream is None else figures | {"upstream": theirs}

    figures: dict[str, Any] = await on_each_backend(backends, report, measure)
    if against is not None:
        figures["upstream"] = upstream_figures
    return figures


async def _written(upstream: UpstreamHost, creates: int) -> dict[str, int]:
    """What upstream's timed creates wrote, counted in its database.

    Raises:
        click.ClickException: not one issue, blocker relation and activity row per create
            (then the two sides did not do the same work).
    """
    written = await upstream.ask("written")
    expected = {"issues": creates + 11, "blockerRelations": creates + 10,
                "createdActivity": creates + 11}  # fmt: skip
    for key, count in expected.items():
        if written[key] != count:
            raise click.ClickException(
                f"upstream's host wrote {written[key]} {key}, not {count}: the comparison is void"
            )
    return {key: written[key] for key in expected}


def _table(figures: dict[str, Any]) -> str:
    backends = {name: values for name, values in figures.items() if name != "upstream"}
    lines = [
        f"{'backend':<10} {'creates/s':>10} {'wakeups/s':>10}  summary: size ms (statements)",
    ]
    for backend, values in backends.items():
        parts = "  ".join(
            f"{s['subtree']}: {s['ms']} ms ({s['statements']})" for s in values["summary"]
        )
        lines.append(
            f"{backend:<10} {values['issues_create_per_s']:>10.1f} "
            f"{values['request_wakeup_per_s']:>10.1f}  {parts}"
        )
    if "upstream" in figures:
        lines += ["", *_against_upstream(figures["upstream"], backends)]
    return "\n".join(lines)


def _against_upstream(upstream: dict[str, Any], backends: dict[str, Any]) -> list[str]:
    """Upstream's figure per row and each backend's ratio to it (higher is better for us)."""
    rows: list[tuple[str, float, list[float]]] = [
        (
            "issues.create /s",
            upstream["issues_create_per_s"],
            [v["issues_create_per_s"] / upstream["issues_create_per_s"] for v in backends.values()],
        ),
        (
            "requestWakeup /s",
            upstream["request_wakeup_per_s"],
            [
                v["request_wakeup_per_s"] / upstream["request_wakeup_per_s"]
                for v in backends.values()
            ],
        ),
    ]
    for n, theirs in enumerate(upstream["summary"]):
        ratios = [theirs["ms"] / v["summary"][n]["ms"] for v in backends.values()]
        rows.append((f"summary {theirs['subtree']} ms", theirs["ms"], ratios))
    written = upstream["written"]
    lines = [
        f"against upstream: {PACKAGE}@{upstream['version']} buildHostServices on Node "
        f"{upstream['node']}, a database of its own on the postgres run's server, interleaved",
        f"{'row':<20} {'upstream':>10} " + " ".join(f"{name + ' (x)':>16}" for name in backends),
    ]
    for name, theirs_value, ratios in rows:
        ours = [
            f"{value:.1f} ({ratio:.1f}x)"
            for value, ratio in zip(_ours(name, backends), ratios, strict=True)
        ]
        lines.append(
            f"{name:<20} {theirs_value:>10.1f} " + " ".join(f"{cell:>16}" for cell in ours)
        )
    lines.append(
        f"upstream wrote {written['issues']} issues, {written['blockerRelations']} blocker "
        f"relations and {written['createdActivity']} issue.created activities (warm-ups included)"
    )
    return lines


def _ours(row: str, backends: dict[str, Any]) -> list[float]:
    if row.startswith("issues.create"):
        return [v["issues_create_per_s"] for v in backends.values()]
    if row.startswith("requestWakeup"):
        return [v["request_wakeup_per_s"] for v in backends.values()]
    size = int(row.split()[1])
    return [next(s["ms"] for s in v["summary"] if s["subtree"] == size) for v in backends.values()]


@click.command("host")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option("--creates", default=1_000, show_default=True, type=click.IntRange(10))
@click.option("--wakeups", default=500, show_default=True, type=click.IntRange(10))
@click.option(
    "--scale",
    is_flag=True,
    help="Instead: creates/s and a 300-issue summary's latency as one company grows to "
    "1,000, 10,000 and 100,000 issues (--creates per level).",
)
@against_upstream_option
@backend_option
def host_command(
    as_json: bool, creates: int, wakeups: int, scale: bool, against: str | None, backend: str
) -> None:
    """Measure issues.create, request_wakeup and orchestration summaries on each backend."""
    if against is not None and scale:
        raise click.UsageError("--against-upstream measures the usual rows: leave out --scale")
    check_against_upstream(against, backend)
    if scale:
        figures = asyncio.run(run_scale(selected(backend), SCALE_LEVELS, creates, progress))
        emit(figures, as_json, scale_table)
        return
    figures = asyncio.run(
        run_benchmark(selected(backend), creates, wakeups, progress, against=against)
    )
    emit(figures, as_json, _table)


__all__ = ["host_command", "run_benchmark"]
