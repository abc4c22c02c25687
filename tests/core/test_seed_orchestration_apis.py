"""A port of upstream's seed test, server/src/__tests__/plugin-orchestration-apis.test.ts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import HostError
from core.host_services.params import (
    CheckoutOwner,
    CreateIssue,
    GetOrchestration,
    RequestWakeup,
    UpdateIssue,
)
from db import tables
from tests.fixtures.orchestration import PLUGIN_ID, PLUGIN_KEY, World


async def test_creates_plugin_origin_issues_with_full_orchestration_fields_and_audit(
    world: World,
) -> None:
    blocker_id = await world.issue(title="Blocker", identifier=f"{world.prefix}-blocker")
    origin_run_id = await world.run(context_snapshot={"issueId": blocker_id})

    issue = await world.services.issues.create(
        CreateIssue(
            company_id=world.company_id,
            title="Plugin child issue",
            status="todo",
            assignee_agent_id=world.agent_id,
            billing_code="mission:alpha",
            origin_id="mission-alpha",
            blocked_by_issue_ids=[blocker_id],
            actor_agent_id=world.agent_id,
            actor_run_id=origin_run_id,
        )
    )

    [stored] = await world.rows(tables.issues, tables.issues.c.id == issue.id)
    assert stored["origin_kind"] == "plugin:paperclip.missions"
    assert stored["origin_id"] == "mission-alpha"
    assert stored["billing_code"] == "mission:alpha"
    assert str(stored["assignee_agent_id"]) == world.agent_id
    assert str(stored["created_by_agent_id"]) == world.agent_id
    assert stored["origin_run_id"] == origin_run_id

    [relation] = await world.rows(
        tables.issue_relations,
        tables.issue_relations.c.issue_id == blocker_id,
        tables.issue_relations.c.related_issue_id == issue.id,
    )
    assert relation["type"] == "blocks"

    activities = await world.rows(
        tables.activity_log,
        tables.activity_log.c.entity_type == "issue",
        tables.activity_log.c.entity_id == issue.id,
    )
    created = [row for row in activities if row["action"] == "issue.created"]
    assert len(created) == 1
    row = created[0]
    assert (row["actor_type"], row["actor_id"]) == ("plugin", PLUGIN_ID)
    assert str(row["agent_id"]) == world.agent_id
    assert (
        row["details"]
        | {
            "sourcePluginId": PLUGIN_ID,
            "sourcePluginKey": PLUGIN_KEY,
            "initiatingActorType": "agent",
            "initiatingActorId": world.agent_id,
            "initiatingRunId": origin_run_id,
        }
        == row["details"]
    )


async def test_enforces_plugin_origin_namespaces(world: World) -> None:
    feature = await world.services.issues.create(
        CreateIssue(
            company_id=world.company_id,
            title="Feature issue",
            origin_kind="plugin:paperclip.missions:feature",
            origin_id="mission-alpha:feature-1",
        )
    )
    assert feature.origin_kind == "plugin:paperclip.missions:feature"

    message = "Plugin may only use originKind values under plugin:paperclip.missions"
    with pytest.raises(HostError, match=message):
        await world.services.issues.create(
            CreateIssue(
                company_id=world.company_id,
                title="Spoofed issue",
                origin_kind="plugin:other.plugin:feature",
            )
        )
    with pytest.raises(HostError, match=message):
        await world.services.issues.update(
            UpdateIssue(
                issue_id=feature.id,
                company_id=world.company_id,
                patch={"originKind": "plugin:other.plugin:feature"},
            )
        )


async def test_asserts_checkout_ownership_for_run_scoped_plugin_actions(world: World) -> None:
    issue_id = await world.issue(
        title="Checked out issue", status="in_progress", assignee_agent_id=world.agent_id
    )
    run_id = await world.run(context_snapshot={"issueId": issue_id})
    async with world.db.transaction() as session:
        await session.execute(
            tables.issues.update()
            .where(tables.issues.c.id == issue_id)
            .values(checkout_run_id=run_id, execution_run_id=run_id)
        )

    ownership = await world.services.issues.assert_checkout_owner(
        CheckoutOwner(
            issue_id=issue_id,
            company_id=world.company_id,
            actor_agent_id=world.agent_id,
            actor_run_id=run_id,
        )
    )
    assert ownership.issue_id == issue_id
    assert ownership.status == "in_progress"
    assert ownership.assignee_agent_id == world.agent_id
    assert ownership.checkout_run_id == run_id


async def test_refuses_plugin_wakeups_for_issues_with_unresolved_blockers(world: World) -> None:
    blocker_id = await world.issue(title="Unresolved blocker")
    blocked_id = await world.issue(title="Blocked issue", assignee_agent_id=world.agent_id)
    await world.insert(
        tables.issue_relations,
        company_id=world.company_id,
        issue_id=blocker_id,
        related_issue_id=blocked_id,
        type="blocks",
    )

    with pytest.raises(HostError, match="Issue is blocked by unresolved blockers"):
        await world.services.issues.request_wakeup(
            RequestWakeup(
                issue_id=blocked_id, company_id=world.company_id, reason="mission_advance"
            )
        )


async def test_narrows_orchestration_cost_summaries_by_subtree_and_billing_code(
    world: World,
) -> None:
    root_id = await world.issue(title="Root mission", billing_code="mission:alpha")
    child_id = await world.issue(
        title="Child mission", parent_id=root_id, billing_code="mission:alpha"
    )
    unrelated_id = await world.issue(title="Different mission", billing_code="mission:alpha")
    for issue_id, code, cents, tokens in [
        (root_id, "mission:alpha", 100, (10, 1, 2)),
        (child_id, "mission:alpha", 200, (20, 2, 4)),
        (child_id, "mission:beta", 300, (30, 3, 6)),
        (unrelated_id, "mission:alpha", 400, (40, 4, 8)),
    ]:
        await world.insert(
            tables.cost_events,
            company_id=world.company_id,
            agent_id=world.agent_id,
            issue_id=issue_id,
            billing_code=code,
            provider="openai",
            model="gpt-5",
            input_tokens=tokens[0],
            cached_input_tokens=tokens[1],
            output_tokens=tokens[2],
            cost_cents=cents,
            occurred_at=datetime.now(UTC),
        )

    summary = await world.services.issues.summaries.get_orchestration(
        GetOrchestration(issue_id=root_id, company_id=world.company_id, include_subtree=True)
    )
    assert set(summary.subtree_issue_ids) == {root_id, child_id}
    assert summary.costs.model_dump() == {
        "billing_code": "mission:alpha",
        "cost_cents": 300,
        "input_tokens": 30,
        "cached_input_tokens": 3,
        "output_tokens": 6,
    }
