"""Company goals (``ctx.goals``): list, read, create and change them.

Upstream stores what a plugin sends without checks. Here the goal a plugin changes, the parent
goal and the owner agent it names must belong to the call's company (a foreign one reads as not
found), and a patch changes only a goal's own fields: never its id, company or timestamps.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import InvalidInput, NotFound
from core.ids import as_uuid, require_company
from core.unit_of_work import UnitOfWork
from db import tables

#: What a patch may change (upstream's other columns: id, company, timestamps, are not).
PATCHABLE = ("title", "description", "level", "status", "parent_id", "owner_agent_id")
_WIRE_NAMES = {
    "title": "title",
    "description": "description",
    "level": "level",
    "status": "status",
    "parentId": "parent_id",
    "ownerAgentId": "owner_agent_id",
}
_FIXED = {"id", "companyId", "createdAt", "updatedAt"}


async def list_goals(
    unit: UnitOfWork, company_id: Any, *, level: str | None = None, status: str | None = None
) -> list[records.Goal]:
    """The company's goals, oldest first, of one level and status when given."""
    goals = tables.goals
    query = sa.select(goals).where(goals.c.company_id == require_company(company_id))
    if level:
        query = query.where(goals.c.level == level)
    if status:
        query = query.where(goals.c.status == status)
    rows = (await unit.session.execute(query.order_by(goals.c.created_at, goals.c.id))).mappings()
    return [records.Goal.trusted(row) for row in rows]


async def get_goal(unit: UnitOfWork, company_id: Any, goal_id: Any) -> records.Goal | None:
    """The company's goal, or None (missing, malformed or another company's)."""
    row = await _goal_row(unit, require_company(company_id), goal_id)
    return None if row is None else records.Goal.trusted(row)


async def create_goal(unit: UnitOfWork, company_id: Any, values: Mapping[str, Any]) -> records.Goal:
    """Insert a goal; ``values`` holds ``PATCHABLE`` fields (upstream's defaults otherwise)."""
    company = require_company(company_id)
    if not isinstance(values.get("title"), str) or not values["title"].strip():
        raise InvalidInput("title is required")
    row: dict[str, Any] = {key: values.get(key) for key in PATCHABLE}
    row["level"] = row["level"] or "task"
    row["status"] = row["status"] or "planned"
    await _check_references(unit, company, row)
    row |= {"id": str(uuid.uuid4()), "company_id": company}
    row |= {"created_at": unit.now, "updated_at": unit.now}
    await unit.session.execute(sa.insert(tables.goals).values(row))
    return records.Goal.trusted(row)


async def update_goal(
    unit: UnitOfWork, company_id: Any, goal_id: Any, patch: Mapping[str, Any]
) -> records.Goal:
    """Apply a wire patch (camelCase keys) to the company's goal; unknown keys are ignored."""
    company = require_company(company_id)
    if not isinstance(patch, Mapping):
        raise InvalidInput("patch must be an object")
    fixed = sorted(_FIXED & patch.keys())
    if fixed:
        raise InvalidInput(f"A goal patch cannot change {', '.join(fixed)}")
    current = await _goal_row(unit, company, goal_id)
    if current is None:
        raise NotFound("Goal not found")
    changes = {column: patch[key] for key, column in _WIRE_NAMES.items() if key in patch}
    if "title" in changes and (not isinstance(changes["title"], str) or not changes["title"]):
        raise InvalidInput("title is required")
    await _check_references(unit, company, changes)
    changes["updated_at"] = unit.now
    goals = tables.goals
    await unit.session.execute(sa.update(goals).where(goals.c.id == current["id"]).values(changes))
    return records.Goal.trusted(dict(current) | changes)


async def _goal_row(unit: UnitOfWork, company: str, goal_id: Any) -> Mapping[str, Any] | None:
    goal = as_uuid(goal_id)
    if goal is None:
        return None
    goals = tables.goals
    query = sa.select(goals).where(goals.c.id == goal, goals.c.company_id == company)
    return (await unit.session.execute(query)).mappings().one_or_none()


async def _check_references(unit: UnitOfWork, company: str, values: Mapping[str, Any]) -> None:
    """A parent goal and an owner agent, when named, must be the company's."""
    if (
        values.get("parent_id") is not None
        and await _goal_row(unit, company, values["parent_id"]) is None
    ):
        raise NotFound("Parent goal not found")
    owner = values.get("owner_agent_id")
    if owner is not None:
        agents = tables.agents
        found = (
            await unit.session.scalar(
                sa.select(agents.c.id).where(
                    agents.c.id == as_uuid(owner), agents.c.company_id == company
                )
            )
            if as_uuid(owner)
            else None
        )
        if found is None:
            raise NotFound("Owner agent not found")


__all__ = ["create_goal", "get_goal", "list_goals", "update_goal"]
