"""Budget gates: may an agent start work now, given pauses and hard-stop policies?

Upstream evaluates one (agent, project) pair at a time with several queries each. Here the
inputs for a whole set of pairs are loaded in a constant number of queries (company, agents,
projects, active policies, and one grouped cost total), and each pair is then judged in memory
with upstream's rules in upstream's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core.errors import NotFound
from core.unit_of_work import UnitOfWork
from db import tables


@dataclass(frozen=True)
class Block:
    """Why work cannot start: the scope that stops it and upstream's reason text."""

    scope_type: str
    scope_id: str
    scope_name: str
    reason: str


@dataclass
class BudgetContext:
    """Everything needed to judge invocation blocks for a set of agents and projects."""

    company: Mapping[str, Any] | None
    agents: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    projects: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    policies: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    #: cost totals: (scope_type, scope_id, window_kind) -> cents
    observed: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def invocation_block(self, agent_id: str, project_id: str | None) -> Block | None:
        """Upstream's rules, first match wins (12.1 of the host-services reference).

        Raises:
            NotFound: "Agent not found" (missing or of another company), "Company not found".
        """
        agent = self.agents.get(agent_id)
        if agent is None:
            raise NotFound("Agent not found")
        company = self.company
        if company is None:
            raise NotFound("Company not found")
        company_id = str(company["id"])
        if company["status"] == "paused":
            reason = (
                "Company is paused because its budget hard-stop was reached."
                if company["pause_reason"] == "budget"
                else "Company is paused and cannot start new work."
            )
            return Block("company", company_id, company["name"], reason)
        if self._exceeded("company", company_id):
            return Block(
                "company",
                company_id,
                company["name"],
                "Company cannot start new work because its budget hard-stop is exceeded.",
            )
        if agent["status"] == "paused" and agent["pause_reason"] == "budget":
            return Block(
                "agent",
                agent_id,
                agent["name"],
                "Agent is paused because its budget hard-stop was reached.",
            )
        if self._exceeded("agent", agent_id):
            return Block(
                "agent",
                agent_id,
                agent["name"],
                "Agent cannot start because its budget hard-stop is still exceeded.",
            )
        project = self.projects.get(project_id) if project_id else None
        if project is None:
            return None
        if self._exceeded("project", project_id):
            return Block(
                "project",
                str(project_id),
                project["name"],
                "Project cannot start work because its budget hard-stop is still exceeded.",
            )
        if project["paused_at"] is not None and project["pause_reason"] == "budget":
            return Block(
                "project",
                str(project_id),
                project["name"],
                "Project is paused because its budget hard-stop was reached.",
            )
        return None

    def _exceeded(self, scope_type: str, scope_id: Any) -> bool:
        policy = self.policies.get((scope_type, str(scope_id)))
        if policy is None or not policy["hard_stop_enabled"] or policy["amount"] <= 0:
            return False
        observed = self.observed.get((scope_type, str(scope_id), policy["window_kind"]), 0)
        return observed >= policy["amount"]


def month_window(now: datetime) -> tuple[datetime, datetime]:
    """The current calendar month in UTC: [start, end)."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


async def load_budget_context(
    unit: UnitOfWork,
    company_id: str,
    agent_ids: Iterable[Any],
    project_ids: Iterable[Any],
) -> BudgetContext:
    """Load the company, the agents and projects (of this company only), active policies and
    cost totals, in at most five queries whatever the number of agents and projects."""
    agents_wanted = sorted({str(agent) for agent in agent_ids if agent})
    projects_wanted = sorted({str(project) for project in project_ids if project})
    company = (
        (
            await unit.session.execute(
                sa.select(
                    tables.companies.c.id,
                    tables.companies.c.name,
                    tables.companies.c.status,
                    tables.companies.c.pause_reason,
                ).where(tables.companies.c.id == company_id)
            )
        )
        .mappings()
        .first()
    )
    context = BudgetContext(company=company)
    if agents_wanted:
        agents = tables.agents
        rows = await unit.session.execute(
            sa.select(agents.c.id, agents.c.name, agents.c.status, agents.c.pause_reason).where(
                agents.c.id.in_(agents_wanted), agents.c.company_id == company_id
            )
        )
        context.agents = {str(row["id"]): row for row in rows.mappings()}
    if projects_wanted:
        projects = tables.projects
        rows = await unit.session.execute(
            sa.select(
                projects.c.id, projects.c.name, projects.c.paused_at, projects.c.pause_reason
            ).where(projects.c.id.in_(projects_wanted), projects.c.company_id == company_id)
        )
        context.projects = {str(row["id"]): row for row in rows.mappings()}
    policies = tables.budget_policies
    rows = await unit.session.execute(
        sa.select(policies).where(
            policies.c.company_id == company_id,
            policies.c.is_active.is_(True),
            policies.c.metric == "billed_cents",
        )
    )
    context.policies = {(row["scope_type"], str(row["scope_id"])): row for row in rows.mappings()}
    if any(p["hard_stop_enabled"] and p["amount"] > 0 for p in context.policies.values()):
        context.observed = await _observed_totals(unit, company_id)
    return context


async def _observed_totals(unit: UnitOfWork, company_id: str) -> dict[tuple[str, str, str], int]:
    """Spent cents per scope and window kind, from one grouped query over the company's costs."""
    costs = tables.cost_events
    start, end = month_window(datetime.now(UTC))
    in_month = sa.and_(costs.c.occurred_at >= start, costs.c.occurred_at < end)
    query = (
        sa.select(
            costs.c.agent_id,
            costs.c.project_id,
            sa.func.coalesce(sa.func.sum(costs.c.cost_cents).filter(in_month), 0).label("month"),
            sa.func.coalesce(sa.func.sum(costs.c.cost_cents), 0).label("lifetime"),
        )
        .where(costs.c.company_id == company_id)
        .group_by(costs.c.agent_id, costs.c.project_id)
    )
    totals: dict[tuple[str, str, str], int] = {}
    for row in await unit.session.execute(query):
        scopes = [("company", company_id), ("agent", str(row.agent_id))]
        if row.project_id is not None:
            scopes.append(("project", str(row.project_id)))
        for scope_type, scope_id in scopes:
            for window, amount in (("calendar_month_utc", row.month), ("lifetime", row.lifetime)):
                key = (scope_type, scope_id, window)
                totals[key] = totals.get(key, 0) + int(amount)
    return totals
