"""Cost roll-ups (core/read_models/costs.py) over cost events recorded through the core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.costs import record_cost_event
from core.host_services.params import CreateIssue
from core.read_models.costs import BUCKETS, cost_rollup, open_incidents
from core.unit_of_work import write
from db import tables
from tests.fixtures.orchestration import PLUGIN_KEY, World

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


async def _cost(world: World, cents: int, *, ago: timedelta, **fields: object) -> None:
    async with write(world.db, world.bus) as unit:
        await record_cost_event(
            unit,
            company_id=world.company_id,
            agent_id=fields.pop("agent_id", world.agent_id),  # type: ignore[arg-type]
            provider="anthropic",
            model="claude",
            cost_cents=cents,
            input_tokens=cents * 10,
            output_tokens=cents,
            occurred_at=NOW - ago,
            **fields,  # type: ignore[arg-type]
        )


@pytest.fixture
async def missions(world: World) -> dict[str, str]:
    """Two missions of the plugin (a root with a child and grandchild, and a second root), a
    manual issue, and their cost events at various ages."""
    issues = world.services.issues
    company = world.company_id
    alpha = await issues.create(
        CreateIssue(company_id=company, title="Alpha", billing_code="mission:alpha")
    )
    child = await issues.create(CreateIssue(company_id=company, title="Child", parent_id=alpha.id))
    grandchild = await issues.create(
        CreateIssue(company_id=company, title="Grand", parent_id=child.id)
    )
    beta = await issues.create(
        CreateIssue(company_id=company, title="Beta", billing_code="mission:beta")
    )
    manual = await world.issue(title="Manual")
    second = await world.insert(
        tables.agents, company_id=company, name="Reviewer", role="qa", adapter_config={}
    )
    await _cost(
        world, 100, ago=timedelta(minutes=10), issue_id=alpha.id, billing_code="mission:alpha"
    )
    await _cost(
        world, 200, ago=timedelta(minutes=50), issue_id=grandchild.id, billing_code="mission:alpha"
    )
    await _cost(world, 40, ago=timedelta(hours=5), issue_id=beta.id, billing_code="mission:beta")
    await _cost(world, 8, ago=timedelta(days=3), issue_id=manual, agent_id=second)
    await _cost(world, 1, ago=timedelta(days=30))
    return {"alpha": alpha.id, "beta": beta.id, "manual": manual, "reviewer": second}


def _cents(rollup) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {group.label: group.totals.cost_cents for group in rollup.groups}


async def test_record_cost_event_writes_upstream_s_rows(world: World) -> None:
    async with write(world.db, world.bus) as unit:
        event = await record_cost_event(
            unit,
            company_id=world.company_id,
            agent_id=world.agent_id,
            provider="openai",
            model="gpt",
            cost_cents=123,
            cached_input_tokens=5,
        )
    (row,) = await world.rows(tables.cost_events)
    assert (row["biller"], row["billing_type"], row["cost_cents"]) == ("openai", "unknown", 123)
    assert str(row["id"]) == event.id
    (agent,) = await world.rows(tables.agents, tables.agents.c.id == world.agent_id)
    assert agent["spent_monthly_cents"] == 123
    (company,) = await world.rows(tables.companies, tables.companies.c.id == world.company_id)
    assert company["spent_monthly_cents"] == 123
    (activity,) = await world.rows(tables.activity_log)
    assert (activity["actor_type"], activity["actor_id"], activity["action"]) == (
        "system",
        "cost-service",
        "cost_event.created",
    )
    assert activity["entity_id"] == event.id
    assert activity["details"]["costCents"] == 123
    assert activity["details"]["cachedInputTokens"] == 5


async def test_record_cost_event_refuses_other_companies_agents(world: World) -> None:
    from core.errors import NotFound, Unprocessable

    other = await world.insert(tables.companies, name="Other", issue_prefix="OTH", issue_counter=0)
    stranger = await world.insert(
        tables.agents, company_id=other, name="X", role="qa", adapter_config={}
    )
    with pytest.raises(NotFound, match="^Agent not found$"):
        async with write(world.db, None) as unit:
            await record_cost_event(
                unit,
                company_id=world.company_id,
                agent_id="00000000-0000-4000-8000-000000000000",
                provider="p",
                model="m",
                cost_cents=1,
            )
    with pytest.raises(Unprocessable, match="^Agent does not belong to company$"):
        async with write(world.db, None) as unit:
            await record_cost_event(
                unit,
                company_id=world.company_id,
                agent_id=stranger,
                provider="p",
                model="m",
                cost_cents=1,
            )
    assert await world.rows(tables.cost_events) == []


async def test_windows_narrow_the_events(world: World, missions: dict[str, str]) -> None:
    totals = {}
    for window in ("1h", "24h", "7d", "all"):
        rollup = await cost_rollup(world.db, company_id=world.company_id, window=window, now=NOW)
        totals[window] = rollup.total.totals.cost_cents
        assert rollup.end == NOW
        assert len(rollup.total.series) == BUCKETS
        assert sum(rollup.total.series) == rollup.total.totals.cost_cents
    assert totals == {"1h": 300, "24h": 340, "7d": 348, "all": 349}


async def test_groupings(world: World, missions: dict[str, str]) -> None:
    by = {}
    for grouping in ("billing_code", "agent", "issue_subtree", "plugin"):
        by[grouping] = _cents(
            await cost_rollup(
                world.db, company_id=world.company_id, grouping=grouping, window="all", now=NOW
            )
        )
    assert by["billing_code"] == {"mission:alpha": 300, "mission:beta": 40, "(no billing code)": 9}
    assert by["agent"] == {"Engineer": 341, "Reviewer": 8}
    alpha = f"{world.prefix}-1 Alpha"
    beta = f"{world.prefix}-4 Beta"
    # The grandchild's cost rolls up to its top-level issue.
    assert by["issue_subtree"] == {alpha: 300, beta: 40, "Manual": 8, "(no issue)": 1}
    assert by["plugin"] == {PLUGIN_KEY: 340, "(not from a plugin)": 9}


async def test_interval_deltas_and_cumulative_figures(
    world: World, missions: dict[str, str]
) -> None:
    rollup = await cost_rollup(
        world.db, company_id=world.company_id, grouping="billing_code", window="1h", now=NOW
    )
    (alpha,) = [group for group in rollup.groups if group.key == "mission:alpha"]
    assert rollup.bucket_seconds == 300
    # 50 minutes ago falls in the 3rd five-minute interval, 10 minutes ago in the 11th.
    assert alpha.series == (0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 100, 0)
    assert alpha.latest_cents == 0
    assert alpha.cumulative[-1] == 300
    assert alpha.totals.events == 2
    assert alpha.totals.input_tokens == 3000


async def test_groups_come_most_expensive_first_and_unknown_values_are_rejected(
    world: World, missions: dict[str, str]
) -> None:
    rollup = await cost_rollup(world.db, company_id=world.company_id, grouping="agent", now=NOW)
    assert [group.totals.cost_cents for group in rollup.groups] == [340]
    with pytest.raises(ValueError, match="unknown cost grouping 'model'"):
        await cost_rollup(world.db, company_id=world.company_id, grouping="model")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown cost window '2h'"):
        await cost_rollup(world.db, company_id=world.company_id, window="2h")  # type: ignore[arg-type]


async def test_a_company_without_costs_rolls_up_to_zero(world: World) -> None:
    rollup = await cost_rollup(world.db, company_id=world.company_id, window="all", now=NOW)
    assert rollup.groups == []
    assert rollup.total.totals.cost_cents == 0
    assert rollup.total.series == (0,) * BUCKETS


async def test_open_incidents(world: World) -> None:
    policy = await world.insert(
        tables.budget_policies,
        company_id=world.company_id,
        scope_type="company",
        scope_id=world.company_id,
        window_kind="calendar_month_utc",
        amount=100,
    )
    for status in ("open", "resolved"):
        await world.insert(
            tables.budget_incidents,
            company_id=world.company_id,
            policy_id=policy,
            scope_type="company",
            scope_id=world.company_id,
            metric="billed_cents",
            window_kind="calendar_month_utc",
            window_start=NOW,
            window_end=NOW,
            threshold_type="hard" if status == "open" else "soft",
            amount_limit=100,
            amount_observed=120,
            status=status,
        )
    (incident,) = await open_incidents(world.db, world.company_id)
    assert (incident.status, incident.amount_observed) == ("open", 120)
