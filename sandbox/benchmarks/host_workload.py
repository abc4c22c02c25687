"""The host-services work the host benchmarks time, shared by ``bench host`` and its
``--scale`` curve: a company with an agent, a subtree written in bulk, and sequential
``issues.create`` calls with a blocker and their activity."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from core.agents import create_agent
from core.companies import create_company
from core.host_services import HostServices
from core.host_services.params import CreateIssue
from db import Database, tables


async def bench_company(db: Database, name: str) -> tuple[str, str]:
    """A company and one engineer agent of it: their ids."""
    company = await create_company(db, name=name)
    agent = await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
    return company.id, agent.id


async def subtree(db: Database, company: str, agent: str, size: int) -> str:
    """Bulk-write a tree of ``size`` issues (4 children per node) with costs, relations, runs;
    then the upkeep the database would soon do on its own (``Database.after_bulk_load``)."""
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
    for table in (tables.issues, tables.cost_events, tables.issue_relations, tables.heartbeat_runs):
        await db.after_bulk_load(table)
    return ids[0]


async def warm_blocker(services: HostServices, company: str) -> str:
    """A blocker issue, after ten creates blocked by it that warm caches and prepared
    statements; its id."""
    blocker = await services.issues.create(CreateIssue(company_id=company, title="Blocker"))
    for _ in range(10):
        await services.issues.create(
            CreateIssue(company_id=company, title="warm", blocked_by_issue_ids=[blocker.id])
        )
    return blocker.id


async def creates_per_second(
    services: HostServices, company: str, agent: str, blocker: str, count: int
) -> float:
    """``count`` sequential creates, each blocked by ``blocker`` and made by ``agent``."""
    started = time.perf_counter()
    for n in range(count):
        await services.issues.create(
            CreateIssue(
                company_id=company,
                title=f"Benchmark issue {n}",
                status="todo",
                blocked_by_issue_ids=[blocker],
                actor_agent_id=agent,
            )
        )
    return count / (time.perf_counter() - started)


__all__ = ["bench_company", "creates_per_second", "subtree", "warm_blocker"]
