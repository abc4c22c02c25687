"""Subtree reads and the orchestration summary, in a constant number of queries.

Upstream walks the tree one level at a time and then queries per issue (relations, approvals,
budget gates), so its cost grows with the subtree. Here the subtree is one recursive query, and
every part after it is one set-based query over all its ids (bound as a single array
parameter), so the number of statements does not depend on the subtree's size.

Orderings are defined (upstream's are partly database order): the root first, then level by
level, each level by creation time then id; runs newest first; approvals in subtree order,
newest link first; incidents newest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from core import records
from core.budgets import load_budget_context
from core.documents import SYSTEM_KEYS
from core.issue_relations import NO_RELATIONS, relation_summaries
from core.unit_of_work import UnitOfWork
from db import any_of, subtree, tables
from db.constants import HEARTBEAT_RUN_ACTIVE_STATUSES
from db.types import JsonText

#: Most runs reported per issue (upstream caps the whole summary at 100, losing runs of big trees).
RUNS_PER_ISSUE = 100


def _text(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[str]:
    """An id read as text: what records hold, without a UUID round trip per value."""
    return sa.cast(column, sa.Text).label(name)


def _subtree_query(company_id: str, root_id: Any, *columns: Any) -> sa.Select[Any]:
    issues = tables.issues
    tree = subtree(
        issues.c.id, issues.c.parent_id, root_id, where=issues.c.company_id == company_id
    )
    return (
        sa.select(*columns)
        .join(tree, tree.c.id == issues.c.id)
        .order_by(tree.c.depth, issues.c.created_at, issues.c.issue_number, issues.c.id)
    )


async def subtree_rows(unit: UnitOfWork, company_id: str, root_id: Any) -> list[Mapping[str, Any]]:
    """The root and every descendant in the company, root first, level by level."""
    query = _subtree_query(company_id, root_id, tables.issues)
    return list((await unit.session.execute(query)).mappings().all())


async def subtree_nodes(unit: UnitOfWork, company_id: str, root_id: Any) -> list[Mapping[str, Any]]:
    """Like ``subtree_rows``, with only what summaries need: id, assignee and project as text."""
    issues = tables.issues
    query = _subtree_query(
        company_id,
        root_id,
        _text(issues.c.id, "id"),
        _text(issues.c.assignee_agent_id, "assignee_agent_id"),
        _text(issues.c.project_id, "project_id"),
    )
    return list((await unit.session.execute(query)).mappings().all())


async def run_summaries(
    unit: UnitOfWork, company_id: str, issue_ids: Sequence[str], *, active_only: bool = False
) -> list[records.RunSummary]:
    """Runs whose context names one of the issues, newest first, at most ``RUNS_PER_ISSUE`` each."""
    if not issue_ids:
        return []
    runs = tables.heartbeat_runs
    issue_of_run = JsonText(runs.c.context_snapshot, "issueId")
    conditions = [
        runs.c.company_id == company_id,
        any_of(unit.dialect, issue_of_run, issue_ids),
    ]
    if active_only:
        conditions.append(runs.c.status.in_(HEARTBEAT_RUN_ACTIVE_STATUSES))
    rank = (
        sa.func.row_number()
        .over(partition_by=issue_of_run, order_by=(runs.c.created_at.desc(), runs.c.id.desc()))
        .label("rank")
    )
    ranked = (
        sa.select(
            _text(runs.c.id, "id"),
            issue_of_run.label("issue_id"),
            _text(runs.c.agent_id, "agent_id"),
            runs.c.status,
            runs.c.invocation_source,
            runs.c.trigger_detail,
            runs.c.started_at,
            runs.c.finished_at,
            runs.c.error,
            runs.c.created_at,
            rank,
        )
        .where(*conditions)
        .subquery()
    )
    query = (
        sa.select(ranked)
        .where(ranked.c.rank <= RUNS_PER_ISSUE)
        .order_by(ranked.c.created_at.desc(), ranked.c.id.desc())
    )
    rows = (await unit.session.execute(query)).all()
    return [records.RunSummary.trusted(row._asdict()) for row in rows]


async def approval_summaries(
    unit: UnitOfWork, company_id: str, issue_ids: Sequence[str]
) -> list[records.ApprovalSummary]:
    """Approvals linked to the issues: in the order of ``issue_ids``, newest link first."""
    if not issue_ids:
        return []
    links, approvals = tables.issue_approvals, tables.approvals
    query = (
        sa.select(
            links.c.issue_id,
            links.c.created_at.label("linked_at"),
            approvals.c.id,
            approvals.c.type,
            approvals.c.status,
            approvals.c.requested_by_agent_id,
            approvals.c.requested_by_user_id,
            approvals.c.decided_by_user_id,
            approvals.c.decided_at,
            approvals.c.created_at,
        )
        .join(approvals, approvals.c.id == links.c.approval_id)
        .where(
            links.c.company_id == company_id,
            approvals.c.company_id == company_id,
            any_of(unit.dialect, links.c.issue_id, issue_ids),
        )
    )
    rows = (await unit.session.execute(query)).mappings().all()
    position = {issue_id: index for index, issue_id in enumerate(issue_ids)}
    ordered = sorted(
        rows, key=lambda row: (position[str(row["issue_id"])], -row["linked_at"].timestamp())
    )
    return [records.ApprovalSummary.model_validate(row) for row in ordered]


async def cost_summary(
    unit: UnitOfWork, company_id: str, issue_ids: Sequence[str], billing_code: str | None
) -> records.CostSummary:
    """Summed costs of the issues, narrowed to ``billing_code`` when it is set."""
    costs = tables.cost_events
    conditions = [
        costs.c.company_id == company_id,
        any_of(unit.dialect, costs.c.issue_id, issue_ids),
    ]
    if billing_code:
        conditions.append(costs.c.billing_code == billing_code)
    query = sa.select(
        *(
            sa.func.coalesce(sa.func.sum(costs.c[name]), 0).label(name)
            for name in ("cost_cents", "input_tokens", "cached_input_tokens", "output_tokens")
        )
    ).where(*conditions)
    totals = (await unit.session.execute(query)).mappings().one()
    return records.CostSummary(**{k: int(v) for k, v in totals.items()}, billing_code=billing_code)


async def open_budget_incidents(
    unit: UnitOfWork, company_id: str
) -> list[records.BudgetIncidentSummary]:
    """The company's open budget incidents, newest first (company-wide, as upstream)."""
    incidents = tables.budget_incidents
    query = (
        sa.select(incidents)
        .where(incidents.c.company_id == company_id, incidents.c.status == "open")
        .order_by(incidents.c.created_at.desc(), incidents.c.id)
    )
    return [
        records.BudgetIncidentSummary.model_validate(row)
        for row in (await unit.session.execute(query)).mappings().all()
    ]


