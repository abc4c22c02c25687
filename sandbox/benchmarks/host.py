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
from datetime import UTC, datetime
from typing import Any

import click
import sqlalchemy as sa

from core.agents import create_agent
from core.companies import create_company
from core.host_services import HostServices, build_host_services
from core.host_services.params import CreateIssue, GetOrchestration, RequestWakeup
from db import Database, tables
from sandbox.benchmarks.backends import (
    backend_option,
    bench_database,
    emit,
    progress,
    selected,
    workdir,
)
from sandbox.benchmarks.host_scale import SCALE_LEVELS, SUMMARY_SUBTREE, scale_curve, scale_table

SUBTREE_SIZES = (300, 2_000, 10_000)
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


async def _company(db: Database, name: str) -> tuple[str, str]:
    company = await create_company(db, name=name)
    agent = await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
    return company.id, agent.id


async def _creates_per_second(
    services: HostServices, company: str, agent: str, count: int
) -> float:
    blocker = await services.issues.create(CreateIssue(company_id=company, title="Blocker"))
    for _ in range(10):  # warm caches and prepared statements
        await services.issues.create(
            CreateIssue(company_id=company, title="warm", blocked_by_issue_ids=[blocker.id])
        )
    started = time.perf_counter()
    for n in range(count):
        await services.issues.create(
            CreateIssue(
                company_id=company,
                title=f"Benchmark issue {n}",
                status="todo",
                blocked_by_issue_ids=[blocker.id],
                actor_agent_id=agent,
            )
        )
    return count / (time.perf_counter() - started)


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


async def _subtree(db: Database, company: str, agent: str, size: int) -> str:
    """Bulk-write a tree of ``size`` issues (4 children per node) with costs, relations, runs."""
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(size)]
    issues = [
        {
            "id": issue_id,
            "company_id": company,
            "parent_id": ids[(n - 1) // 4] if n else None,
            "title": f"Node {n}",
            "status": "todo",
            "priority": "medium",
            "origin_kind": "manual",
            "billing_code": "bench:alpha",
            "assignee_agent_id": agent if n % 2 else None,
            "created_at": now,
            "updated_at": now,
        }
        for n, issue_id in enumerate(ids)
    ]
    costs = [
        {
            "id": str(uuid.uuid4()),
            "company_id": company,
            "agent_id": agent,
            "issue_id": issue_id,
            "billing_code": "bench:alpha" if n % 3 else "bench:beta",
            "provider": "anthropic",
            "model": "claude",
            "cost_cents": 25,
            "input_tokens": 1_000,
            "output_tokens": 200,
            "occurred_at": now,
            "created_at": now,
        }
        for n, issue_id in enumerate(ids)
    ]
    relations = [
        {
            "id": str(uuid.uuid4()),
            "company_id": company,
            "issue_id": ids[n - 1],
            "related_issue_id": ids[n],
            "type": "blocks",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, size, 5)
    ]
    runs = [
        {
            "id": str(uuid.uuid4()),
            "company_id": company,
            "agent_id": agent,
            "status": "succeeded",
            "invocation_source": "assignment",
            "context_snapshot": {"issueId": ids[n]},
            "created_at": now,
            "updated_at": now,
        }
        for n in range(0, size, 7)
    ]
    async with db.transaction() as session:
        for table, rows in (
            (tables.issues, issues),
            (tables.cost_events, costs),
            (tables.issue_relations, relations),
            (tables.heartbeat_runs, runs),
        ):
            for start in range(0, len(rows), 1_000):
                await session.execute(sa.insert(table), rows[start : start + 1_000])
    return ids[0]


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
    figures: dict[str, Any] = {}
    with workdir() as directory:
        for backend in backends:
            async with bench_database(backend, directory, report) as db:
                services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
                company, agent = await _company(db, "Bench Creates")
                report(f"{backend}: {creates} issues.create ...")
                create_rate = await _creates_per_second(services, company, agent, creates)
                company, agent = await _company(db, "Bench Wakeups")
                report(f"{backend}: {wakeups} issues.requestWakeup ...")
                wake_rate = await _wakeups_per_second(services, company, agent, wakeups)
                summaries = []
                for size in SUBTREE_SIZES:
                    report(f"{backend}: orchestration summary of a {size}-issue subtree ...")
                    company, agent = await _company(db, f"Bench Tree {size}")
                    root = await _subtree(db, company, agent, size)
                    repeats = 20 if size <= 2_000 else 5
                    summaries.append(await _summary(db, services, company, root, size, repeats))
                figures[backend] = {
                    "issues_create_per_s": round(create_rate, 1),
                    "request_wakeup_per_s": round(wake_rate, 1),
                    "summary": summaries,
                }
    return figures


async def run_scale(
    backends: tuple[str, ...],
    levels: tuple[int, ...],
    creates: int,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """The scale curve of each backend; returns ``{backend: [row per level]}``."""
    figures: dict[str, Any] = {}
    with workdir() as directory:
        for backend in backends:
            async with bench_database(backend, directory, report) as db:
                services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
                company, agent = await _company(db, "Bench Scale")
                root = await _subtree(db, company, agent, SUMMARY_SUBTREE)

                def said(line: str, backend: str = backend) -> None:
                    report(f"{backend}: {line}")

                figures[backend] = await scale_curve(
                    db, services, company, agent, root, levels=levels, creates=creates, report=said
                )
    return figures


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


__all__ = ["host_command", "run_benchmark", "run_scale"]
