"""Cost events: one billed model call of an agent, as upstream's cost service records it.

``record_cost_event`` writes the ``cost_events`` row, refreshes the month's spend of the agent
and the company (``spent_monthly_cents``), and logs ``cost_event.created`` (actor ``system`` /
``cost-service``), all in the caller's transaction. Upstream then evaluates budget policies;
the sandbox does not open budget incidents yet.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from core import records
from core.activity import record_activity
from core.budgets import month_window
from core.errors import NotFound, Unprocessable
from core.ids import require_uuid
from core.unit_of_work import UnitOfWork
from db import tables


async def record_cost_event(
    unit: UnitOfWork,
    *,
    company_id: str,
    agent_id: str,
    provider: str,
    model: str,
    cost_cents: int,
    input_tokens: int = 0,
    cached_input_tokens: int = 0,
    output_tokens: int = 0,
    biller: str | None = None,
    billing_type: str | None = None,
    billing_code: str | None = None,
    issue_id: str | None = None,
    project_id: str | None = None,
    heartbeat_run_id: str | None = None,
    occurred_at: datetime | None = None,
) -> records.CostEvent:
    """Record one cost event of ``agent_id`` (upstream's ``costService.createEvent``).

    Raises:
        NotFound: ``Agent not found``.
        Unprocessable: ``Agent does not belong to company``.
    """
    session = unit.session
    agent_company = await session.scalar(
        sa.select(tables.agents.c.company_id).where(
            tables.agents.c.id == require_uuid(agent_id, "agentId")
        )
    )
    if agent_company is None:
        raise NotFound("Agent not found")
    if str(agent_company) != company_id:
        raise Unprocessable("Agent does not belong to company")
    now = unit.now
    event = records.CostEvent(
        id=str(uuid.uuid4()),
        company_id=company_id,
        agent_id=agent_id,
        issue_id=issue_id,
        project_id=project_id,
        heartbeat_run_id=heartbeat_run_id,
        billing_code=billing_code,
        provider=provider,
        biller=biller or provider,
        billing_type=billing_type or "unknown",
        model=model,
        input_tokens=input_tokens,
        cached_input_tokens=cached_input_tokens,
        output_tokens=output_tokens,
        cost_cents=cost_cents,
        occurred_at=occurred_at or now,
        created_at=now,
    )
    await session.execute(sa.insert(tables.cost_events).values(**event.model_dump()))
    await _refresh_month_spend(unit, company_id, agent_id, now)
    await record_activity(
        unit,
        company_id=company_id,
        actor_type="system",
        actor_id="cost-service",
        action="cost_event.created",
        entity_type="cost_event",
        entity_id=event.id,
        agent_id=agent_id,
        run_id=heartbeat_run_id,
        details={
            "costCents": event.cost_cents,
            "model": event.model,
            "provider": event.provider,
            "biller": event.biller,
            "billingType": event.billing_type,
            "inputTokens": event.input_tokens,
            "cachedInputTokens": event.cached_input_tokens,
            "outputTokens": event.output_tokens,
            "heartbeatRunId": event.heartbeat_run_id,
            "agentId": agent_id,
            "companyId": company_id,
        },
    )
    return event


async def _refresh_month_spend(
    unit: UnitOfWork, company_id: str, agent_id: str, now: datetime
) -> None:
    """Set the agent's and the company's ``spent_monthly_cents`` to this month's totals."""
    costs = tables.cost_events
    start, end = month_window(now)
    in_month = sa.and_(
        costs.c.company_id == company_id, costs.c.occurred_at >= start, costs.c.occurred_at < end
    )
    total = sa.func.coalesce(sa.func.sum(costs.c.cost_cents), 0)
    agent_total = sa.select(total).where(in_month, costs.c.agent_id == agent_id).scalar_subquery()
    company_total = sa.select(total).where(in_month).scalar_subquery()
    await unit.session.execute(
        sa.update(tables.agents)
        .where(tables.agents.c.id == agent_id)
        .values(spent_monthly_cents=agent_total, updated_at=now)
    )
    await unit.session.execute(
        sa.update(tables.companies)
        .where(tables.companies.c.id == company_id)
        .values(spent_monthly_cents=company_total, updated_at=now)
    )
