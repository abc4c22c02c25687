"""``sandbox bench host --scale``: the company grows to each level and every row is measured
there (tiny levels here; benchmarks are programs, never timed tests)."""

from __future__ import annotations

import uuid

from core.agents import create_agent
from core.companies import create_company
from core.host_services import build_host_services
from core.host_services.params import CreateIssue
from db import Database
from sandbox.benchmarks.host_scale import issue_count, scale_curve, scale_table


async def test_each_level_is_measured_with_the_company_at_that_size(db: Database) -> None:
    services = build_host_services(db, str(uuid.uuid4()), "sandbox.bench")
    company = (await create_company(db, name="Scale")).id
    agent = (await create_agent(db, company_id=company, name="Engineer", role="engineer")).id
    root = await services.issues.create(CreateIssue(company_id=company, title="Root"))
    for title in ("Child 1", "Child 2"):
        await services.issues.create(
            CreateIssue(company_id=company, title=title, parent_id=root.id)
        )
    said: list[str] = []

    rows = await scale_curve(
        db,
        services,
        company,
        agent,
        root.id,
        subtree_size=3,
        levels=(40, 90),
        creates=5,
        report=said.append,
    )

    # each level counts what was there before its creates: 3 + 1 blocker + 10 warm-up, grown
    # to 40; then 40 + 5 creates, grown to 90
    assert [row["issues"] for row in rows] == [40, 90]
    assert await issue_count(db, company) == 95
    assert all(row["creates_per_s"] > 0 and row["summary_ms"] > 0 for row in rows)
    assert said[0] == "growing the company to 40 issues ..."
    table = scale_table({"sqlite": rows}).splitlines()
    assert table[1].split()[:2] == ["sqlite", "40"] and table[1].split()[3] == "1.00x"