async def invocation_blocks(
    unit: UnitOfWork, company_id: str, rows: Sequence[Mapping[str, Any]]
) -> list[records.InvocationBlock]:
    """Budget and pause blocks for every assigned issue, judged once per (agent, project)."""
    assigned = [row for row in rows if row["assignee_agent_id"] is not None]
    if not assigned:
        return []
    context = await load_budget_context(
        unit,
        company_id,
        [row["assignee_agent_id"] for row in assigned],
        [row["project_id"] for row in assigned],
    )
    verdicts: dict[tuple[str, str | None], Any] = {}
    blocks = []
    for row in assigned:
        agent_id = str(row["assignee_agent_id"])
        project_id = str(row["project_id"]) if row["project_id"] else None
        key = (agent_id, project_id)
        if key not in verdicts:
            verdicts[key] = context.invocation_block(agent_id, project_id)
        block = verdicts[key]
        if block is not None:
            blocks.append(
                records.InvocationBlock(
                    issue_id=str(row["id"]),
                    agent_id=agent_id,
                    scope_type=block.scope_type,
                    scope_id=block.scope_id,
                    scope_name=block.scope_name,
                    reason=block.reason,
                )
            )
    return blocks


async def orchestration_summary(
    unit: UnitOfWork,
    root: Mapping[str, Any],
    *,
    include_subtree: bool,
    billing_code: str | None,
) -> records.OrchestrationSummary:
    """Relations, approvals, runs, costs, incidents and invocation blocks of an issue (tree)."""
    company_id = str(root["company_id"])
    if include_subtree:
        rows = await subtree_nodes(unit, company_id, root["id"])
    else:
        rows = [{key: _id_or_none(root[key]) for key in ("id", "assignee_agent_id", "project_id")}]
    ids = [row["id"] for row in rows]
    relations = await relation_summaries(unit, company_id, ids)
    effective_code = billing_code if billing_code is not None else root["billing_code"]
    return records.OrchestrationSummary.model_construct(
        issue_id=str(root["id"]),
        company_id=company_id,
        subtree_issue_ids=ids,
        relations={issue_id: relations.get(issue_id, NO_RELATIONS) for issue_id in ids},
        approvals=await approval_summaries(unit, company_id, ids),
        runs=await run_summaries(unit, company_id, ids),
        costs=await cost_summary(unit, company_id, ids, effective_code),
        open_budget_incidents=await open_budget_incidents(unit, company_id),
        invocation_blocks=await invocation_blocks(unit, company_id, rows),
    )


