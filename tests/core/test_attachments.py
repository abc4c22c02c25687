"""``issues.listAttachments`` and ``getAttachmentContent`` through the worker bridge: files
the sandbox stores in its database, read within their company."""

from __future__ import annotations

import base64
import hashlib

import pytest

from core.attachments import attach_file
from core.errors import InvalidInput, NotFound
from core.unit_of_work import write
from db import tables
from tests.fixtures.bridge import bridge_for
from tests.fixtures.orchestration import World, make_world


async def _attach(world: World, issue_id: str, content: bytes, name: str) -> str:
    async with write(world.db, None) as unit:
        attachment = await attach_file(
            unit,
            company_id=world.company_id,
            issue_ref=issue_id,
            content=content,
            filename=name,
            content_type="text/plain",
            created_by_user_id="user-ada",
        )
    return attachment.id


async def test_list_newest_first_and_read_the_bytes(world: World) -> None:
    bridge = await bridge_for(world)
    issue_id = await world.issue(title="With files")
    first = await _attach(world, issue_id, b"first file", "a.txt")
    second = await _attach(world, issue_id, "é\x00binary".encode(), "b.txt")

    listed = await bridge.call(
        "issues.listAttachments", issueId=issue_id, companyId=world.company_id
    )
    assert [a["id"] for a in listed] == [second, first]
    assert listed[1] | {"createdAt": None, "updatedAt": None} == {
        "id": first,
        "companyId": world.company_id,
        "issueId": issue_id,
        "issueCommentId": None,
        "originatingRunId": None,
        "assetId": listed[1]["assetId"],
        "provider": "database",
        "objectKey": f"{world.company_id}/issues/{issue_id}/{listed[1]['assetId']}",
        "contentType": "text/plain",
        "byteSize": 10,
        "sha256": hashlib.sha256(b"first file").hexdigest(),
        "originalFilename": "a.txt",
        "createdByAgentId": None,
        "createdByUserId": "user-ada",
        "createdAt": None,
        "updatedAt": None,
    }

    content = await bridge.call(
        "issues.getAttachmentContent", attachmentId=second, companyId=world.company_id
    )
    assert base64.b64decode(content["contentBase64"]) == "é\x00binary".encode()
    assert (content["attachmentId"], content["byteSize"], content["originalFilename"]) == (
        second,
        len("é\x00binary".encode()),
        "b.txt",
    )
    [read] = await world.rows(
        tables.activity_log, tables.activity_log.c.action == "issue.attachment.read"
    )
    assert (read["entity_type"], read["entity_id"], read["actor_type"]) == (
        "issue",
        issue_id,
        "plugin",
    )
    assert read["details"]["attachmentId"] == second
    assert read["details"]["byteSize"] == content["byteSize"]


async def test_a_cap_below_the_size_refuses_the_read(world: World) -> None:
    bridge = await bridge_for(world)
    issue_id = await world.issue(title="Big")
    attachment = await _attach(world, issue_id, b"x" * 100, "big.txt")
    with pytest.raises(
        InvalidInput, match=f"^attachment {attachment} is 100 bytes, over the 10-byte cap$"
    ):
        await bridge.call(
            "issues.getAttachmentContent",
            attachmentId=attachment,
            companyId=world.company_id,
            maxBytes=10,
        )
    for cap in (0, None, -5, "10"):  # only a number above 0 caps
        found = await bridge.call(
            "issues.getAttachmentContent",
            attachmentId=attachment,
            companyId=world.company_id,
            maxBytes=cap,
        )
        assert found["byteSize"] == 100
    assert len(await world.rows(tables.activity_log)) == 4


async def test_another_companys_files_are_not_there(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    theirs_issue = await other.issue(title="Theirs")
    async with write(world.db, None) as unit:
        theirs = await attach_file(
            unit,
            company_id=other.company_id,
            issue_ref=theirs_issue,
            content=b"secret",
            filename="s.txt",
            content_type="text/plain",
        )
    assert (
        await bridge.call(
            "issues.listAttachments", issueId=theirs_issue, companyId=world.company_id
        )
        == []
    )
    assert (
        await bridge.call(
            "issues.getAttachmentContent", attachmentId=theirs.id, companyId=world.company_id
        )
        is None
    )
    assert await world.rows(tables.activity_log) == []
    with pytest.raises(NotFound, match="^Issue not found$"):
        await _attach(world, theirs_issue, b"x", "x.txt")


async def test_reading_attachments_needs_its_capability(world: World) -> None:
    bridge = await bridge_for(world, ("issues.read",))
    issue_id = await world.issue(title="With files")
    with pytest.raises(Exception, match='missing required capability "issue.attachments.read"'):
        await bridge.call("issues.listAttachments", issueId=issue_id, companyId=world.company_id)
