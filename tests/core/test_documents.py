"""Issue documents: create, revise, conditional writes, keys, delete, audit and events."""

from __future__ import annotations

import pytest

from core.errors import Conflict, NotFound, Unprocessable
from core.event_bus import PluginEvent
from core.host_services.params import DocumentRef, IssueRef, UpsertDocument
from db import tables
from tests.fixtures.orchestration import World


async def test_upsert_creates_then_revises(world: World) -> None:
    issue_id = await world.issue()
    documents = world.services.issues.documents
    events: list[PluginEvent] = []
    world.bus.subscribe("issue.document.*", events.append)

    first = await documents.upsert(
        UpsertDocument(
            issue_id=issue_id,
            company_id=world.company_id,
            key=" Plan ",
            body="v1",
            title=" Plan ",
            change_summary="first",
        )
    )
    second = await documents.upsert(
        UpsertDocument(
            issue_id=issue_id,
            company_id=world.company_id,
            key="plan",
            body="v2",
            change_summary="second",
        )
    )
    assert (first.key, first.title, first.latest_revision_number, first.body) == (
        "plan",
        "Plan",
        1,
        "v1",
    )
    assert (second.id, second.latest_revision_number, second.body) == (first.id, 2, "v2")
    assert second.latest_revision_id != first.latest_revision_id
    revisions = await world.rows(tables.document_revisions)
    assert sorted((r["revision_number"], r["body"], r["change_summary"]) for r in revisions) == [
        (1, "v1", "first"),
        (2, "v2", "second"),
    ]
    audit = await world.rows(tables.activity_log)
    assert [row["action"] for row in audit] == ["issue.document_upserted"] * 2
    assert {row["details"]["documentKey"] for row in audit} == {"plan"}
    await world.bus.drain()
    assert [event.event_type for event in events] == [
        "issue.document.created",
        "issue.document.updated",
    ]


async def test_base_revision_makes_writes_conditional(world: World) -> None:
    issue_id = await world.issue()
    documents = world.services.issues.documents
    with pytest.raises(Conflict, match="^Document does not exist yet$"):
        await documents.upsert(
            UpsertDocument(
                issue_id=issue_id,
                company_id=world.company_id,
                key="plan",
                body="x",
                base_revision_id="11111111-1111-4111-8111-111111111111",
            )
        )
    first = await documents.upsert(
        UpsertDocument(issue_id=issue_id, company_id=world.company_id, key="plan", body="a")
    )
    await documents.upsert(
        UpsertDocument(
            issue_id=issue_id,
            company_id=world.company_id,
            key="plan",
            body="b",
            base_revision_id=first.latest_revision_id,
        )
    )
    with pytest.raises(Conflict, match="^Document was updated by someone else$") as raised:
        await documents.upsert(
            UpsertDocument(
                issue_id=issue_id,
                company_id=world.company_id,
                key="plan",
                body="c",
                base_revision_id=first.latest_revision_id,
            )
        )
    current = await documents.get(
        DocumentRef(issue_id=issue_id, company_id=world.company_id, key="plan")
    )
    assert current is not None and current.body == "b"
    assert raised.value.details["currentRevisionId"] == current.latest_revision_id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": "bad key"}, "^Invalid document key$"),
        ({"key": "-starts-with-dash"}, "^Invalid document key$"),
        ({"key": "k" * 65}, "^Invalid document key$"),
        ({"format": "html"}, "^Unsupported document format: html$"),
        ({"title": "t" * 201}, "^Document title must be at most 200 characters$"),
        ({"body": "b" * 524_289}, "^Document body must be at most 524288 characters$"),
        ({"change_summary": "c" * 501}, "^Change summary must be at most 500 characters$"),
    ],
)
async def test_invalid_documents_are_refused(
    world: World, fields: dict[str, object], message: str
) -> None:
    issue_id = await world.issue()
    values = {"key": "plan", "body": "ok", **fields}
    with pytest.raises(Unprocessable, match=message):
        await world.services.issues.documents.upsert(
            UpsertDocument(issue_id=issue_id, company_id=world.company_id, **values)
        )
    assert await world.rows(tables.documents) == []


async def test_list_hides_system_keys_and_get_reads_them(world: World) -> None:
    issue_id = await world.issue()
    documents = world.services.issues.documents
    for key in ("zeta", "alpha", "continuation-summary"):
        await documents.upsert(
            UpsertDocument(issue_id=issue_id, company_id=world.company_id, key=key, body=key)
        )
    listed = await documents.list(IssueRef(issue_id=issue_id, company_id=world.company_id))
    assert [(d.key, d.body) for d in listed] == [("alpha", "alpha"), ("zeta", "zeta")]
    system = await documents.get(
        DocumentRef(issue_id=issue_id, company_id=world.company_id, key="continuation-summary")
    )
    assert system is not None
    assert (
        await documents.get(DocumentRef(issue_id=issue_id, company_id=world.company_id, key="nope"))
        is None
    )


async def test_delete_removes_revisions_and_is_quiet_when_nothing_is_there(world: World) -> None:
    issue_id = await world.issue()
    documents = world.services.issues.documents
    events: list[PluginEvent] = []
    world.bus.subscribe("issue.document.deleted", events.append)
    await documents.upsert(
        UpsertDocument(issue_id=issue_id, company_id=world.company_id, key="plan", body="a")
    )
    await documents.upsert(
        UpsertDocument(issue_id=issue_id, company_id=world.company_id, key="plan", body="b")
    )
    await documents.delete(DocumentRef(issue_id=issue_id, company_id=world.company_id, key="plan"))
    await documents.delete(DocumentRef(issue_id=issue_id, company_id=world.company_id, key="plan"))
    assert await world.rows(tables.documents) == []
    assert await world.rows(tables.document_revisions) == []
    deletions = await world.rows(
        tables.activity_log, tables.activity_log.c.action == "issue.document_deleted"
    )
    assert len(deletions) == 1
    await world.bus.drain()
    assert len(events) == 1


async def test_missing_issue(world: World) -> None:
    with pytest.raises(NotFound, match="^Issue not found$"):
        await world.services.issues.documents.list(
            IssueRef(issue_id="00000000-0000-4000-8000-000000000000", company_id=world.company_id)
        )