async def issue_subtree(
    unit: UnitOfWork,
    root: Mapping[str, Any],
    *,
    include_root: bool = True,
    include_relations: bool = False,
    include_documents: bool = False,
    include_active_runs: bool = False,
    include_assignees: bool = False,
) -> records.Subtree:
    """An issue's subtree with the optional parts asked for (absent otherwise)."""
    company_id = str(root["company_id"])
    rows = await subtree_rows(unit, company_id, root["id"])
    if not include_root:
        rows = [row for row in rows if row["id"] != root["id"]]
    ids = [str(row["id"]) for row in rows]
    parts: dict[str, Any] = {}
    if include_relations:
        found = await relation_summaries(unit, company_id, ids)
        parts["relations"] = {i: found.get(i, NO_RELATIONS) for i in ids}
    if include_documents:
        parts["documents"] = await _document_summaries(unit, company_id, ids)
    if include_active_runs:
        grouped: dict[str, list[records.RunSummary]] = {issue_id: [] for issue_id in ids}
        for run in await run_summaries(unit, company_id, ids, active_only=True):
            grouped[str(run.issue_id)].append(run)
        parts["active_runs"] = grouped
    if include_assignees:
        parts["assignees"] = await _assignees(unit, company_id, rows)
    return records.Subtree(
        root_issue_id=str(root["id"]),
        company_id=company_id,
        issue_ids=ids,
        issues=[records.IssueRow.trusted(row) for row in rows],
        **parts,
    )


async def _document_summaries(
    unit: UnitOfWork, company_id: str, ids: Sequence[str]
) -> dict[str, list[records.DocumentSummary]]:
    links, documents = tables.issue_documents, tables.documents
    found: dict[str, list[records.DocumentSummary]] = {issue_id: [] for issue_id in ids}
    if not ids:
        return found
    query = (
        sa.select(
            documents.c.id,
            documents.c.company_id,
            links.c.issue_id,
            links.c.key,
            documents.c.title,
            documents.c.latest_revision_id,
            documents.c.latest_revision_number,
            documents.c.created_by_agent_id,
            documents.c.created_by_user_id,
            documents.c.updated_by_agent_id,
            documents.c.updated_by_user_id,
            documents.c.created_at,
            documents.c.updated_at,
        )
        .join(documents, documents.c.id == links.c.document_id)
        .where(
            links.c.company_id == company_id,
            any_of(unit.dialect, links.c.issue_id, ids),
            links.c.key.not_in(SYSTEM_KEYS),
        )
        .order_by(links.c.key, documents.c.updated_at.desc())
    )
    for row in (await unit.session.execute(query)).mappings().all():
        found[str(row["issue_id"])].append(
            records.DocumentSummary.model_validate({**row, "format": "markdown"})
        )
    return found


async def _assignees(
    unit: UnitOfWork, company_id: str, rows: Sequence[Mapping[str, Any]]
) -> dict[str, records.AssigneeSummary]:
    agent_ids = sorted({str(row["assignee_agent_id"]) for row in rows if row["assignee_agent_id"]})
    if not agent_ids:
        return {}
    agents = tables.agents
    query = sa.select(
        agents.c.id, agents.c.name, agents.c.role, agents.c.title, agents.c.status
    ).where(agents.c.company_id == company_id, any_of(unit.dialect, agents.c.id, agent_ids))
    return {
        str(row["id"]): records.AssigneeSummary.model_validate(row)
        for row in (await unit.session.execute(query)).mappings().all()
    }


def _id_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
