"""``python -m sandbox.benchmarks.runs``: queued heartbeat runs claimed per second.

For each backend it queues ``--runs`` runs (each on its own issue, as plugin wakeups leave
them), then lets 1 and then 4 claimers, each a separate ``Database`` engine and a registered
host as separate ``sandbox serve`` processes would have, claim them until the queue is empty
(``core.heartbeat_runs.claim_queued_runs``, ``--batch`` runs per transaction). It reports
runs claimed per second and checks that every run was claimed exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
import sqlalchemy as sa

from core.agents import create_agent
from core.companies import create_company
from core.heartbeat_runs import claim_queued_runs
from core.hosts import register_host
from db import Database, create_db, tables
from sandbox.benchmarks.backends import (
    backend_option,
    bench_database,
    emit,
    progress,
    selected,
    workdir,
)

CLAIMERS = (1, 4)


async def _queue(db: Database, company_id: str, agent_id: str, count: int) -> None:
    """``count`` issues, each with a queued wakeup and run, written in one transaction."""
    now = datetime.now(UTC)
    issues, requests, runs = [], [], []
    for _ in range(count):
        issue_id, request_id, run_id = (str(uuid.uuid4()) for _ in range(3))
        issues.append(
            {
                "id": issue_id,
                "company_id": company_id,
                "title": "Bench",
                "status": "todo",
                "priority": "medium",
                "assignee_agent_id": agent_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        requests.append(
            {
                "id": request_id,
                "company_id": company_id,
                "agent_id": agent_id,
                "source": "assignment",
                "trigger_detail": "system",
                "reason": "bench",
                "status": "queued",
                "run_id": run_id,
                "requested_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        runs.append(
            {
                "id": run_id,
                "company_id": company_id,
                "agent_id": agent_id,
                "invocation_source": "assignment",
                "trigger_detail": "system",
                "status": "queued",
                "wakeup_request_id": request_id,
                "context_snapshot": {"issueId": issue_id},
                "created_at": now,
                "updated_at": now,
            }
        )
    async with db.transaction() as session:
        await session.execute(sa.insert(tables.issues), issues)
        await session.execute(sa.insert(tables.agent_wakeup_requests), requests)
        await session.execute(sa.insert(tables.heartbeat_runs), runs)


async def _claim_all(db: Database, host_id: str, batch: int) -> int:
    claimed = 0
    while True:
        got = await claim_queued_runs(db, host_id=host_id, limit=batch, now=datetime.now(UTC))
        if not got.claimed:
            return claimed
        claimed += len(got.claimed)


async def _measure(db: Database, claimers: int, count: int, batch: int) -> dict[str, Any]:
    company = await create_company(
        db, name=f"Bench {claimers}", issue_prefix=f"B{uuid.uuid4().hex[:5].upper()}"
    )
    agent = await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
    await _queue(db, company.id, agent.id, count)
    engines = [create_db(db.url) for _ in range(claimers)]
    try:
        hosts = [
            await register_host(
                engine, hostname=f"bench-{i}", pid=i, url="http://bench", now=datetime.now(UTC)
            )
            for i, engine in enumerate(engines)
        ]
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(
                _claim_all(engine, host.id, batch)
                for engine, host in zip(engines, hosts, strict=True)
            )
        )
        elapsed = time.perf_counter() - started
    finally:
        for engine in engines:
            await engine.dispose()
    async with db.read() as session:
        leases = await session.scalar(
            sa.select(sa.func.count(sa.distinct(tables.sandbox_run_leases.c.run_id)))
            .select_from(tables.sandbox_run_leases)
            .join(tables.heartbeat_runs)
            .where(tables.heartbeat_runs.c.company_id == company.id)
        )
    if sum(counts) != count or leases != count:
        raise click.ClickException(
            f"{claimers} claimers claimed {sum(counts)} runs ({leases} leases) of {count}"
        )
    return {"claimers": claimers, "runs": count, "seconds": elapsed, "per_second": count / elapsed}


async def run_benchmark(
    backends: tuple[str, ...], count: int, batch: int, report: Callable[[str], None]
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: {claimers: figures}}``."""
    figures: dict[str, Any] = {}
    with workdir() as directory:
        for backend in backends:
            async with bench_database(backend, directory, report) as db:
                figures[backend] = {}
                for claimers in CLAIMERS:
                    report(f"Measuring {backend}: {claimers} claimer(s), {count} runs ...")
                    figures[backend][str(claimers)] = await _measure(db, claimers, count, batch)
    return figures


def _table(figures: dict[str, Any]) -> str:
    lines = [f"{'backend':<10} {'claimers':>8} {'runs':>6} {'seconds':>8} {'runs/s':>8}"]
    for backend, rows in figures.items():
        for row in rows.values():
            lines.append(
                f"{backend:<10} {row['claimers']:>8} {row['runs']:>6} {row['seconds']:>8.2f} "
                f"{row['per_second']:>8.0f}"
            )
    return "\n".join(lines)


@click.command("runs")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option("--runs", "count", default=1000, show_default=True, type=click.IntRange(1))
@click.option(
    "--batch", default=1, show_default=True, type=click.IntRange(1), help="Runs per claim."
)
@backend_option
def runs_command(as_json: bool, count: int, batch: int, backend: str) -> None:
    """Measure queued heartbeat runs claimed per second by 1 and 4 concurrent claimers."""
    figures = asyncio.run(run_benchmark(selected(backend), count, batch, progress))
    emit(figures, as_json, _table)


__all__ = ["run_benchmark", "runs_command"]

if __name__ == "__main__":
    runs_command()
