"""Issues: lookup, numbering, create, update, list — the core rules, without plugin concerns.

Functions take the caller's transaction (``unit``) first. Messages are upstream's verbatim.
Plugin-specific rules (origin namespaces, activity attribution) live in ``core.host_services``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import Field

from core import records
from core.errors import Conflict, InvalidInput, NotFound, Unprocessable
from core.ids import as_identifier, as_uuid, optional_uuid, require_uuid
from core.issue_relations import sync_blockers
from core.params import WireParams
from core.unit_of_work import UnitOfWork
from db import lock_for_update, tables
from db.constants import HEARTBEAT_RUN_ACTIVE_STATUSES, ISSUE_PRIORITIES, ISSUE_STATUSES
from db.types import UUID, Greatest

#: Issue list rows cut descriptions to this many characters, as upstream.
LIST_DESCRIPTION_LIMIT = 1200

#: Statuses whose run locks survive an update; any other status clears them.
_LOCK_KEEPING_STATUS = "in_progress"

_RUN_LOCK_COLUMNS = (
    "checkout_run_id",
    "execution_run_id",
    "execution_agent_name_key",
    "execution_locked_at",
)


#: Upstream's message for an origin kind that is not text (the namespace rule is the caller's).
_ORIGIN_KIND_MESSAGES = {"origin_kind": "Plugin issue originKind must be a string"}


class IssueCreate(WireParams):
    """The fields a plugin may set on a new issue (upstream's typed list, nothing more)."""

    messages: ClassVar[Mapping[str, str]] = _ORIGIN_KIND_MESSAGES

    title: str
    project_id: str | None = None
    goal_id: str | None = None
    parent_id: str | None = None
    inherit_execution_workspace_from_issue_id: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    assignee_agent_id: str | None = None
    assignee_user_id: str | None = None
    request_depth: int | None = Field(default=None, ge=0)
    billing_code: str | None = None
    assignee_adapter_overrides: dict[str, Any] | None = None
    origin_kind: str | None = None
    origin_id: str | None = None
    origin_run_id: str | None = None
    blocked_by_issue_ids: list[str] | None = None
    label_ids: list[str] | None = None
    execution_workspace_id: str | None = None
    execution_workspace_preference: str | None = None
    execution_workspace_settings: dict[str, Any] | None = None


class IssuePatch(WireParams):
    """The fields a plugin may change on an issue; absent keys stay as they are."""

    messages: ClassVar[Mapping[str, str]] = _ORIGIN_KIND_MESSAGES

    title: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    assignee_agent_id: str | None = None
    assignee_user_id: str | None = None
    billing_code: str | None = None
    origin_kind: str | None = None
    origin_id: str | None = None
    origin_run_id: str | None = None
    request_depth: int | None = Field(default=None, ge=0)
    execution_workspace_id: str | None = None
    execution_workspace_preference: str | None = None
    execution_workspace_settings: dict[str, Any] | None = None
    blocked_by_issue_ids: list[str] | None = None
    label_ids: list[str] | None = None

    def given(self) -> dict[str, Any]:
        """Only the keys the caller sent (an explicit None clears the field)."""
        return self.model_dump(exclude_unset=True)


# -- lookups -------------------------------------------------------------------------------------


async def find_issue(
    unit: UnitOfWork, company_id: str, reference: Any, *, lock: bool = False
) -> Mapping[str, Any] | None:
    """The company's issue named by a UUID or an identifier (``PAP-12``), or None.

    Anything else, and issues of other companies, resolve to None: missing and foreign records
    are indistinguishable on purpose.
    """
    value: Any = as_uuid(reference)
    query = _ISSUE_BY_ID
    if value is None:
        value = as_identifier(reference)
        if value is None:
            return None
        query = _ISSUE_BY_IDENTIFIER
    if lock:
        query = lock_for_update(unit.dialect, query)
    found = await unit.session.execute(query, {"reference": value, "company_id": company_id})
    return found.mappings().first()


def _company_issue(column: sa.Column[Any]) -> sa.Select[Any]:
    """A company's issue by ``column``; parameters ``reference`` and ``company_id``."""
    return sa.select(tables.issues).where(
        column == sa.bindparam("reference"),
        tables.issues.c.company_id == sa.bindparam("company_id"),
    )


# Lookups built once: building a statement per call costs about as much as running it.
_ISSUE_BY_ID = _company_issue(tables.issues.c.id)
_ISSUE_BY_IDENTIFIER = _company_issue(tables.issues.c.identifier)
_ISSUE = sa.select(tables.issues).where(tables.issues.c.id == sa.bindparam("id"))
_LABELS_BY_ISSUE = (
    sa.select(tables.issue_labels.c.issue_id, tables.labels)
    .join(tables.labels, tables.labels.c.id == tables.issue_labels.c.label_id)
    .where(tables.issue_labels.c.issue_id.in_(sa.bindparam("issue_ids", expanding=True)))
    .order_by(tables.labels.c.name)
)


async def require_issue(
    unit: UnitOfWork, company_id: str, reference: Any, *, lock: bool = False
) -> Mapping[str, Any]:
    """``find_issue``, raising upstream's "Issue not found" when there is none."""
    row = await find_issue(unit, company_id, reference, lock=lock)
    if row is None:
        raise NotFound("Issue not found")
    return row


async def labels_by_issue(
    unit: UnitOfWork, issue_ids: Sequence[Any]
) -> dict[str, list[records.Label]]:
    """The labels of each issue, by issue id (issues without labels are absent)."""
    if not issue_ids:
        return {}
    found: dict[str, list[records.Label]] = defaultdict(list)
    rows = await unit.session.execute(_LABELS_BY_ISSUE, {"issue_ids": list(issue_ids)})
    for row in rows.mappings():
        found[str(row["issue_id"])].append(records.Label.model_validate(row))
    return found


def issue_record(row: Mapping[str, Any], labels: Sequence[records.Label] = ()) -> records.Issue:
    """The plugin-facing record of an issue row."""
    return records.Issue.model_validate(
        {**row, "labels": list(labels), "label_ids": [label.id for label in labels]}
    )


async def load_issue(unit: UnitOfWork, issue_id: Any) -> records.Issue:
    """An issue and its labels, by id (the caller knows it exists)."""
    row = (await unit.session.execute(_ISSUE, {"id": issue_id})).mappings().one()
    labels = await labels_by_issue(unit, [issue_id])
    return issue_record(row, labels.get(str(issue_id), []))


# -- validation ----------------------------------------------------------------------------------


def validate_status(status: str) -> None:
    """Refuse statuses upstream does not know (upstream's message, 409)."""
    if status not in ISSUE_STATUSES:
        raise Conflict(f"Unknown issue status: {status}")


def validate_priority(priority: str) -> None:
    """Refuse priorities upstream does not know (upstream stores any string; we refuse)."""
    if priority not in ISSUE_PRIORITIES:
        raise InvalidInput(
            f"Unknown issue priority: {priority} (expected one of {', '.join(ISSUE_PRIORITIES)})"
        )


async def validate_assignees(
    unit: UnitOfWork,
    company_id: str,
    *,
    agent_id: str | None,
    user_id: str | None,
    status: str,
    check_agent: bool = True,
    check_user: bool = True,
) -> None:
    """Upstream's assignee rules: one assignee, usable agent or member user, in_progress needs one.

    ``check_agent``/``check_user`` limit the lookups to assignees that are being newly set.
    """
    if agent_id and user_id:
        raise Unprocessable("Issue can only have one assignee")
    if agent_id and check_agent:
        agent_uuid = as_uuid(agent_id)
        agent = None
        if agent_uuid is not None:
            query = sa.select(tables.agents.c.company_id, tables.agents.c.status).where(
                tables.agents.c.id == agent_uuid
            )
            agent = (await unit.session.execute(query)).first()
        if agent is None:
            raise NotFound("Assignee agent not found")
        if str(agent.company_id) != company_id:
            raise Unprocessable("Assignee must belong to same company")
        if agent.status == "pending_approval":
            raise Conflict("Cannot assign work to pending approval agents")
        if agent.status == "terminated":
            raise Conflict("Cannot assign work to terminated agents")
    if user_id and check_user:
        memberships = tables.company_memberships
        member = await unit.session.scalar(
            sa.select(memberships.c.id).where(
                memberships.c.company_id == company_id,
                memberships.c.principal_type == "user",
                memberships.c.principal_id == user_id,
                memberships.c.status == "active",
            )
        )
        if member is None:
            raise NotFound("Assignee user not found")
    if status == "in_progress" and not agent_id and not user_id:
        raise Unprocessable("in_progress issues require an assignee")


async def _require_in_company(
    unit: UnitOfWork, table: sa.Table, record_id: str, company_id: str, message: str
) -> Mapping[str, Any]:
    query = sa.select(table).where(table.c.id == record_id)
    row = (await unit.session.execute(query)).mappings().first()
    if row is None or str(row["company_id"]) != company_id:
        raise NotFound(message)
    return row


async def _validate_project_workspace(
    unit: UnitOfWork, company_id: str, workspace_id: str, project_id: str | None
) -> None:
    workspace = (
        (
            await unit.session.execute(
                sa.select(tables.project_workspaces).where(
                    tables.project_workspaces.c.id == workspace_id
                )
            )
        )
        .mappings()
        .first()
    )
    if workspace is None:
        raise NotFound("Project workspace not found")
    if str(workspace["company_id"]) != company_id:
        raise Unprocessable("Project workspace must belong to same company")
    if project_id is not None and str(workspace["project_id"]) != project_id:
        raise Unprocessable("Project workspace must belong to the selected project")


# -- create --------------------------------------------------------------------------------------


# Statements on the create path are built once, with bind parameters: building them per call
# costs more than running them.
#: The company's default goal: the oldest active root company-level goal, else any root one.
_DEFAULT_GOAL = (
    sa.select(tables.goals.c.id)
    .where(
        # not "company_id": that name is the INSERT's own parameter for the column
        tables.goals.c.company_id == sa.bindparam("goal_company_id", type_=UUID()),
        tables.goals.c.level == "company",
        tables.goals.c.parent_id.is_(None),
    )
    .order_by(sa.case((tables.goals.c.status == "active", 0), else_=1), tables.goals.c.created_at)
    .limit(1)
)

_NEXT_ISSUE_NUMBER = (
    sa.update(tables.companies)
    .where(tables.companies.c.id == sa.bindparam("company_id"))
    .values(
        issue_counter=Greatest(
            tables.companies.c.issue_counter,
            sa.select(sa.func.coalesce(sa.func.max(tables.issues.c.issue_number), 0))
            .where(tables.issues.c.company_id == sa.bindparam("company_id"))
            .scalar_subquery(),
        )
        + 1
    )
    .returning(tables.companies.c.issue_counter, tables.companies.c.issue_prefix)
)

_INSERT_ISSUE = sa.insert(tables.issues)
#: The same insert taking the company's default goal in the same statement.
_INSERT_ISSUE_WITH_DEFAULT_GOAL = _INSERT_ISSUE.values(
    goal_id=_DEFAULT_GOAL.scalar_subquery()
).returning(tables.issues.c.goal_id)
#: Every column of a new issue row as it is stored when the create does not set it.
_ISSUE_DEFAULTS = {
    column.name: column.default.arg
    if column.default is not None and column.default.is_scalar
    else None
    for column in tables.issues.columns
}


async def _default_project_workspace_id(unit: UnitOfWork, project: Mapping[str, Any]) -> Any:
    """The project policy's default workspace, else the primary, else the oldest workspace."""
    policy = project.get("execution_workspace_policy") or {}
    default_id = as_uuid(policy.get("defaultProjectWorkspaceId"))
    workspaces = tables.project_workspaces
    query = (
        sa.select(workspaces.c.id)
        .where(workspaces.c.project_id == project["id"])
        .order_by(
            sa.case((workspaces.c.id == default_id, 0), else_=1) if default_id else sa.literal(0),
            sa.case((workspaces.c.is_primary.is_(True), 0), else_=1),
            workspaces.c.created_at,
        )
        .limit(1)
    )
    return await unit.session.scalar(query)


async def allocate_issue_number(unit: UnitOfWork, company_id: str) -> tuple[int, str]:
    """The company's next issue number and its identifier, under the company row's lock.

    The counter becomes the greater of itself and the highest number in use, plus one, so it heals
    if it ever fell behind. The UPDATE locks the company row (PostgreSQL) or runs under the
    database write lock (SQLite), so concurrent creates never share a number.
    """
    row = (await unit.session.execute(_NEXT_ISSUE_NUMBER, {"company_id": company_id})).first()
    if row is None:
        raise NotFound("Company not found")
    return int(row.issue_counter), f"{row.issue_prefix}-{row.issue_counter}"


def _status_timestamps(status: str, now: datetime, current: Mapping[str, Any]) -> dict[str, Any]:
    """The timestamp effects of (re)stating a status: start once, complete and cancel each time."""
    effects: dict[str, Any] = {}
    if status == "in_progress" and current.get("started_at") is None:
        effects["started_at"] = now
    effects["completed_at"] = now if status == "done" else None
    effects["cancelled_at"] = now if status == "cancelled" else None
    return effects


@dataclass(frozen=True)
class _Placement:
    """Where a new issue sits: its project, goal, parent and project workspace."""

    project_id: str | None
    #: None with ``default_goal``: the insert itself picks the company's default goal.
    goal_id: Any
    default_goal: bool
    parent_id: str | None
    project_workspace_id: Any


async def _placement(unit: UnitOfWork, company_id: str, values: IssueCreate) -> _Placement:
    """Resolve and check a new issue's project, goal, parent and workspace, in upstream's
    order; each must belong to the company."""
    project_id = optional_uuid(values.project_id, "projectId")
    goal_id = optional_uuid(values.goal_id, "goalId")
    parent_id = optional_uuid(values.parent_id, "parentId")
    project = None
    if project_id is not None:
        project = await _require_in_company(
            unit, tables.projects, project_id, company_id, "Project not found"
        )
    default_goal = False
    if goal_id is not None:
        await _require_in_company(unit, tables.goals, goal_id, company_id, "Goal not found")
    elif project is not None:
        goal_id = project["goal_id"]
    else:
        default_goal = True
    if parent_id is not None:
        await _require_in_company(
            unit, tables.issues, parent_id, company_id, "Parent issue not found"
        )

    project_workspace_id = None
    inherit_from = values.inherit_execution_workspace_from_issue_id or parent_id
    if inherit_from:
        source = await find_issue(unit, company_id, inherit_from)
        if source is None:
            raise NotFound("Workspace inheritance issue not found")
        project_workspace_id = source["project_workspace_id"]
    if project is not None and project_workspace_id is None:
        project_workspace_id = await _default_project_workspace_id(unit, project)
    if project_workspace_id is not None:
        await _validate_project_workspace(unit, company_id, str(project_workspace_id), project_id)
    return _Placement(project_id, goal_id, default_goal, parent_id, project_workspace_id)


async def create_issue(
    unit: UnitOfWork,
    *,
    company_id: str,
    values: IssueCreate,
    origin_kind: str,
    created_by_agent_id: str | None = None,
    created_by_user_id: str | None = None,
) -> tuple[records.Issue, list[str]]:
    """Insert an issue with upstream's defaults and checks.

    Returns:
        The new issue, and the blocker ids it was given (as requested, for the audit row).
    """
    title = values.title
    if not title or not title.strip():
        raise InvalidInput("title is required")
    status = values.status or "backlog"
    priority = values.priority or "medium"
    validate_status(status)
    validate_priority(priority)
    assignee_agent_id = optional_uuid(values.assignee_agent_id, "assigneeAgentId")
    assignee_user_id = values.assignee_user_id or None
    await validate_assignees(
        unit, company_id, agent_id=assignee_agent_id, user_id=assignee_user_id, status=status
    )

    placement = await _placement(unit, company_id, values)
    issue_number, identifier = await allocate_issue_number(unit, company_id)
    now = unit.now
    issue_id = str(uuid.uuid4())
    row = {
        "id": issue_id,
        "company_id": company_id,
        "project_id": placement.project_id,
        "project_workspace_id": placement.project_workspace_id,
        "parent_id": placement.parent_id,
        "title": title,
        "description": values.description,
        "status": status,
        "priority": priority,
        "assignee_agent_id": assignee_agent_id,
        "assignee_user_id": assignee_user_id,
        "created_by_agent_id": created_by_agent_id,
        "created_by_user_id": created_by_user_id,
        "issue_number": issue_number,
        "identifier": identifier,
        "origin_kind": origin_kind,
        "origin_id": values.origin_id,
        "origin_run_id": values.origin_run_id,
        "request_depth": values.request_depth or 0,
        "billing_code": values.billing_code,
        "assignee_adapter_overrides": values.assignee_adapter_overrides,
        "created_at": now,
        "updated_at": now,
        **{
            key: value
            for key, value in _status_timestamps(status, now, {}).items()
            if value is not None
        },
    }
    if placement.default_goal:
        result = await unit.session.execute(
            _INSERT_ISSUE_WITH_DEFAULT_GOAL, {**row, "goal_company_id": company_id}
        )
        row["goal_id"] = result.scalar_one()
    else:
        row["goal_id"] = placement.goal_id
        await unit.session.execute(_INSERT_ISSUE, row)
    labels: list[records.Label] = []
    if values.label_ids is not None:
        labels = await replace_labels(unit, company_id, issue_id, values.label_ids)
    blockers = list(values.blocked_by_issue_ids or [])
    if values.blocked_by_issue_ids is not None:
        await sync_blockers(
            unit,
            company_id=company_id,
            issue_id=issue_id,
            blocker_ids=blockers,
            created_by_agent_id=created_by_agent_id,
            created_by_user_id=created_by_user_id,
            new_issue=True,
        )
    stored = _ISSUE_DEFAULTS | row
    stored["labels"] = labels
    stored["label_ids"] = [label.id for label in labels]
    return records.Issue.trusted(stored), blockers


async def replace_labels(
    unit: UnitOfWork, company_id: str, issue_id: str, label_ids: Iterable[Any]
) -> list[records.Label]:
    """Set an issue's labels to exactly ``label_ids`` (de-duplicated, all of the company)."""
    wanted = list(dict.fromkeys(as_uuid(label) or str(label) for label in label_ids))
    found: list[records.Label] = []
    if wanted:
        rows = (
            (
                await unit.session.execute(
                    sa.select(tables.labels)
                    .where(
                        tables.labels.c.id.in_([w for w in wanted if as_uuid(w)]),
                        tables.labels.c.company_id == company_id,
                    )
                    .order_by(tables.labels.c.name)
                )
            )
            .mappings()
            .all()
        )
        if len(rows) != len(wanted):
            raise Unprocessable("One or more labels are invalid for this company")
        found = [records.Label.model_validate(row) for row in rows]
    await unit.session.execute(
        sa.delete(tables.issue_labels).where(tables.issue_labels.c.issue_id == issue_id)
    )
    if wanted:
        await unit.session.execute(
            sa.insert(tables.issue_labels),
            [
                {"issue_id": issue_id, "label_id": label, "company_id": company_id}
                for label in wanted
            ],
        )
    return found


# -- update --------------------------------------------------------------------------------------


async def update_issue(
    unit: UnitOfWork,
    current: Mapping[str, Any],
    patch: Mapping[str, Any],
    *,
    actor_agent_id: str | None = None,
    actor_user_id: str | None = None,
) -> records.IssueUpdate:
    """Apply an allowlisted patch with upstream's checks and side effects.

    Args:
        current: the issue row before the update (locked by the caller).
        patch: ``IssuePatch.given()``: only the keys to change.
    """
    company_id = str(current["company_id"])
    changes: dict[str, Any] = {
        key: value
        for key, value in patch.items()
        if key not in ("blocked_by_issue_ids", "label_ids")
    }
    if "title" in changes and (not changes["title"] or not str(changes["title"]).strip()):
        raise InvalidInput("title is required")
    status = changes.get("status")
    if status is not None and status != current["status"]:
        validate_status(status)
    if "priority" in changes:
        validate_priority(changes["priority"])
    for key, field in (("assignee_agent_id", "assigneeAgentId"),):
        if key in changes:
            changes[key] = optional_uuid(changes[key], field)
    if "assignee_user_id" in changes:
        changes["assignee_user_id"] = changes["assignee_user_id"] or None
    if "execution_workspace_id" in changes:
        changes["execution_workspace_id"] = optional_uuid(
            changes["execution_workspace_id"], "executionWorkspaceId"
        )

    agent_id = changes.get("assignee_agent_id", current["assignee_agent_id"])
    user_id = changes.get("assignee_user_id", current["assignee_user_id"])
    effective_status = status if status is not None else current["status"]
    await validate_assignees(
        unit,
        company_id,
        agent_id=str(agent_id) if agent_id else None,
        user_id=user_id,
        status=effective_status,
        check_agent="assignee_agent_id" in changes and agent_id is not None,
        check_user="assignee_user_id" in changes and user_id is not None,
    )
    if changes.get("execution_workspace_id"):
        workspace = await _require_in_company(
            unit,
            tables.execution_workspaces,
            changes["execution_workspace_id"],
            company_id,
            "Execution workspace not found",
        )
        if current["project_id"] and workspace["project_id"] != current["project_id"]:
            raise Unprocessable("Execution workspace must belong to the selected project")

    now = unit.now
    changes["updated_at"] = now
    if current["status"] == "blocked" and (
        status == "blocked" or (status is None and "blocked_by_issue_ids" in patch)
    ):  # a fresh decision to stay blocked (a real status change is counted by the database)
        changes["status_version"] = tables.issues.c.status_version + 1
    if status is not None:
        changes.update(_status_timestamps(status, now, current))
        if status != _LOCK_KEEPING_STATUS:
            changes.update(dict.fromkeys(_RUN_LOCK_COLUMNS))
    assignee_changed = any(
        key in changes and _text(changes[key]) != _text(current[key])
        for key in ("assignee_agent_id", "assignee_user_id")
    )
    if assignee_changed:
        changes.update(dict.fromkeys(_RUN_LOCK_COLUMNS))

    issue_id = current["id"]
    relations_before: dict[str, list[str]] = {}
    if "label_ids" in patch:
        relations_before["labelIds"] = await _label_ids(unit, issue_id)
    if "blocked_by_issue_ids" in patch:
        relations_before["blockedByIssueIds"] = await _blocker_ids(unit, issue_id)
    await unit.session.execute(
        sa.update(tables.issues).where(tables.issues.c.id == issue_id).values(changes)
    )
    if "label_ids" in patch:
        await replace_labels(unit, company_id, str(issue_id), patch["label_ids"] or [])
    if "blocked_by_issue_ids" in patch:
        await sync_blockers(
            unit,
            company_id=company_id,
            issue_id=str(issue_id),
            blocker_ids=list(patch["blocked_by_issue_ids"] or []),
            created_by_agent_id=actor_agent_id,
            created_by_user_id=actor_user_id,
        )
    updated = await load_issue(unit, issue_id)
    relations_after = {
        "labelIds": [str(label) for label in updated.label_ids],
        "blockedByIssueIds": await _blocker_ids(unit, issue_id)
        if "blocked_by_issue_ids" in patch
        else [],
    }
    receipt = issue_changes(
        records.IssueRow.trusted(current).to_wire(),
        updated.to_wire(),
        {key: (before, relations_after[key]) for key, before in relations_before.items()},
    )
    return records.IssueUpdate.trusted(
        dict(updated)
        | {
            "changes": receipt,
            "blocked_by_issue_ids": relations_after["blockedByIssueIds"]
            if "blocked_by_issue_ids" in patch
            else None,
        }
    )


#: Text longer than this is cut in an update's ``changes`` (upstream's budget).
CHANGE_TEXT_BUDGET = 200


def issue_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    relations: Mapping[str, tuple[list[str], list[str]]],
) -> dict[str, Any]:
    """Upstream's change receipt of an update, from the issue's wire form before and after:
    every changed field but ``updatedAt`` as ``{from, to}``; the description (and a title over
    200 characters) cut to 200 characters and marked ``updated``; label and blocker ids
    compared as sorted sets."""
    found: dict[str, Any] = {}
    for key in (before.keys() | after.keys()) - {"updatedAt", "labels", "labelIds"}:
        old, new = before.get(key), after.get(key)
        if old == new and type(old) is type(new):
            continue
        long_text = key == "description" or (
            key == "title"
            and any(isinstance(v, str) and len(v) > CHANGE_TEXT_BUDGET for v in (old, new))
        )
        if long_text:
            found[key] = {"from": _cut(old), "to": _cut(new), "updated": True}
        else:
            found[key] = {"from": old, "to": new}
    for key, (old_ids, new_ids) in relations.items():
        old_set, new_set = sorted(set(old_ids)), sorted(set(new_ids))
        if old_set != new_set:
            found[key] = {"from": old_set, "to": new_set}
    return found


