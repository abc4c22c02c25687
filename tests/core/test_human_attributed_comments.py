"""``issues.createComment`` for a board member (``actorUserId``, 2026.916.1): the member must be
active and not a viewer, the plugin needs ``issue.comments.create_human_attributed``, and the
comment wakes the issue's assignee."""

from __future__ import annotations

import pytest

from core.agents import create_agent
from core.errors import CapabilityDenied, Forbidden
from core.memberships import add_membership
from db import tables
from tests.fixtures.bridge import bridge_for
from tests.fixtures.orchestration import World

USER = "user-ada"
CAPABILITIES = ("issue.comments.create", "issue.comments.create_human_attributed")


async def _member(world: World, role: str = "member", status: str = "active") -> None:
    await add_membership(
        world.db,
        company_id=world.company_id,
        principal_type="user",
        principal_id=USER,
        role=role,
        status=status,
    )


async def test_a_members_comment_is_theirs_and_wakes_the_assignee(world: World) -> None:
    await _member(world)
    bridge = await bridge_for(world, CAPABILITIES)
    issue_id = await world.issue(status="todo", assignee_agent_id=world.agent_id)

    comment = await bridge.call(
        "issues.createComment",
        issueId=issue_id,
        companyId=world.company_id,
        body="Please look again",
        authorAgentId=world.agent_id,  # ignored for a member's comment
        actorUserId=USER,
    )
    assert (comment["authorUserId"], comment["authorAgentId"]) == (USER, None)

    [activity] = await world.rows(
        tables.activity_log, tables.activity_log.c.action == "issue.comment.created"
    )
    assert activity["details"]["initiatingUserId"] == USER
    assert activity["details"]["initiatingAgentId"] is None
    [request] = await world.rows(tables.agent_wakeup_requests)
    assert (request["reason"], request["status"]) == ("issue_commented", "queued")
    assert (request["requested_by_actor_type"], request["requested_by_actor_id"]) == ("user", USER)
    assert request["payload"] == {
        "issueId": issue_id,
        "commentId": comment["id"],
        "mutation": "comment",
    }
    [run] = await world.rows(tables.heartbeat_runs)
    assert run["context_snapshot"]["sourceCommentId"] == comment["id"]
    assert run["context_snapshot"]["source"] == "plugin:paperclip.bridge-test"


async def test_an_agents_comment_and_a_closed_issue_wake_nobody(world: World) -> None:
    await _member(world)
    bridge = await bridge_for(world, CAPABILITIES)
    open_issue = await world.issue(status="todo", assignee_agent_id=world.agent_id)
    done_issue = await world.issue(status="done", assignee_agent_id=world.agent_id)
    await bridge.call(
        "issues.createComment",
        issueId=open_issue,
        companyId=world.company_id,
        body="From the agent",
        authorAgentId=world.agent_id,
    )
    await bridge.call(
        "issues.createComment",
        issueId=done_issue,
        companyId=world.company_id,
        body="Too late",
        actorUserId=USER,
    )
    assert await world.rows(tables.agent_wakeup_requests) == []
    assert len(await world.rows(tables.issue_comments)) == 2


async def test_a_paused_assignee_is_not_woken_but_the_comment_stays(world: World) -> None:
    await _member(world)
    bridge = await bridge_for(world, CAPABILITIES)
    paused = await create_agent(
        world.db, company_id=world.company_id, name="Sleeper", status="paused"
    )
    issue_id = await world.issue(status="todo", assignee_agent_id=paused.id)
    await bridge.call(
        "issues.createComment",
        issueId=issue_id,
        companyId=world.company_id,
        body="Wake up",
        actorUserId=USER,
    )
    assert len(await world.rows(tables.issue_comments)) == 1
    assert await world.rows(tables.heartbeat_runs) == []


@pytest.mark.parametrize(
    ("role", "status", "message"),
    [
        (None, None, f'actorUserId "{USER}" is not an active human member of this company'),
        ("member", "suspended", f'actorUserId "{USER}" is not an active human member'),
        (
            "viewer",
            "active",
            f'actorUserId "{USER}" has viewer \\(read-only\\) access and cannot take this '
            "write action",
        ),
    ],
)
async def test_only_active_members_who_may_write(
    world: World, role: str | None, status: str | None, message: str
) -> None:
    if role is not None:
        await _member(world, role=role, status=status or "active")
    bridge = await bridge_for(world, CAPABILITIES)
    issue_id = await world.issue(status="todo")
    with pytest.raises(Forbidden, match=f"^{message}"):
        await bridge.call(
            "issues.createComment",
            issueId=issue_id,
            companyId=world.company_id,
            body="Hi",
            actorUserId=USER,
        )
    assert await world.rows(tables.issue_comments) == []


async def test_the_human_attribution_capability(world: World) -> None:
    await _member(world)
    bridge = await bridge_for(world, ("issue.comments.create",))
    issue_id = await world.issue(status="todo")
    with pytest.raises(CapabilityDenied) as denied:
        await bridge.call(
            "issues.createComment",
            issueId=issue_id,
            companyId=world.company_id,
            body="Hi",
            actorUserId=USER,
        )
    assert denied.value.message == (
        f'Plugin "{bridge.plugin_id}" is missing required capability '
        '"issue.comments.create_human_attributed" for method "issues.createComment" '
        "(plugin paperclip.bridge-test)"
    )
    assert await world.rows(tables.issue_comments) == []
