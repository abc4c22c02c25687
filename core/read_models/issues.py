"""Issues as an inspector reads them: a company's issue tree, and one issue with what hangs on it.

The tree holds each issue once, children under their parent in creation order, with the
issues that block it. The detail of one issue adds its parent and children, its documents with
every revision, and its comments; its wakeups, runs and activity come from the ``runs`` and
``activity`` read models. Records are the host's own (``core.records``), so their JSON is the
host API's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from core import records
from core.comments import list_comments
from core.documents import list_documents
from core.ids import as_identifier, as_uuid
from core.issue_relations import NO_RELATIONS, relation_summaries
from core.issues import issue_record, labels_by_issue
from core.unit_of_work import read
from db import Database, tables


@dataclass(frozen=True, slots=True)
class IssueNode:
    """One issue of the tree: its record, its depth below a shown root, its relations."""

    issue: records.Issue
    depth: int
    relations: records.RelationSummary
    assignee_name: str | None

    def to_json(self) -> dict[str, Any]:
        """The issue as the host API returns it, with ``depth``, ``assigneeAgentName`` and
        its ``blockedBy``/``blocks`` summaries."""
        return self.issue.to_wire() | {
            "depth": self.depth,
            "assigneeAgentName": self.assignee_name,
            **self.relations.to_wire(),
        }


@dataclass(frozen=True)
class IssueFilter:
    """Which issues the tree shows; a shown issue whose parent is not shown is a root."""

    #: Statuses to keep (None: all).
    statuses: frozenset[str] | None = None
    #: Only issues this plugin created (origin ``plugin:<key>`` or ``plugin:<key>:...``).
    plugin_key: str | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        issues = tables.issues
        found: list[sa.ColumnElement[bool]] = []
        if self.statuses is not None:
            found.append(issues.c.status.in_(sorted(self.statuses)))
        if self.plugin_key is not None:
            origin = f"plugin:{self.plugin_key}"
            found.append(
                sa.or_(
                    issues.c.origin_kind == origin,
                    sa.func.substr(issues.c.origin_kind, 1, len(origin) + 1) == origin + ":",
                )
            )
        return found


async def issue_tree(
    db: Database, company_id: str, issue_filter: IssueFilter = IssueFilter()
) -> list[IssueNode]:
    """The company's visible issues, depth first: each root, then its children, in creation
    order."""
    issues, agents = tables.issues, tables.agents
    company = as_uuid(company_id)
    query = (
        sa.select(issues, agents.c.name.label("assignee_name"))
        .outerjoin(agents, agents.c.id == issues.c.assignee_agent_id)
        .where(issues.c.company_id == company, issues.c.hidden_at.is_(None))
        .where(*issue_filter.conditions())
        .order_by(issues.c.created_at, issues.c.issue_number, issues.c.id)
    )
    async with read(db) as unit:
        rows = (await unit.session.execute(query)).mappings().all()
        ids = [str(row["id"]) for row in rows]
        labels = await labels_by_issue(unit, [row["id"] for row in rows])
        relations = await relation_summaries(unit, str(company), ids)
    shown = set(ids)
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for row in rows:
        parent = None if row["parent_id"] is None else str(row["parent_id"])
        children.setdefault(parent if parent in shown else None, []).append(row)
    nodes: list[IssueNode] = []

    def walk(parent: str | None, depth: int) -> None:
        for row in children.get(parent, []):
            key = str(row["id"])
            nodes.append(
                IssueNode(
                    issue=issue_record(row, labels.get(key, [])),
                    depth=depth,
                    relations=relations.get(key, NO_RELATIONS),
                    assignee_name=row["assignee_name"],
                )
            )
            walk(key, depth + 1)

    walk(None, 0)
    return nodes


@dataclass(frozen=True, slots=True)
class DocumentRevision:
    """One immutable revision of an issue document."""

    id: str
    revision_number: int
    title: str | None
    format: str
    body: str
    change_summary: str | None
    created_by_agent_id: str | None
    created_by_user_id: str | None
    created_by_run_id: str | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "revisionNumber": self.revision_number,
            "title": self.title,
            "format": self.format,
            "body": self.body,
            "changeSummary": self.change_summary,
            "createdByAgentId": self.created_by_agent_id,
            "createdByUserId": self.created_by_user_id,
            "createdByRunId": self.created_by_run_id,
            "createdAt": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class IssueDetail:
    """One issue with its parent, children, relations, documents (each with its revisions,
    oldest first) and comments (newest first)."""

    issue: records.Issue
    assignee_name: str | None
    parent: records.Issue | None
    children: list[records.Issue]
    relations: records.RelationSummary
    documents: list[tuple[records.Document, list[DocumentRevision]]]
    comments: list[records.Comment]

    def to_json(self) -> dict[str, Any]:
        return {
            "issue": self.issue.to_wire(),
            "assigneeAgentName": self.assignee_name,
            "parent": None if self.parent is None else self.parent.to_wire(),
            "children": [child.to_wire() for child in self.children],
            **self.relations.to_wire(),
            "documents": [
                document.to_wire() | {"revisions": [r.to_json() for r in revisions]}
                for document, revisions in self.documents
            ],
            "comments": [comment.to_wire() for comment in self.comments],
        }


async def find_issue_row(db: Database, reference: str) -> Mapping[str, Any] | None:
    """The issue with this id, or this identifier (``ACM-3``, any case), in any company.

    Identifiers are unique across companies: each company has its own prefix.
    """
    issues = tables.issues
    issue_id = as_uuid(reference)
    if issue_id is not None:
        condition = issues.c.id == issue_id
    else:
        identifier = as_identifier(reference)
        if identifier is None:
            return None
        condition = issues.c.identifier == identifier
    async with db.read() as session:
        return (await session.execute(sa.select(issues).where(condition))).mappings().first()


async def issue_detail(db: Database, row: Mapping[str, Any]) -> IssueDetail:
    """What hangs on the issue ``row`` (from ``find_issue_row``)."""
    issues, revisions = tables.issues, tables.document_revisions
    company_id = str(row["company_id"])
    async with read(db) as unit:
        session = unit.session
        children = (
            (
                await session.execute(
                    sa.select(issues)
                    .where(issues.c.parent_id == row["id"], issues.c.company_id == company_id)
                    .order_by(issues.c.created_at, issues.c.issue_number, issues.c.id)
                )
            )
            .mappings()
            .all()
        )
        parent = None
        if row["parent_id"] is not None:
            parent = (
                (await session.execute(sa.select(issues).where(issues.c.id == row["parent_id"])))
                .mappings()
                .first()
            )
        related = [row, *children, *([parent] if parent is not None else [])]
        labels = await labels_by_issue(unit, [issue["id"] for issue in related])
        relations = await relation_summaries(unit, company_id, [str(row["id"])])
        documents = await list_documents(unit, row)
        history: dict[str, list[DocumentRevision]] = {}
        if documents:
            found = await session.execute(
                sa.select(revisions)
                .where(revisions.c.document_id.in_([as_uuid(d.id) for d in documents]))
                .order_by(revisions.c.document_id, revisions.c.revision_number)
            )
            for revision in found.mappings():
                history.setdefault(str(revision["document_id"]), []).append(_revision(revision))
        comments = await list_comments(unit, row)
        assignee_name = None
        if row["assignee_agent_id"] is not None:
            agents = tables.agents
            assignee_name = await session.scalar(
                sa.select(agents.c.name).where(agents.c.id == row["assignee_agent_id"])
            )

    def record(issue: Mapping[str, Any]) -> records.Issue:
        return issue_record(issue, labels.get(str(issue["id"]), []))

    return IssueDetail(
        issue=record(row),
        assignee_name=assignee_name,
        parent=None if parent is None else record(parent),
        children=[record(child) for child in children],
        relations=relations.get(str(row["id"]), NO_RELATIONS),
        documents=[(document, history.get(document.id, [])) for document in documents],
        comments=comments,
    )


def _revision(row: Mapping[str, Any]) -> DocumentRevision:
    return DocumentRevision(
        id=str(row["id"]),
        revision_number=row["revision_number"],
        title=row["title"],
        format=row["format"],
        body=row["body"],
        change_summary=row["change_summary"],
        created_by_agent_id=_text(row["created_by_agent_id"]),
        created_by_user_id=row["created_by_user_id"],
        created_by_run_id=_text(row["created_by_run_id"]),
        created_at=row["created_at"],
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
