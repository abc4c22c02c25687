"""Upstream's plugin-sdk-orchestration-contract.test.ts, against the real host.

Upstream runs these cases on its in-memory harness; the real host needs what the harness skips
(reference 20.3): a user assignee must be a company member, a woken agent must exist, and a
checkout run must be a real run. Each setup below provides that, and the assertions are
upstream's.
"""

from __future__ import annotations

import pytest

from core.errors import HostError
from core.host_services import build_host_services
from core.host_services.params import (
    CheckoutOwner,
    CreateIssue,
    EditBlockers,
    GetSubtree,
    IssueRef,
    ListIssues,
    RequestWakeup,
    RequestWakeups,
    SetBlockedBy,
    UpdateIssue,
)
from db import tables
from tests.fixtures.orchestration import World

KEY = "paperclip.test-orchestration"


async def test_expanded_issue_create_fields_and_relation_helpers(world: World) -> None:
    services = build_host_services(world.db, "plugin-record-id", KEY, world.bus)
    company = world.company_id
    await world.insert(
        tables.company_memberships,
        company_id=company,
        principal_type="user",
        principal_id="board-user",
    )
    blocker = await world.issue(title="Blocker")
    created = await services.issues.create(
        CreateIssue(
            company_id=company,
            title="Generated issue",
            status="todo",
            assignee_user_id="board-user",
            billing_code="mission:alpha",
            origin_id="mission-alpha",
            blocked_by_issue_ids=[blocker],
        )
    )
    assert created.origin_kind == f"plugin:{KEY}"
    assert (created.origin_id, created.billing_code, created.assignee_user_id) == (
        "mission-alpha",
        "mission:alpha",
        "board-user",
    )
    relations = services.issues.relations
    summary = await relations.get(IssueRef(issue_id=created.id, company_id=company))
    assert [(b.id, b.title) for b in summary.blocked_by] == [(blocker, "Blocker")]
    assert summary.blocks == ()
    removed = await relations.remove_blockers(
        EditBlockers(issue_id=created.id, company_id=company, blocker_issue_ids=[blocker])
    )
    assert removed.model_dump() == {"blocked_by": (), "blocks": ()}
    added = await relations.add_blockers(
        EditBlockers(issue_id=created.id, company_id=company, blocker_issue_ids=[blocker])
    )
    assert [b.id for b in added.blocked_by] == [blocker] and added.blocks == ()
    subtree = await services.issues.get_subtree(
        GetSubtree(issue_id=created.id, company_id=company, include_relations=True)
    )
    assert subtree.root_issue_id == created.id and subtree.issue_ids == [created.id]
    assert subtree.relations is not None
    assert blocker in [b.id for b in subtree.relations[created.id].blocked_by]


async def test_origin_namespaces(world: World) -> None:
    services = build_host_services(world.db, "plugin-record-id", KEY, world.bus)
    company = world.company_id
    kept = await services.issues.create(
        CreateIssue(company_id=company, title="Feature", origin_kind=f"plugin:{KEY}:feature")
    )
    assert kept.origin_kind == f"plugin:{KEY}:feature"
    listed = await services.issues.list(
        ListIssues(company_id=company, origin_kind=f"plugin:{KEY}:feature")
    )
    assert [issue.id for issue in listed] == [kept.id]
    message = f"Plugin may only use originKind values under plugin:{KEY}"
    with pytest.raises(HostError, match=message):
        await services.issues.create(
            CreateIssue(
                company_id=company, title="Spoof", origin_kind="plugin:other.plugin:feature"
            )
        )
    with pytest.raises(HostError, match=message):
        await services.issues.update(
            UpdateIssue(
                issue_id=kept.id,
                company_id=company,
                patch={"origin_kind": "plugin:other.plugin:feature"},
            )
        )


async def test_checkout_and_wakeups(world: World) -> None:
    services = build_host_services(world.db, "plugin-record-id", KEY, world.bus)
    company = world.company_id
    issue_id = await world.issue(status="in_progress", assignee_agent_id=world.agent_id)
    run_id = await world.run(context_snapshot={"issueId": issue_id})
    async with world.db.transaction() as session:
        await session.execute(
            tables.issues.update()
            .where(tables.issues.c.id == issue_id)
            .values(checkout_run_id=run_id)
        )
    owner = await services.issues.assert_checkout_owner(
        CheckoutOwner(
            issue_id=issue_id,
            company_id=company,
            actor_agent_id=world.agent_id,
            actor_run_id=run_id,
        )
    )
    assert (owner.issue_id, owner.checkout_run_id) == (issue_id, run_id)
    woken = await services.issues.request_wakeup(
        RequestWakeup(issue_id=issue_id, company_id=company, reason="mission_advance")
    )
    assert woken.queued is True
    batch = await services.issues.request_wakeups(
        RequestWakeups(
            issue_ids=[issue_id],
            company_id=company,
            reason="mission_advance",
            idempotency_key_prefix="mission:alpha",
        )
    )
    assert [(r.issue_id, r.queued) for r in batch] == [(issue_id, True)]


async def test_wakeups_rejected_while_blockers_are_unresolved(world: World) -> None:
    services = build_host_services(world.db, "plugin-record-id", KEY, world.bus)
    blocker = await world.issue(title="Blocker")
    issue_id = await world.issue(assignee_agent_id=world.agent_id)
    await services.issues.relations.set_blocked_by(
        SetBlockedBy(issue_id=issue_id, company_id=world.company_id, blocked_by_issue_ids=[blocker])
    )
    with pytest.raises(HostError, match="Issue is blocked by unresolved blockers"):
        await services.issues.request_wakeup(
            RequestWakeup(issue_id=issue_id, company_id=world.company_id)
        )
