"""``issues.update`` answers with upstream's change receipt (2026.916.1): ``changes`` holds
``{from, to}`` for every field that changed, text cut to 200 characters, and label and
blocker ids when the patch set them."""

from __future__ import annotations

from core.host_services.params import UpdateIssue
from db import tables
from tests.fixtures.orchestration import World


async def _update(world: World, issue_id: str, patch: dict[str, object]) -> dict:
    updated = await world.services.issues.update(
        UpdateIssue(issue_id=issue_id, company_id=world.company_id, patch=patch)
    )
    return updated.to_wire()


async def test_each_changed_field_from_and_to_but_not_updated_at(world: World) -> None:
    issue_id = await world.issue(status="todo", assignee_agent_id=world.agent_id)
    wire = await _update(world, issue_id, {"status": "in_progress", "priority": "high"})
    changes = wire["changes"]
    assert changes["status"] == {"from": "todo", "to": "in_progress"}
    assert changes["priority"] == {"from": "medium", "to": "high"}
    assert changes["statusVersion"] == {"from": 0, "to": 1}
    assert changes["startedAt"] == {"from": None, "to": wire["startedAt"]}
    assert set(changes) == {"status", "priority", "statusVersion", "startedAt"}
    assert "blockedByIssueIds" not in wire

    assert (await _update(world, issue_id, {"priority": "high"}))["changes"] == {}


async def test_long_text_is_cut_and_marked(world: World) -> None:
    issue_id = await world.issue(title="Short", description="old")
    described = await _update(world, issue_id, {"description": "new"})
    assert described["changes"] == {"description": {"from": "old", "to": "new", "updated": True}}

    long_title = "é" * 250
    titled = await _update(world, issue_id, {"title": long_title})
    assert titled["changes"]["title"] == {"from": "Short", "to": "é" * 200, "updated": True}
    assert titled["title"] == long_title
    retitled = await _update(world, issue_id, {"title": "Short again"})
    assert retitled["changes"]["title"] == {
        "from": "é" * 200,
        "to": "Short again",
        "updated": True,
    }
    plain = await _update(world, issue_id, {"title": "Plain"})
    assert plain["changes"]["title"] == {"from": "Short again", "to": "Plain"}


async def test_label_and_blocker_ids_when_the_patch_sets_them(world: World) -> None:
    issue_id = await world.issue(title="Target")
    first, second = [await world.issue(title=title) for title in ("A", "B")]
    label = await world.insert(
        tables.labels, company_id=world.company_id, name="bug", color="#ff0000"
    )
    wire = await _update(
        world, issue_id, {"blockedByIssueIds": [second, first, first], "labelIds": [label]}
    )
    assert wire["changes"]["blockedByIssueIds"] == {"from": [], "to": sorted([first, second])}
    assert wire["changes"]["labelIds"] == {"from": [], "to": [label]}
    assert sorted(wire["blockedByIssueIds"]) == sorted([first, second])

    same = await _update(world, issue_id, {"blockedByIssueIds": [first, second]})
    assert same["changes"] == {}
    assert sorted(same["blockedByIssueIds"]) == sorted([first, second])
