"""Subtree reads and orchestration summaries: content, order, and a constant query count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import NotFound
from core.host_services.params import GetOrchestration, GetSubtree, SetBlockedBy, UpsertDocument
from db import Database, tables
from tests.fixtures.orchestration import World, make_world


async def _tree(
    world: World, size: int, *, billing_code: str | None = "mission:alpha"
) -> list[str]:
    """A root with ``size - 1`` descendants (a few levels deep), each assigned, with costs,
    relations, runs, approvals and documents spread over them."""
    root = await world.issue(
        title="root", billing_code=billing_code, assignee_agent_id=world.agent_id
    )
    ids = [root]
    for n in range(1, size):
        parent = ids[(n - 1) // 4]
        ids.append(
            await world.issue(
                title=f"n{n:04d}",
                parent_id=parent,
                billing_code=billing_code,
                assignee_agent_id=world.agent_id,
            )
        )
    for n, issue_id in enumerate(ids):
        await world.insert(
            tables.cost_events,
            company_id=world.company_id,
            agent_id=world.agent_id,
            issue_id=issue_id,
            billing_code=billing_code,
            provider="p",
            model="m",
            cost_cents=10,
            input_tokens=2,
            occurred_at=datetime.now(UTC),
        )
        if n % 3 == 1:
            await world.insert(
                tables.issue_relations,
                company_id=world.company_id,
                issue_id=ids[n - 1],
                related_issue_id=issue_id,
                type="blocks",
            )
        if n % 5 == 0:
            await world.run(status="queued", context_snapshot={"issueId": issue_id})
    return ids


async def test_subtree_orders_root_then_levels(world: World) -> None:
    root = await world.issue(title="root")
    later = datetime.now(UTC) + timedelta(seconds=5)
    b = await world.issue(title="b", parent_id=root, created_at=later)
    a = await world.issue(title="a", parent_id=root)
    a1 = await world.issue(title="a1", parent_id=a)
    subtree = await world.services.issues.get_subtree(
        GetSubtree(issue_id=root, company_id=world.company_id)
    )
    assert subtree.issue_ids == [root, a, b, a1]
    assert [issue.title for issue in subtree.issues] == ["root", "a", "b", "a1"]
    assert "relations" not in subtree.to_wire()
    without_root = await world.services.issues.get_subtree(
        GetSubtree(issue_id=root, company_id=world.company_id, include_root=False)
    )
    assert without_root.issue_ids == [a, b, a1]


async def test_subtree_siblings_of_one_instant_keep_their_creation_order(world: World) -> None:
    """Ids are random, so they cannot break a tie of ``created_at``; the issue number can."""
    root = await world.issue(title="root", issue_number=1)
    instant = datetime.now(UTC)
    siblings = [
        await world.issue(title=f"s{n}", parent_id=root, issue_number=n, created_at=instant)
        for n in range(2, 12)
    ]
    subtree = await world.services.issues.get_subtree(
        GetSubtree(issue_id=root, company_id=world.company_id)
    )
    assert subtree.issue_ids == [root, *siblings]


async def test_subtree_issues_are_plain_rows_without_labels(world: World) -> None:
    root = await world.issue(title="root")
    label = await world.insert(
        tables.labels, company_id=world.company_id, name="bug", color="#ff0000"
    )
    await world.insert(
        tables.issue_labels, company_id=world.company_id, issue_id=root, label_id=label
    )
    wire = (
        await world.services.issues.get_subtree(
            GetSubtree(issue_id=root, company_id=world.company_id)
        )
    ).to_wire()
    [issue] = wire["issues"]
    assert issue["id"] == root and issue["title"] == "root"
    assert "labels" not in issue and "labelIds" not in issue


async def test_subtree_optional_parts(world: World) -> None:
    root = await world.issue(title="root", assignee_agent_id=world.agent_id)
    child = await world.issue(title="child", parent_id=root)
    await world.services.issues.relations.set_blocked_by(
        SetBlockedBy(issue_id=child, company_id=world.company_id, blocked_by_issue_ids=[root])
    )
    await world.services.issues.documents.upsert(
        UpsertDocument(
            issue_id=child, company_id=world.company_id, key="plan", body="# Plan", title="Plan"
        )
    )
    run = await world.run(status="running", context_snapshot={"issueId": root})
    await world.run(status="succeeded", context_snapshot={"issueId": root})
    subtree = await world.services.issues.get_subtree(
        GetSubtree(
            issue_id=root,
            company_id=world.company_id,
            include_relations=True,
            include_documents=True,
            include_active_runs=True,
            include_assignees=True,
        )
    )
    wire = subtree.to_wire()
    assert [b["id"] for b in wire["relations"][child]["blockedBy"]] == [root]
    assert wire["relations"][root]["blocks"][0]["id"] == child
    [doc] = wire["documents"][child]
    assert (doc["key"], doc["format"], "body" in doc) == ("plan", "markdown", False)
    assert wire["documents"][root] == []
    assert [r["id"] for r in wire["activeRuns"][root]] == [run]
    assert wire["activeRuns"][child] == []
    assert wire["assignees"] == {
        world.agent_id: {
            "id": world.agent_id,
            "name": "Engineer",
            "role": "engineer",
            "title": None,
            "status": "idle",
        }
    }


async def test_summary_without_subtree_and_with_explicit_billing_code(world: World) -> None:
    ids = await _tree(world, 6)
    root_only = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=ids[0], company_id=world.company_id)
    )
    assert root_only.subtree_issue_ids == [ids[0]]
    assert root_only.costs.cost_cents == 10
    other_code = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(
            issue_id=ids[0], company_id=world.company_id, include_subtree=True, billing_code="other"
        )
    )
    assert other_code.costs.cost_cents == 0 and other_code.costs.billing_code == "other"
    uncoded_root = await world.issue(title="no code", billing_code=None)
    await world.insert(
        tables.cost_events,
        company_id=world.company_id,
        agent_id=world.agent_id,
        issue_id=uncoded_root,
        billing_code="anything",
        provider="p",
        model="m",
        cost_cents=7,
        occurred_at=datetime.now(UTC),
    )
    uncoded = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=uncoded_root, company_id=world.company_id)
    )
    assert (uncoded.costs.cost_cents, uncoded.costs.billing_code) == (7, None)


async def test_summary_parts(world: World) -> None:
    ids = await _tree(world, 6)
    approval = await world.insert(
        tables.approvals,
        company_id=world.company_id,
        type="request_board_approval",
        payload={"why": "ship"},
    )
    await world.insert(
        tables.issue_approvals, company_id=world.company_id, issue_id=ids[2], approval_id=approval
    )
    policy = await world.insert(
        tables.budget_policies,
        company_id=world.company_id,
        scope_type="company",
        scope_id=world.company_id,
        window_kind="lifetime",
        amount=10_000,
    )
    now = datetime.now(UTC)
    incident = await world.insert(
        tables.budget_incidents,
        company_id=world.company_id,
        policy_id=policy,
        scope_type="company",
        scope_id=world.company_id,
        metric="billed_cents",
        window_kind="lifetime",
        window_start=now,
        window_end=now,
        threshold_type="soft",
        amount_limit=10_000,
        amount_observed=8_000,
    )
    summary = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=ids[0], company_id=world.company_id, include_subtree=True)
    )
    assert summary.subtree_issue_ids[0] == ids[0] and set(summary.subtree_issue_ids) == set(ids)
    assert set(summary.relations) == set(ids)
    assert [b.id for b in summary.relations[ids[1]].blocked_by] == [ids[0]]
    assert [(a.issue_id, a.id, a.type) for a in summary.approvals] == [
        (ids[2], approval, "request_board_approval")
    ]
    assert {run.issue_id for run in summary.runs} == {ids[0], ids[5]}
    assert summary.costs.cost_cents == 60 and summary.costs.input_tokens == 12
    assert [i.id for i in summary.open_budget_incidents] == [incident]
    assert summary.invocation_blocks == []


async def _read_everything(world: World, root: str) -> tuple[int, int]:
    """Summary and full subtree of ``root``: (subtree size, SELECT statements issued)."""
    with world.db.statement_counter() as statements:
        summary = await world.services.issues.summaries.get_orchestration(
            GetOrchestration(issue_id=root, company_id=world.company_id, include_subtree=True)
        )
        subtree = await world.services.issues.get_subtree(
            GetSubtree(
                issue_id=root,
                company_id=world.company_id,
                include_relations=True,
                include_documents=True,
                include_active_runs=True,
                include_assignees=True,
            )
        )
    assert len(summary.subtree_issue_ids) == len(subtree.issue_ids)
    queries = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    return len(subtree.issue_ids), len(queries)


async def test_summary_statement_count_does_not_grow_with_the_subtree(db: Database) -> None:
    small = await make_world(db, name="Small")
    large = await make_world(db, name="Large")
    small_size, small_queries = await _read_everything(small, (await _tree(small, 5))[0])
    large_size, large_queries = await _read_everything(large, (await _tree(large, 500))[0])
    assert (small_size, large_size) == (5, 500)
    assert small_queries == large_queries <= 20


async def test_foreign_or_missing_roots(world: World) -> None:
    other = await make_world(world.db, name="Other")
    foreign = await other.issue(title="Theirs")
    for call, params in (
        (world.services.issues.get_subtree, GetSubtree),
        (world.services.issues.summaries.get_orchestration, GetOrchestration),
    ):
        with pytest.raises(NotFound, match="^Issue not found$"):
            await call(params(issue_id=foreign, company_id=world.company_id))


async def test_children_in_another_company_are_cut_from_the_tree(world: World) -> None:
    other = await make_world(world.db, name="Other")
    root = await world.issue(title="root")
    foreign_child = await other.issue(title="foreign", parent_id=root)
    await other.issue(title="below foreign", parent_id=foreign_child)
    subtree = await world.services.issues.get_subtree(
        GetSubtree(issue_id=root, company_id=world.company_id)
    )
    assert subtree.issue_ids == [root]
