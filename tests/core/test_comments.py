"""Issue comments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import InvalidInput, NotFound
from core.host_services.params import CreateComment, IssueRef
from db import tables
from tests.fixtures.orchestration import World, make_world


async def test_create_and_list_newest_first(world: World) -> None:
    issue_id = await world.issue()
    [before] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
    first = await world.services.issues.create_comment(
        CreateComment(
            issue_id=issue_id,
            company_id=world.company_id,
            body="first " + "x" * 200,
            author_agent_id=world.agent_id,
        )
    )
    second = await world.services.issues.create_comment(
        CreateComment(issue_id=issue_id, company_id=world.company_id, body="second")
    )
    listed = await world.services.issues.list_comments(
        IssueRef(issue_id=issue_id, company_id=world.company_id)
    )
    assert [c.id for c in listed] == [second.id, first.id]
    assert first.author_agent_id == world.agent_id and second.author_agent_id is None
    [after] = await world.rows(tables.issues, tables.issues.c.id == issue_id)
    assert after["updated_at"] - before["updated_at"] > timedelta(0)
    audit = await world.rows(tables.activity_log, tables.activity_log.c.agent_id.is_not(None))
    [row] = audit
    assert row["action"] == "issue.comment.created"
    assert row["details"]["bodySnippet"] == ("first " + "x" * 200)[:120]
    assert row["details"]["commentId"] == first.id and row["run_id"] is None


async def test_foreign_issue_lists_nothing_and_refuses_comments(world: World) -> None:
    other = await make_world(world.db, name="Other")
    foreign = await other.issue()
    await other.services.issues.create_comment(
        CreateComment(issue_id=foreign, company_id=other.company_id, body="x")
    )
    assert (
        await world.services.issues.list_comments(
            IssueRef(issue_id=foreign, company_id=world.company_id)
        )
        == []
    )
    with pytest.raises(NotFound, match="^Issue not found$"):
        await world.services.issues.create_comment(
            CreateComment(issue_id=foreign, company_id=world.company_id, body="sneaky")
        )
    with pytest.raises(NotFound, match="^Actor agent not found$"):
        await world.services.issues.create_comment(
            CreateComment(
                issue_id=await world.issue(),
                company_id=world.company_id,
                body="as them",
                author_agent_id=other.agent_id,
            )
        )
    with pytest.raises(InvalidInput, match="non-empty"):
        await world.services.issues.create_comment(
            CreateComment(issue_id=await world.issue(), company_id=world.company_id, body="  ")
        )
