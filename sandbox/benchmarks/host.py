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
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
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

SUBTREE_SIZES = (300, 2_000, 10_000)
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


async def run_benchmark(
    backends: tuple[str, ...], creates: int, wakeups: int, report: Callable[[str], None]
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: figures}``."""

    async def measure(backend: str, db: Database) -> dict[str, Any]:
        services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
        company, agent = await bench_company(db, "Bench Creates")
        report(f"{backend}: {creates} issues.create ...")
        blocker = await warm_blocker(services, company)
        create_rate = await creates_per_second(services, company, agent, blocker, creates)
        company, agent = await bench_company(db, "Bench Wakeups")
        report(f"{backend}: {wakeups} issues.requestWakeup ...")
        wake_rate = await _wakeups_per_second(services, company, agent, wakeups)
        summaries = []
        for size in SUBTREE_SIZES:
            report(f"{backend}: orchestration summary of a {size}-issue subtree ...")
            company, agent = await bench_company(db, f"Bench Tree {size}")
            root = await subtree(db, company, agent, size)
            repeats = 20 if size <= 2_000 else 5
            summaries.append(await _summary(db, services, company, root, size, repeats))
        return {
            "issues_create_per_s": round(create_rate, 1),
            "request_wakeup_per_s": round(wake_rate, 1),
            "summary": summaries,
        }

    return await on_each_backend(backends, report, measure)


def _table(figures: dict[str, Any]) -> str:
    lines = [
        f"{'backend':<10} {'creates/s':>10} {'wakeups/s':>10}  summary: size ms (statements)",
    ]
    for backend, values in figures.items():
        parts = "  ".join(
            f"{s['subtree']}: {s['ms']} ms ({s['statements']})" for s in values["summary"]
        )
        lines.append(
            f"{backend:<10} {values['issues_create_per_s']:>10.1f} "
            f"{values['request_wakeup_per_s']:>10.1f}  {parts}"
        )
    return "\n".join(lines)


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
@backend_option
def host_command(as_json: bool, creates: int, wakeups: int, scale: bool, backend: str) -> None:
    """Measure issues.create, request_wakeup and orchestration summaries on each backend."""
    if scale:
        figures = asyncio.run(run_scale(selected(backend), SCALE_LEVELS, creates, progress))
        emit(figures, as_json, scale_table)
        return
    figures = asyncio.run(run_benchmark(selected(backend), creates, wakeups, progress))
    emit(figures, as_json, _table)


__all__ = ["host_command", "run_benchmark"]
