"""``ctx.goals`` through the worker bridge: upstream's results, within one company."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, NotFound
from db import tables
from tests.fixtures.bridge import bridge_for
from tests.fixtures.orchestration import World, make_world


async def test_create_list_get_and_update(world: World) -> None:
    bridge = await bridge_for(world)
    company = world.company_id
    root = await bridge.call("goals.create", companyId=company, title="Ship 1.0", level="company")
    assert (root["level"], root["status"], root["companyId"]) == ("company", "planned", company)
    child = await bridge.call(
        "goals.create",
        companyId=company,
        title="Docs",
        parentId=root["id"],
        ownerAgentId=world.agent_id,
    )
    assert (child["level"], child["parentId"]) == ("task", root["id"])

    listed = await bridge.call("goals.list", companyId=company)
    assert [goal["title"] for goal in listed] == ["Ship 1.0", "Docs"]
    assert [g["id"] for g in await bridge.call("goals.list", companyId=company, level="task")] == [
        child["id"]
    ]
    assert await bridge.call("goals.list", companyId=company, limit=1, offset=1) == [child]
    assert await bridge.call("goals.get", companyId=company, goalId=child["id"]) == child

    updated = await bridge.call(
        "goals.update",
        companyId=company,
        goalId=child["id"],
        patch={"status": "active", "title": "Write the docs", "unknownField": 1},
    )
    assert (updated["status"], updated["title"]) == ("active", "Write the docs")
    assert updated["updatedAt"] > child["updatedAt"]
    [row] = await world.rows(tables.goals, tables.goals.c.title == "Write the docs")
    assert row["status"] == "active"
    assert await bridge.call("goals.get", companyId=company, goalId=child["id"]) == updated


async def test_other_companies_goals_are_not_there(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    theirs = await bridge.call("goals.create", companyId=other.company_id, title="Theirs")

    assert await bridge.call("goals.get", companyId=world.company_id, goalId=theirs["id"]) is None
    assert await bridge.call("goals.get", companyId=world.company_id, goalId="not-a-uuid") is None
    assert await bridge.call("goals.list", companyId=world.company_id) == []
    with pytest.raises(NotFound, match="^Goal not found$"):
        await bridge.call(
            "goals.update", companyId=world.company_id, goalId=theirs["id"], patch={"title": "x"}
        )
    with pytest.raises(NotFound, match="^Parent goal not found$"):
        await bridge.call(
            "goals.create", companyId=world.company_id, title="Mine", parentId=theirs["id"]
        )
    with pytest.raises(NotFound, match="^Owner agent not found$"):
        await bridge.call(
            "goals.create", companyId=world.company_id, title="Mine", ownerAgentId=other.agent_id
        )
    assert await bridge.call("goals.list", companyId=world.company_id) == []


async def test_a_patch_cannot_move_a_goal_or_blank_its_title(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    goal = await bridge.call("goals.create", companyId=world.company_id, title="Mine")
    with pytest.raises(InvalidInput, match="^A goal patch cannot change companyId, id$"):
        await bridge.call(
            "goals.update",
            companyId=world.company_id,
            goalId=goal["id"],
            patch={"companyId": other.company_id, "id": goal["id"]},
        )
    with pytest.raises(InvalidInput, match="^title is required$"):
        await bridge.call(
            "goals.update", companyId=world.company_id, goalId=goal["id"], patch={"title": ""}
        )
    with pytest.raises(InvalidInput, match="^title is required$"):
        await bridge.call("goals.create", companyId=world.company_id)
    assert await bridge.call("goals.get", companyId=world.company_id, goalId=goal["id"]) == goal


async def test_goal_methods_need_their_capabilities(world: World) -> None:
    bridge = await bridge_for(world, ("goals.read",))
    assert await bridge.call("goals.list", companyId=world.company_id) == []
    with pytest.raises(Exception, match='missing required capability "goals.create"'):
        await bridge.call("goals.create", companyId=world.company_id, title="No")