def _cut(value: Any) -> Any:
    return value[:CHANGE_TEXT_BUDGET] if isinstance(value, str) else value


async def _label_ids(unit: UnitOfWork, issue_id: Any) -> list[str]:
    links = tables.issue_labels
    query = sa.select(links.c.label_id).where(links.c.issue_id == issue_id)
    return [str(label) for label in (await unit.session.scalars(query)).all()]


async def _blocker_ids(unit: UnitOfWork, issue_id: Any) -> list[str]:
    edges = tables.issue_relations
    query = sa.select(edges.c.issue_id).where(
        edges.c.related_issue_id == issue_id, edges.c.type == "blocks"
    )
    return [str(blocker) for blocker in (await unit.session.scalars(query)).all()]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- list ----------------------------------------------------------------------------------------

_PRIORITY_ORDER = sa.case(
    *((tables.issues.c.priority == name, rank) for rank, name in enumerate(ISSUE_PRIORITIES)),
    else_=len(ISSUE_PRIORITIES),
)


class IssueFilter(WireParams):
    """``issues.list`` filters; ``limit``/``offset`` page once, in SQL."""

    project_id: str | None = None
    assignee_agent_id: str | None = None
    assignee_user_id: str | None = None
    parent_id: str | None = None
    label_id: str | None = None
    origin_kind: str | None = None
    origin_id: str | None = None
    status: str | None = None
    q: str | None = None
    limit: Any = None
    offset: Any = None


