"""Every host API, pointed at another company's records: nothing is read, nothing changes.

Company A owns an issue tree with a blocker, a document, a comment, a label, a run holding the
checkout and a project. A plugin acting for company B names A's ids everywhere it can.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import HostError, InvalidInput, NotFound, Unprocessable
from core.host_services.params import (
    CheckoutOwner,
    CreateComment,
    CreateIssue,
    DocumentRef,
    EditBlockers,
    GetOrchestration,
    GetSubtree,
    IssueRef,
    ListIssues,
    LogActivity,
    RequestWakeup,
    RequestWakeups,
    SetBlockedBy,
    UpdateIssue,
    UpsertDocument,
)
from db import Database, tables
from db.models import metadata
from tests.fixtures.orchestration import World, make_world


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.read() as session:
        return {
            table.name: sorted(
                (tuple(map(str, row)) for row in await session.execute(sa.select(table))),
            )
            for table in metadata.sorted_tables
        }


class Scene:
    """Company A's records, and company B's world."""

    def __init__(self, a: World, b: World) -> None:
        self.a, self.b = a, b
        self.ids: dict[str, str] = {}

    async def build(self) -> None:
        a = self.a
        run = await a.run()
        project = await a.insert(tables.projects, company_id=a.company_id, name="A project")
        label = await a.insert(tables.labels, company_id=a.company_id, name="a", color="red")
        root = await a.issue(title="A root", assignee_agent_id=a.agent_id, project_id=project)
        child = await a.issue(
            title="A child",
            parent_id=root,
            status="in_progress",
            assignee_agent_id=a.agent_id,
            checkout_run_id=run,
            execution_run_id=run,
        )
        blocker = await a.issue(title="A blocker")
        await a.services.issues.relations.set_blocked_by(
            SetBlockedBy(issue_id=child, company_id=a.company_id, blocked_by_issue_ids=[blocker])
        )
        await a.services.issues.documents.upsert(
            UpsertDocument(issue_id=root, company_id=a.company_id, key="plan", body="A's plan")
        )
        await a.services.issues.create_comment(
            CreateComment(issue_id=root, company_id=a.company_id, body="A")
        )
        self.ids = {
            "run": run,
            "project": project,
            "label": label,
            "root": root,
            "child": child,
            "blocker": blocker,
            "agent": a.agent_id,
        }


Call = Callable[[Scene], Awaitable[Any]]

REFUSED: dict[str, tuple[Call, type[HostError], str]] = {
    "issues.update": (
        lambda s: s.b.services.issues.update(
            UpdateIssue(issue_id=s.ids["root"], company_id=s.b.company_id, patch={"title": "mine"})
        ),
        NotFound,
        "Issue not found",
    ),
    "issues.create with A's parent": (
        lambda s: s.b.services.issues.create(
            CreateIssue(company_id=s.b.company_id, title="t", parent_id=s.ids["root"])
        ),
        NotFound,
        "Parent issue not found",
    ),
    "issues.create with A's project": (
        lambda s: s.b.services.issues.create(
            CreateIssue(company_id=s.b.company_id, title="t", project_id=s.ids["project"])
        ),
        NotFound,
        "Project not found",
    ),
    "issues.create with A's assignee": (
        lambda s: s.b.services.issues.create(
            CreateIssue(company_id=s.b.company_id, title="t", assignee_agent_id=s.ids["agent"])
        ),
        Unprocessable,
        "Assignee must belong to same company",
    ),
    "issues.create with A's blocker": (
        lambda s: s.b.services.issues.create(
            CreateIssue(
                company_id=s.b.company_id, title="t", blocked_by_issue_ids=[s.ids["blocker"]]
            )
        ),
        Unprocessable,
        "Blocked-by issues must belong to the same company",
    ),
    "issues.create with A's label": (
        lambda s: s.b.services.issues.create(
            CreateIssue(company_id=s.b.company_id, title="t", label_ids=[s.ids["label"]])
        ),
        Unprocessable,
        "One or more labels are invalid for this company",
    ),
    "issues.create as A's agent": (
        lambda s: s.b.services.issues.create(
            CreateIssue(company_id=s.b.company_id, title="t", actor_agent_id=s.ids["agent"])
        ),
        NotFound,
        "Actor agent not found",
    ),
    "issues.create in A's company with B's run": (
        lambda s: s.a.services.issues.create(
            CreateIssue(company_id=s.a.company_id, title="t", actor_run_id=s.ids["b_run"])
        ),
        NotFound,
        "Actor run not found",
    ),
    "relations.get": (
        lambda s: s.b.services.issues.relations.get(
            IssueRef(issue_id=s.ids["child"], company_id=s.b.company_id)
        ),
        NotFound,
        "Issue not found",
    ),
    "relations.set_blocked_by": (
        lambda s: s.b.services.issues.relations.set_blocked_by(
            SetBlockedBy(
                issue_id=s.ids["child"], company_id=s.b.company_id, blocked_by_issue_ids=[]
            )
        ),
        NotFound,
        "Issue not found",
    ),
    "relations.add_blockers of A onto B": (
        lambda s: s.b.services.issues.relations.add_blockers(
            EditBlockers(
                issue_id=s.ids["b_issue"],
                company_id=s.b.company_id,
                blocker_issue_ids=[s.ids["blocker"]],
            )
        ),
        Unprocessable,
        "Blocked-by issues must belong to the same company",
    ),
    "relations.remove_blockers": (
        lambda s: s.b.services.issues.relations.remove_blockers(
            EditBlockers(
                issue_id=s.ids["child"],
                company_id=s.b.company_id,
                blocker_issue_ids=[s.ids["blocker"]],
            )
        ),
        NotFound,
        "Issue not found",
    ),
    "assert_checkout_owner": (
        lambda s: s.b.services.issues.assert_checkout_owner(
            CheckoutOwner(
                issue_id=s.ids["child"],
                company_id=s.b.company_id,
                actor_agent_id=s.ids["agent"],
                actor_run_id=s.ids["run"],
            )
        ),
        NotFound,
        "Issue not found",
    ),
    "get_subtree": (
        lambda s: s.b.services.issues.get_subtree(
            GetSubtree(issue_id=s.ids["root"], company_id=s.b.company_id)
        ),
        NotFound,
        "Issue not found",
    ),
    "request_wakeup": (
        lambda s: s.b.services.issues.request_wakeup(
            RequestWakeup(issue_id=s.ids["root"], company_id=s.b.company_id)
        ),
        NotFound,
        "Issue not found",
    ),
    "request_wakeups": (
        lambda s: s.b.services.issues.request_wakeups(
            RequestWakeups(issue_ids=[s.ids["root"]], company_id=s.b.company_id)
        ),
        NotFound,
        "Issue not found",
    ),
    "summaries.get_orchestration": (
        lambda s: s.b.services.issues.summaries.get_orchestration(
            GetOrchestration(
                issue_id=s.ids["root"], company_id=s.b.company_id, include_subtree=True
            )
        ),
        NotFound,
        "Issue not found",
    ),
    "create_comment": (
        lambda s: s.b.services.issues.create_comment(
            CreateComment(issue_id=s.ids["root"], company_id=s.b.company_id, body="x")
        ),
        NotFound,
        "Issue not found",
    ),
    "documents.list": (
        lambda s: s.b.services.issues.documents.list(
            IssueRef(issue_id=s.ids["root"], company_id=s.b.company_id)
        ),
        NotFound,
        "Issue not found",
    ),
    "documents.get": (
        lambda s: s.b.services.issues.documents.get(
            DocumentRef(issue_id=s.ids["root"], company_id=s.b.company_id, key="plan")
        ),
        NotFound,
        "Issue not found",
    ),
    "documents.upsert": (
        lambda s: s.b.services.issues.documents.upsert(
            UpsertDocument(
                issue_id=s.ids["root"], company_id=s.b.company_id, key="plan", body="B's"
            )
        ),
        NotFound,
        "Issue not found",
    ),
    "documents.delete": (
        lambda s: s.b.services.issues.documents.delete(
            DocumentRef(issue_id=s.ids["root"], company_id=s.b.company_id, key="plan")
        ),
        NotFound,
        "Issue not found",
    ),
}


@pytest.fixture
async def scene(db: Database) -> Scene:
    built = Scene(await make_world(db, name="A"), await make_world(db, name="B"))
    await built.build()
    built.ids["b_run"] = await built.b.run()
    built.ids["b_issue"] = await built.b.issue(title="B issue")
    return built


@pytest.mark.parametrize("name", list(REFUSED))
async def test_refused_and_nothing_changes(scene: Scene, name: str) -> None:
    call, error, message = REFUSED[name]
    before = await _snapshot(scene.a.db)
    with pytest.raises(error, match=f"^{message}$"):
        await call(scene)
    assert await _snapshot(scene.a.db) == before


async def test_reads_of_foreign_records_find_nothing(scene: Scene) -> None:
    b = scene.b.services.issues
    company = scene.b.company_id
    before = await _snapshot(scene.a.db)
    assert await b.get(IssueRef(issue_id=scene.ids["root"], company_id=company)) is None
    assert await b.list_comments(IssueRef(issue_id=scene.ids["root"], company_id=company)) == []
    listed = await b.list(ListIssues(company_id=company))
    assert [issue.id for issue in listed] == [scene.ids["b_issue"]]
    assert await b.list(ListIssues(company_id=company, project_id=scene.ids["project"])) == []
    assert await _snapshot(scene.a.db) == before


@pytest.mark.parametrize(
    ("company_id", "message"),
    [
        (None, "^companyId is required for this operation$"),
        ("", "^companyId is required"),
        ("acme", "^companyId must be a UUID"),
    ],
)
async def test_company_id_is_required_and_must_be_a_uuid(
    world: World, company_id: Any, message: str
) -> None:
    issues = world.services.issues
    calls = [
        lambda: issues.list(ListIssues(company_id=company_id)),
        lambda: issues.get(IssueRef(issue_id="x", company_id=company_id)),
        lambda: issues.create(CreateIssue(company_id=company_id, title="t")),
        lambda: issues.request_wakeups(RequestWakeups(issue_ids=[], company_id=company_id)),
        lambda: world.services.activity.log(LogActivity(company_id=company_id, message="m")),
    ]
    for call in calls:
        with pytest.raises(InvalidInput, match=message):
            await call()


async def test_a_company_that_does_not_exist(world: World) -> None:
    ghost = "00000000-0000-4000-8000-000000000000"
    assert await world.services.issues.list(ListIssues(company_id=ghost)) == []
    with pytest.raises(NotFound, match="^Company not found$"):
        await world.services.issues.create(CreateIssue(company_id=ghost, title="t"))
