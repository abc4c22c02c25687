"""``sandbox bench host --scale``: how the host services' speed changes as a company grows.

One company is grown to each level of ``SCALE_LEVELS`` existing issues (bulk inserts, not
measured), and at each level the bench measures what ``sandbox bench host`` measures on a
fresh company: sequential ``issues.create`` calls with a blocker and their activity, and the
orchestration summary of the same 300-issue subtree (with costs, relations and runs), which
was written first and stays the same while the company around it grows. The figures show
what grows with the company: ideally nothing (flat) or a little (logarithmic, as an index
lookup does).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core.host_services import HostServices, build_host_services
from core.host_services.params import GetOrchestration
from db import Database, tables
from sandbox.benchmarks.backends import on_each_backend
from sandbox.benchmarks.host_workload import (
    bench_company,
    creates_per_second,
    subtree,
    warm_blocker,
)

#: Existing issues in the company at each measurement.
SCALE_LEVELS = (1_000, 10_000, 100_000)
#: The subtree whose summary is timed at every level.
SUMMARY_SUBTREE = 300
#: Timed summaries per level.
SUMMARY_REPEATS = 10
_BULK_ROWS = 1_000


async def issue_count(db: Database, company: str) -> int:
    async with db.read() as session:
        count = await session.scalar(
            sa.select(sa.func.count())
            .select_from(tables.issues)
            .where(tables.issues.c.company_id == company)
        )
    return int(count or 0)


async def grow_company(db: Database, company: str, agent: str, issues: int) -> None:
    """Bulk-insert plain issues until the company has ``issues`` of them, then let the
    database do the upkeep it would do soon after on its own (``Database.after_bulk_load``)."""
    missing = issues - await issue_count(db, company)
    now = datetime.now(UTC)
    for start in range(0, max(missing, 0), _BULK_ROWS):
        rows = [
            {
                "id": str(uuid.uuid4()),
                "company_id": company,
                "title": f"Existing issue {start + n}",
                "status": ("backlog", "todo", "in_progress", "done")[n % 4],
                "priority": "medium",
                "origin_kind": "manual",
                "assignee_agent_id": agent if n % 3 == 0 else None,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(min(_BULK_ROWS, missing - start))
        ]
        async with db.transaction() as session:
            await session.execute(sa.insert(tables.issues), rows)
    await db.after_bulk_load(tables.issues)


async def _summary_ms(services: HostServices, company: str, root: str, size: int) -> float:
    timings = []
    for _ in range(SUMMARY_REPEATS):
        started = time.perf_counter()
        summary = await services.issues.summaries.get_orchestration(
            GetOrchestration(issue_id=root, company_id=company, include_subtree=True)
        )
        timings.append((time.perf_counter() - started) * 1000)
        assert len(summary.subtree_issue_ids) == size
    return statistics.median(timings)


async def scale_curve(
    db: Database,
    services: HostServices,
    company: str,
    agent: str,
    subtree_root: str,
    *,
    subtree_size: int = SUMMARY_SUBTREE,
    levels: Sequence[int],
    creates: int,
    report: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Grow the company to each of ``levels`` issues and measure there; one row per level.

    ``subtree_root`` is the root of a subtree of ``subtree_size`` issues of the company.
    """
    blocker = await warm_blocker(services, company)
    rows = []
    for level in levels:
        report(f"growing the company to {level:,} issues ...")
        await grow_company(db, company, agent, level)
        existing = await issue_count(db, company)
        report(f"{existing:,} issues: {creates} issues.create, {SUMMARY_REPEATS} summaries ...")
        rate = await creates_per_second(services, company, agent, blocker, creates)
        rows.append(
            {
                "issues": existing,
                "creates_per_s": round(rate, 1),
                "summary_ms": round(
                    await _summary_ms(services, company, subtree_root, subtree_size), 2
                ),
            }
        )
    return rows


async def run_scale(
    backends: tuple[str, ...],
    levels: tuple[int, ...],
    creates: int,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """The scale curve of each backend; returns ``{backend: [row per level]}``."""

    async def measure(backend: str, db: Database) -> list[dict[str, Any]]:
        services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
        company, agent = await bench_company(db, "Bench Scale")
        root = await subtree(db, company, agent, SUMMARY_SUBTREE)
        return await scale_curve(
            db,
            services,
            company,
            agent,
            root,
            levels=levels,
            creates=creates,
            report=lambda line: report(f"{backend}: {line}"),
        )

    return await on_each_backend(backends, report, measure)


def scale_table(figures: dict[str, Any]) -> str:
    """The curve per backend, each row also as a ratio to the first level's figure."""
    lines = [
        f"{'backend':<10} {'issues':>8} {'creates/s':>10} {'vs first':>8} "
        f"{'summary ms':>11} {'vs first':>8}   (summary: the same {SUMMARY_SUBTREE}-issue subtree)"
    ]
    for backend, rows in figures.items():
        first = rows[0]
        for row in rows:
            lines.append(
                f"{backend:<10} {row['issues']:>8,} {row['creates_per_s']:>10.1f} "
                f"{row['creates_per_s'] / first['creates_per_s']:>7.2f}x "
                f"{row['summary_ms']:>11.2f} {row['summary_ms'] / first['summary_ms']:>7.2f}x"
            )
    return "\n".join(lines)


__all__ = [
    "SCALE_LEVELS",
    "grow_company",
    "issue_count",
    "run_scale",
    "scale_curve",
    "scale_table",
]