def _window_number(value: Any) -> int | None:
    """Upstream's paging numbers: finite numbers or numeric strings, floored, at least 0."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return max(0, int(number // 1))


async def list_issues(
    unit: UnitOfWork, company_id: str, filters: IssueFilter
) -> list[records.IssueListItem]:
    """The company's visible issues, by priority then latest activity, paged once."""
    issues = tables.issues
    conditions: list[sa.ColumnElement[bool]] = [
        issues.c.company_id == company_id,
        issues.c.hidden_at.is_(None),
    ]
    for key, field in (
        ("project_id", "projectId"),
        ("assignee_agent_id", "assigneeAgentId"),
        ("parent_id", "parentId"),
    ):
        value = getattr(filters, key)
        if value:
            conditions.append(issues.c[key] == require_uuid(value, field))
    if filters.assignee_user_id:
        conditions.append(issues.c.assignee_user_id == filters.assignee_user_id)
    if filters.origin_kind:
        conditions.append(issues.c.origin_kind == filters.origin_kind)
    if filters.origin_id:
        conditions.append(issues.c.origin_id == filters.origin_id)
    if filters.status:
        statuses = [part.strip() for part in filters.status.split(",") if part.strip()]
        conditions.append(issues.c.status.in_(statuses))
    if filters.label_id:
        conditions.append(
            issues.c.id.in_(
                sa.select(tables.issue_labels.c.issue_id).where(
                    tables.issue_labels.c.label_id == require_uuid(filters.label_id, "labelId")
                )
            )
        )
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        conditions.append(
            sa.or_(
                sa.func.lower(issues.c.title).like(pattern),
                sa.func.lower(sa.func.coalesce(issues.c.identifier, "")).like(pattern),
                sa.func.lower(sa.func.coalesce(issues.c.description, "")).like(pattern),
            )
        )
    last_comment = (
        sa.select(sa.func.max(tables.issue_comments.c.created_at))
        .where(tables.issue_comments.c.issue_id == issues.c.id)
        .scalar_subquery()
    )
    last_logged = (
        sa.select(sa.func.max(tables.activity_log.c.created_at))
        .where(
            tables.activity_log.c.entity_type == "issue",
            tables.activity_log.c.entity_id == sa.cast(issues.c.id, sa.Text),
        )
        .scalar_subquery()
    )
    last_activity = Greatest(
        Greatest(issues.c.updated_at, sa.func.coalesce(last_comment, issues.c.updated_at)),
        sa.func.coalesce(last_logged, issues.c.updated_at),
    )
    query = (
        sa.select(issues, last_activity.label("last_activity_at"))
        .where(*conditions)
        .order_by(_PRIORITY_ORDER, last_activity.desc(), issues.c.updated_at.desc(), issues.c.id)
    )
    limit = _window_number(filters.limit)
    offset = _window_number(filters.offset)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    rows = (await unit.session.execute(query)).mappings().all()
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    labels = await labels_by_issue(unit, ids)
    active = await _active_runs(unit, [row["execution_run_id"] for row in rows])
    items = []
    for row in rows:
        issue_labels = labels.get(str(row["id"]), [])
        description = row["description"]
        items.append(
            records.IssueListItem.model_validate(
                {
                    **row,
                    "description": description[:LIST_DESCRIPTION_LIMIT] if description else None,
                    "description_truncated": description is not None
                    and len(description) > LIST_DESCRIPTION_LIMIT,
                    "execution_policy": None,
                    "execution_state": None,
                    "execution_workspace_settings": None,
                    "labels": issue_labels,
                    "label_ids": [label.id for label in issue_labels],
                    "active_run": active.get(str(row["execution_run_id"])),
                }
            )
        )
    return items


async def _active_runs(unit: UnitOfWork, run_ids: Iterable[Any]) -> dict[str, records.ActiveRun]:
    wanted = [run_id for run_id in run_ids if run_id is not None]
    if not wanted:
        return {}
    runs = tables.heartbeat_runs
    rows = await unit.session.execute(
        sa.select(runs).where(
            runs.c.id.in_(wanted), runs.c.status.in_(HEARTBEAT_RUN_ACTIVE_STATUSES)
        )
    )
    return {str(row["id"]): records.ActiveRun.model_validate(row) for row in rows.mappings()}
