"""The fixture that uses what Paperclip 2026.916.1 added (``fixtures/plugins/board-desk-js``,
on the published SDK 2026.916.1 under Node 24): a real JS worker reads an issue's files and the
pending approvals, and answers for a board member, against the real host on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.attachments import attach_file
from core.memberships import add_membership
from core.unit_of_work import write
from db import Database, tables
from sandbox.plugin_host import PluginHost
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.workers import FAST, ROOT, ensure_npm_installed

BOARD_DESK = ROOT / "fixtures" / "plugins" / "board-desk-js"


@pytest.fixture(scope="session")
def board_desk_installed() -> None:
    ensure_npm_installed(BOARD_DESK)


@pytest.fixture
async def host(db: Database, board_desk_installed: None) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, timings=FAST) as plugin_host:
        yield plugin_host


async def test_the_new_capabilities_on_the_published_sdk(host: PluginHost, db: Database) -> None:
    world: World = await make_world(db)
    issue_id = await world.issue(title="Review the contract", assignee_agent_id=world.agent_id)
    async with write(db, None) as unit:
        await attach_file(
            unit,
            company_id=world.company_id,
            issue_ref=issue_id,
            content=b"Clause 7: renewal",
            filename="contract.txt",
            content_type="text/plain",
        )
    await world.insert(
        tables.approvals,
        company_id=world.company_id,
        type="hire_agent",
        payload={"name": "Lawyer", "apiKey": "sk-secret"},
    )
    await add_membership(
        db, company_id=world.company_id, principal_type="user", principal_id="user-ada"
    )
    record = await host.install(BOARD_DESK)
    assert record.status == "ready"
    company = {"companyId": world.company_id}

    files = await host.perform_action(record.id, "read-files", company | {"issueId": issue_id})
    assert files == [{"name": "contract.txt", "text": "Clause 7: renewal"}]

    [approval] = await host.perform_action(record.id, "pending-approvals", company)
    assert (approval["type"], approval["payload"]) == (
        "hire_agent",
        {"name": "Lawyer", "apiKey": "***REDACTED***"},
    )

    reply = await host.perform_action(
        record.id,
        "reply-for",
        company | {"issueId": issue_id, "userId": "user-ada", "body": "Approved on my side"},
    )
    assert reply["authorUserId"] == "user-ada"
    [request] = await world.rows(tables.agent_wakeup_requests)
    assert (request["reason"], request["requested_by_actor_id"]) == ("issue_commented", "user-ada")
