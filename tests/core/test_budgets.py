"""Budget and pause gates: refused wakeups and the summary's invocation blocks agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict, NotFound
from core.host_services.params import GetOrchestration, RequestWakeup
from db import tables
from tests.fixtures.orchestration import World


async def _policy(
    world: World, scope_type: str, scope_id: str, amount: int, **values: object
) -> None:
    await world.insert(
        tables.budget_policies,
        company_id=world.company_id,
        scope_type=scope_type,
        scope_id=scope_id,
        window_kind=values.pop("window_kind", "calendar_month_utc"),
        amount=amount,
        **values,
    )


async def _spend(
    world: World, cents: int, *, project_id: str | None = None, when: datetime | None = None
) -> None:
    await world.insert(
        tables.cost_events,
        company_id=world.company_id,
        agent_id=world.agent_id,
        project_id=project_id,
        provider="anthropic",
        model="claude",
        cost_cents=cents,
        occurred_at=when or datetime.now(UTC),
    )


async def _set(world: World, table, row_id: str, **values: object) -> None:
    async with world.db.transaction() as session:
        await session.execute(table.update().where(table.c.id == row_id).values(**values))


SCENARIOS = {
    "company paused by budget": (
        "company",
        "Company is paused because its budget hard-stop was reached.",
    ),
    "company paused by hand": ("company", "Company is paused and cannot start new work."),
    "company policy exceeded": (
        "company",
        "Company cannot start new work because its budget hard-stop is exceeded.",
    ),
    "agent paused by budget": (
        "agent",
        "Agent is paused because its budget hard-stop was reached.",
    ),
    "agent policy exceeded": (
        "agent",
        "Agent cannot start because its budget hard-stop is still exceeded.",
    ),
    "project policy exceeded": (
        "project",
        "Project cannot start work because its budget hard-stop is still exceeded.",
    ),
    "project paused by budget": (
        "project",
        "Project is paused because its budget hard-stop was reached.",
    ),
}


async def _arrange(world: World, scenario: str, project_id: str) -> None:
    now = datetime.now(UTC)
    match scenario:
        case "company paused by budget":
            await _set(
                world, tables.companies, world.company_id, status="paused", pause_reason="budget"
            )
        case "company paused by hand":
            await _set(
                world, tables.companies, world.company_id, status="paused", pause_reason="manual"
            )
        case "company policy exceeded":
            await _policy(world, "company", world.company_id, 500)
            await _spend(world, 500)
        case "agent paused by budget":
            await _set(world, tables.agents, world.agent_id, status="paused", pause_reason="budget")
        case "agent policy exceeded":
            await _policy(world, "agent", world.agent_id, 100, window_kind="lifetime")
            await _spend(world, 60, when=now - timedelta(days=400))
            await _spend(world, 40)
        case "project policy exceeded":
            await _policy(world, "project", project_id, 50, window_kind="lifetime")
            await _spend(world, 50, project_id=project_id)
        case "project paused by budget":
            await _set(world, tables.projects, project_id, paused_at=now, pause_reason="budget")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_blocks_refuse_wakeups_and_show_in_the_summary(world: World, scenario: str) -> None:
    scope_type, reason = SCENARIOS[scenario]
    project_id = await world.insert(tables.projects, company_id=world.company_id, name="Apollo")
    issue_id = await world.issue(assignee_agent_id=world.agent_id, project_id=project_id)
    await _arrange(world, scenario, project_id)

    with pytest.raises(Conflict, match=f"^{reason}$") as raised:
        await world.services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
    assert raised.value.details["scopeType"] == scope_type
    assert await world.rows(tables.agent_wakeup_requests) == []

    summary = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=issue_id, company_id=world.company_id)
    )
    [block] = summary.invocation_blocks
    assert (block.issue_id, block.agent_id, block.scope_type, block.reason) == (
        issue_id,
        world.agent_id,
        scope_type,
        reason,
    )
    assert (
        block.scope_name
        == {"company": "Paperclip", "agent": "Engineer", "project": "Apollo"}[scope_type]
    )


async def test_spending_below_or_outside_the_window_does_not_block(world: World) -> None:
    issue_id = await world.issue(assignee_agent_id=world.agent_id)
    await _policy(world, "agent", world.agent_id, 100)
    await _spend(world, 99)
    await _spend(world, 500, when=datetime.now(UTC) - timedelta(days=62))
    await _policy(world, "company", world.company_id, 10, hard_stop_enabled=False)
    summary = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=issue_id, company_id=world.company_id)
    )
    assert summary.invocation_blocks == []
    result = await world.services.issues.request_wakeup(
        RequestWakeup(issue_id=issue_id, company_id=world.company_id)
    )
    assert result.queued


async def test_an_assignee_missing_from_the_company_fails_as_upstream(world: World) -> None:
    issue_id = await world.issue(assignee_agent_id=world.agent_id)
    elsewhere = await world.insert(tables.companies, name="X", issue_prefix="XQZ")
    await _set(world, tables.agents, world.agent_id, company_id=elsewhere)
    with pytest.raises(NotFound, match="^Agent not found$"):
        await world.services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
