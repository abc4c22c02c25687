"""Blocker relations: set, add, remove; direction, cycles, companies, audit."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import NotFound, Unprocessable
from core.host_services.params import EditBlockers, IssueRef, SetBlockedBy
from db import tables
from tests.fixtures.orchestration import World, make_world


async def _issues(world: World, *titles: str) -> list[str]:
    return [await world.issue(title=title) for title in titles]


async def test_blocks_edge_direction_and_title_order(world: World) -> None:
    target, zulu, alpha = await _issues(world, "Target", "Zulu blocker", "alpha blocker")
    relations = world.services.issues.relations
    summary = await relations.set_blocked_by(
        SetBlockedBy(
            issue_id=target, company_id=world.company_id, blocked_by_issue_ids=[zulu, alpha]
        )
    )
    assert [b.title for b in summary.blocked_by] == ["alpha blocker", "Zulu blocker"]
    assert summary.blocks == ()
    # 2026.916.1: every related issue names its scheduled retry; the sandbox schedules none
    assert [b["scheduledRetry"] for b in summary.to_wire()["blockedBy"]] == [None, None]
    blocker_view = await relations.get(IssueRef(issue_id=zulu, company_id=world.company_id))
    assert [b.id for b in blocker_view.blocks] == [target]
    edges = await world.rows(tables.issue_relations)
    assert {(str(e["issue_id"]), str(e["related_issue_id"])) for e in edges} == {
        (zulu, target),
        (alpha, target),
    }


async def test_add_and_remove_keep_the_rest(world: World) -> None:
    target, a, b, c = await _issues(world, "T", "A", "B", "C")
    relations = world.services.issues.relations
    await relations.set_blocked_by(
        SetBlockedBy(issue_id=target, company_id=world.company_id, blocked_by_issue_ids=[a])
    )
    added = await relations.add_blockers(
        EditBlockers(issue_id=target, company_id=world.company_id, blocker_issue_ids=[b, c, a])
    )
    assert [x.title for x in added.blocked_by] == ["A", "B", "C"]
    removed = await relations.remove_blockers(
        EditBlockers(issue_id=target, company_id=world.company_id, blocker_issue_ids=[b])
    )
    assert [x.title for x in removed.blocked_by] == ["A", "C"]
    audit = await world.rows(
        tables.activity_log, tables.activity_log.c.action == "issue.relations.updated"
    )
    by_mutation = {row["details"]["mutation"]: row["details"] for row in audit}
    assert by_mutation["add"]["previousBlockedByIssueIds"] == [a]
    assert by_mutation["add"]["blockedByIssueIds"] == [a, b, c]
    assert by_mutation["remove"]["blockedByIssueIds"] == [a, c]


async def test_self_cycles_and_foreign_blockers_are_refused(world: World) -> None:
    a, b, c = await _issues(world, "A", "B", "C")
    relations = world.services.issues.relations
    company = world.company_id
    with pytest.raises(Unprocessable, match="^Issue cannot be blocked by itself$"):
        await relations.set_blocked_by(
            SetBlockedBy(issue_id=a, company_id=company, blocked_by_issue_ids=[a])
        )
    await relations.set_blocked_by(
        SetBlockedBy(issue_id=b, company_id=company, blocked_by_issue_ids=[a])
    )
    await relations.set_blocked_by(
        SetBlockedBy(issue_id=c, company_id=company, blocked_by_issue_ids=[b])
    )
    with pytest.raises(Unprocessable, match="^Blocking relations cannot contain cycles$"):
        await relations.add_blockers(
            EditBlockers(issue_id=a, company_id=company, blocker_issue_ids=[c])
        )
    other = await make_world(world.db, name="Other")
    foreign = await other.issue(title="Theirs")
    for blockers in ([foreign], ["not-a-uuid"], ["00000000-0000-4000-8000-000000000000"]):
        with pytest.raises(
            Unprocessable, match="^Blocked-by issues must belong to the same company$"
        ):
            await relations.set_blocked_by(
                SetBlockedBy(issue_id=a, company_id=company, blocked_by_issue_ids=blockers)
            )
    assert len(await world.rows(tables.issue_relations)) == 2


async def test_concurrent_add_blockers_lose_no_edges(world: World) -> None:
    target = await world.issue(title="Target")
    blockers = await _issues(world, *(f"B{n}" for n in range(8)))
    await asyncio.gather(
        *(
            world.services.issues.relations.add_blockers(
                EditBlockers(
                    issue_id=target, company_id=world.company_id, blocker_issue_ids=[blocker]
                )
            )
            for blocker in blockers
        )
    )
    summary = await world.services.issues.relations.get(
        IssueRef(issue_id=target, company_id=world.company_id)
    )
    assert sorted(b.id for b in summary.blocked_by) == sorted(blockers)


async def test_relations_of_unknown_issue(world: World) -> None:
    with pytest.raises(NotFound, match="^Issue not found$"):
        await world.services.issues.relations.get(
            IssueRef(issue_id="00000000-0000-4000-8000-000000000000", company_id=world.company_id)
        )
