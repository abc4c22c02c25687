"""Blocker relations: ``issue_id`` (the blocker) ``blocks`` ``related_issue_id``.

The blocked-by set of an issue is always replaced whole, as upstream does, after checking that
every blocker is in the same company and that no cycle would form. The cycle check walks the
``blocks`` edges from the issue with one recursive query instead of loading every edge of the
company.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import Unprocessable
from core.ids import as_uuid
from core.unit_of_work import UnitOfWork
from db import Dialect, any_of, lock_for_update, tables
from db.types import UUID, GenerateUUID, Timestamp

BLOCKS = "blocks"


def _text(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[str]:
    """An id read as text: what records hold, without a UUID round trip per value."""
    return sa.cast(column, sa.Text).label(name)


def _related_columns(alias: sa.FromClause) -> list[sa.ColumnElement[Any]]:
    return [
        _text(alias.c.id, "id"),
        alias.c.identifier,
        alias.c.title,
        alias.c.status,
        alias.c.priority,
        _text(alias.c.assignee_agent_id, "assignee_agent_id"),
        alias.c.assignee_user_id,
    ]


def _by_title(rows: list[Mapping[str, Any]]) -> tuple[records.RelatedIssue, ...]:
    ordered = sorted(rows, key=lambda row: (row["title"].casefold(), row["title"], row["id"]))
    return tuple(records.RelatedIssue.trusted(row) for row in ordered)


#: Aliases are made once: aliasing a table copies all its columns.
_OTHER_ISSUE = tables.issues.alias("other")
_STEP = tables.issue_relations.alias("step")


async def relation_summaries(
    unit: UnitOfWork, company_id: str, issue_ids: Sequence[str]
) -> dict[str, records.RelationSummary]:
    """``{blockedBy, blocks}`` for each issue, in two queries whatever the number of issues.

    Returns:
        One summary per issue that has relations; callers fill in empty ones.
    """
    if not issue_ids:
        return {}
    relations = tables.issue_relations
    other = _OTHER_ISSUE
    blocked_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    blocks: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for own, other_side, target in (
        (relations.c.related_issue_id, relations.c.issue_id, blocked_by),
        (relations.c.issue_id, relations.c.related_issue_id, blocks),
    ):
        # The other issue's company is checked here rather than in SQL: a company predicate on
        # the joined issues lets PostgreSQL, short of statistics, pick a per-row scan of the
        # company's issues instead of primary-key lookups.
        query = (
            sa.select(
                _text(own, "owner_id"),
                _text(other.c.company_id, "other_company_id"),
                *_related_columns(other),
            )
            .join(other, other.c.id == other_side)
            .where(
                relations.c.company_id == company_id,
                relations.c.type == BLOCKS,
                any_of(unit.dialect, own, issue_ids),
            )
        )
        for record in (await unit.session.execute(query)).all():
            row = record._asdict()
            if row["other_company_id"] == company_id:
                target[row["owner_id"]].append(row)
    return {
        issue_id: records.RelationSummary.model_construct(
            blocked_by=_by_title(blocked_by.get(issue_id, [])),
            blocks=_by_title(blocks.get(issue_id, [])),
        )
        for issue_id in set(blocked_by) | set(blocks)
    }


#: The summary of every issue without relations (records are immutable, so one is shared).
NO_RELATIONS = records.RelationSummary()


async def relation_summary(
    unit: UnitOfWork, company_id: str, issue_id: Any
) -> records.RelationSummary:
    """The relation summary of one issue (empty lists when it has none)."""
    found = await relation_summaries(unit, company_id, [str(issue_id)])
    return found.get(str(issue_id)) or NO_RELATIONS


async def _creates_cycle(
    unit: UnitOfWork, company_id: str, issue_id: str, blocker_ids: Sequence[str]
) -> bool:
    """Whether any proposed blocker is already downstream of the issue (or is reachable back)."""
    relations = tables.issue_relations
    downstream = (
        sa.select(relations.c.related_issue_id.label("id"))
        .where(
            relations.c.company_id == company_id,
            relations.c.type == BLOCKS,
            relations.c.issue_id == issue_id,
        )
        .cte("downstream", recursive=True)
    )
    step = _STEP
    downstream = downstream.union(
        sa.select(step.c.related_issue_id).where(
            step.c.company_id == company_id,
            step.c.type == BLOCKS,
            step.c.issue_id == downstream.c.id,
        )
    )
    hit = await unit.session.scalar(
        sa.select(downstream.c.id).where(downstream.c.id.in_(blocker_ids)).limit(1)
    )
    return hit is not None


async def sync_blockers(
    unit: UnitOfWork,
    *,
    company_id: str,
    issue_id: str,
    blocker_ids: Sequence[Any],
    created_by_agent_id: str | None = None,
    created_by_user_id: str | None = None,
    new_issue: bool = False,
) -> None:
    """Replace the blocked-by set of ``issue_id`` with ``blocker_ids`` (upstream's rules and order).

    Args:
        new_issue: the issue was just inserted in this transaction, so it has no edges yet to
            delete or walk.
    """
    wanted = list(dict.fromkeys(str(blocker) for blocker in blocker_ids))
    canonical = [as_uuid(blocker) for blocker in wanted]
    if issue_id in canonical:
        raise Unprocessable("Issue cannot be blocked by itself")
    if new_issue:
        await _insert_blockers_of_new_issue(
            unit, company_id, issue_id, canonical, created_by_agent_id, created_by_user_id
        )
        return
    if wanted:
        if None in canonical:
            raise Unprocessable("Blocked-by issues must belong to the same company")
        ids = sorted({issue_id, *(blocker for blocker in canonical if blocker)})
        locked = _locked_issue_companies(unit.dialect)
        rows = await unit.session.execute(locked, {"ids": ids})
        found = {str(row.id): str(row.company_id) for row in rows}
        if any(found.get(blocker) != company_id for blocker in canonical if blocker):
            raise Unprocessable("Blocked-by issues must belong to the same company")
        if await _creates_cycle(
            unit, company_id, issue_id, [blocker for blocker in canonical if blocker]
        ):
            raise Unprocessable("Blocking relations cannot contain cycles")
    relations = tables.issue_relations
    await unit.session.execute(
        sa.delete(relations).where(
            relations.c.company_id == company_id,
            relations.c.type == BLOCKS,
            relations.c.related_issue_id == issue_id,
        )
    )
    if wanted:
        now = unit.now
        await unit.session.execute(
            _INSERT_RELATION,
            [
                {
                    "id": str(uuid.uuid4()),
                    "company_id": company_id,
                    "issue_id": blocker,
                    "related_issue_id": issue_id,
                    "type": BLOCKS,
                    "created_by_agent_id": created_by_agent_id,
                    "created_by_user_id": created_by_user_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for blocker in canonical
            ],
        )


_BLOCKERS_OF_NEW_ISSUE = (
    sa.insert(tables.issue_relations)
    .from_select(
        [
            "id",
            "company_id",
            "issue_id",
            "related_issue_id",
            "type",
            "created_by_agent_id",
            "created_by_user_id",
            "created_at",
            "updated_at",
        ],
        sa.select(
            GenerateUUID(),
            tables.issues.c.company_id,
            tables.issues.c.id,
            sa.bindparam("issue_id", type_=UUID()),
            sa.literal(BLOCKS),
            sa.bindparam("agent_id", type_=UUID()),
            sa.bindparam("user_id", type_=sa.Text()),
            sa.bindparam("now", type_=Timestamp()),
            sa.bindparam("now", type_=Timestamp()),
        ).where(
            tables.issues.c.id.in_(sa.bindparam("blockers", expanding=True)),
            tables.issues.c.company_id == sa.bindparam("blocker_company_id", type_=UUID()),
        ),
    )
    .returning(tables.issue_relations.c.issue_id)
)


async def _insert_blockers_of_new_issue(
    unit: UnitOfWork,
    company_id: str,
    issue_id: str,
    blockers: Sequence[str | None],
    agent_id: str | None,
    user_id: str | None,
) -> None:
    """Insert the edges of a just-created issue, checking the blockers by inserting them.

    Only blockers of the company are inserted; if one is missing, the whole create is refused
    (and rolled back). A new issue has no edges, so it needs no cycle check, and the foreign
    keys keep the blockers from vanishing meanwhile.
    """
    if not blockers:
        return
    if None in blockers:
        raise Unprocessable("Blocked-by issues must belong to the same company")
    inserted = await unit.session.execute(
        _BLOCKERS_OF_NEW_ISSUE,
        {
            "issue_id": issue_id,
            "agent_id": agent_id,
            "user_id": user_id,
            "blockers": list(blockers),
            "blocker_company_id": company_id,
            "now": unit.now,
        },
    )
    if len(inserted.all()) != len(blockers):
        raise Unprocessable("Blocked-by issues must belong to the same company")


_ISSUE_COMPANIES = (
    sa.select(tables.issues.c.id, tables.issues.c.company_id)
    .where(tables.issues.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(tables.issues.c.id)
)
_INSERT_RELATION = sa.insert(tables.issue_relations)


@cache
def _locked_issue_companies(dialect: Dialect) -> sa.Select[Any]:
    """The companies of some issues, locked in id order (built once per dialect)."""
    return lock_for_update(dialect, _ISSUE_COMPANIES)


def _blocker_statuses_query() -> sa.Select[Any]:
    relations = tables.issue_relations
    blocker = tables.issues.alias("blocker")
    return (
        sa.select(blocker.c.id, blocker.c.status)
        .join(relations, relations.c.issue_id == blocker.c.id)
        .where(
            relations.c.company_id == sa.bindparam("company_id"),
            relations.c.type == BLOCKS,
            relations.c.related_issue_id == sa.bindparam("issue_id"),
            blocker.c.company_id == sa.bindparam("company_id"),
        )
    )


#: Built once: aliasing the issues table copies its forty columns.
_BLOCKER_STATUSES = _blocker_statuses_query()


async def blocker_statuses(unit: UnitOfWork, company_id: str, issue_id: Any) -> Mapping[str, str]:
    """The status of each issue blocking ``issue_id``, by blocker id."""
    rows = await unit.session.execute(
        _BLOCKER_STATUSES, {"company_id": company_id, "issue_id": issue_id}
    )
    return {str(row.id): row.status for row in rows}
