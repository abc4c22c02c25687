"""The records of the test harness that the host's own records do not cover.

Every inspection helper of ``sandbox.harness.PluginSandbox`` returns records with attribute
access: ``core.records`` types where the host has one (issues, activity, comments, documents,
cost events, memberships), the read models' rows for wakeups and runs
(``core.read_models.runs.WakeupRow`` / ``RunRow``), and the two below.
"""

from __future__ import annotations

from datetime import datetime

from core import records
from core.records import Id, Record


class IssueRelations(Record):
    """Where an issue stands among the others: blockers both ways, its parent and children."""

    #: Issues that block this one (``issue_relations`` of type ``blocks`` pointing at it).
    blocked_by: tuple[records.RelatedIssue, ...] = ()
    #: Issues this one blocks.
    blocks: tuple[records.RelatedIssue, ...] = ()
    parent: records.Issue | None = None
    #: Its direct children, oldest first.
    children: tuple[records.Issue, ...] = ()


class DocumentRevision(Record):
    """One immutable revision of an issue document, numbered from 1."""

    id: Id
    document_id: Id
    revision_number: int
    title: str | None = None
    format: str
    body: str
    change_summary: str | None = None
    created_by_agent_id: Id | None = None
    created_by_user_id: str | None = None
    created_by_run_id: Id | None = None
    created_at: datetime


__all__ = ["DocumentRevision", "IssueRelations"]
