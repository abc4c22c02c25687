"""``issues.status_version`` (Paperclip 2026.916.1): how many times an issue's status changed,
counted by the database whichever statement changes it, plus the fresh decision to stay
blocked."""

from __future__ import annotations

import sqlalchemy as sa

from core.host_services.params import CreateIssue, UpdateIssue
from db import tables
from tests.fixtures.orchestration import World


async def _update(world: World, issue_id: str, patch: dict[str, object]) -> int:
    updated = await world.services.issues.update(
        UpdateIssue(issue_id=issue_id, company_id=world.company_id, patch=patch)
    )
    [row] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
    assert updated.status_version == row["status_version"]
    return updated.status_version


async def test_each_status_change_counts_once(world: World) -> None:
    issue = await world.services.issues.create(
        CreateIssue(
            company_id=world.company_id,
            title="t",
            status="todo",
            assignee_agent_id=world.agent_id,
        )
    )
    assert issue.status_version == 0
    assert issue.to_wire()["statusVersion"] == 0
    assert await _update(world, issue.id, {"status": "in_progress"}) == 1
    assert await _update(world, issue.id, {"status": "in_progress"}) == 1
    assert await _update(world, issue.id, {"title": "renamed"}) == 1
    assert await _update(world, issue.id, {"status": "done"}) == 2


async def test_a_status_written_by_plain_sql_counts_too(world: World) -> None:
    issue_id = await world.issue(status="todo")
    issues = tables.issues
    async with world.db.transaction() as session:
        for status in ("in_progress", "in_progress", "in_review"):
            await session.execute(
                sa.update(issues).where(issues.c.id == issue_id).values(status=status)
            )
        # a statement that writes a version of its own does not double count
        await session.execute(
            sa.update(issues)
            .where(issues.c.id == issue_id)
            .values(status="done", status_version=issues.c.status_version + 1)
        )
    [row] = await world.rows(issues, issues.c.id == issue_id)
    assert row["status_version"] == 3


async def test_staying_blocked_is_a_fresh_decision(world: World) -> None:
    blocker = await world.issue(title="Blocker")
    other = await world.issue(title="Other blocker")
    issue_id = await world.issue(status="blocked")
    assert await _update(world, issue_id, {"status": "blocked"}) == 1
    assert await _update(world, issue_id, {"blockedByIssueIds": [blocker]}) == 2
    assert await _update(world, issue_id, {"blockedByIssueIds": [blocker, other]}) == 3
    assert await _update(world, issue_id, {"title": "still blocked"}) == 3
    assert await _update(world, issue_id, {"status": "todo"}) == 4
    assert await _update(world, issue_id, {"blockedByIssueIds": []}) == 4
