"""Revision 0006 (Paperclip 2026.916.1) on a database that already holds rows: they keep their
values and get upstream's defaults, and the new keys hold on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from db import Database, migrate
from db.errors import UniqueViolation
from db.types import Timestamp


async def _at_0005_with_an_issue(db: Database) -> dict[str, str]:
    await migrate.downgrade(db, "0005")
    ids = {name: str(uuid.uuid4()) for name in ("company", "agent", "issue", "run", "cost")}
    statements = (
        "INSERT INTO companies (id, name, issue_prefix, brand_color) "
        "VALUES (:company, 'Acme', 'ACM', '#123456')",
        "INSERT INTO agents (id, company_id, name) VALUES (:agent, :company, 'Engineer')",
        "INSERT INTO issues (id, company_id, title, status) "
        "VALUES (:issue, :company, 'Old issue', 'todo')",
        "INSERT INTO heartbeat_runs (id, company_id, agent_id) VALUES (:run, :company, :agent)",
        "INSERT INTO cost_events (id, company_id, agent_id, provider, model, cost_cents, "
        "occurred_at) VALUES (:cost, :company, :agent, 'anthropic', 'claude', 5, :occurred)",
    )
    occurred = sa.bindparam("occurred", datetime.now(UTC), type_=Timestamp())
    async with db.transaction() as session:
        for statement in statements:
            text = sa.text(statement)
            if ":occurred" in statement:
                text = text.bindparams(occurred)
            await session.execute(text, ids)
    await migrate.upgrade(db)
    return ids


async def test_existing_rows_keep_their_values_and_get_the_defaults(db: Database) -> None:
    ids = await _at_0005_with_an_issue(db)
    async with db.read() as session:

        async def one(sql: str) -> sa.Row:
            return (await session.execute(sa.text(sql), ids)).one()

        issue = await one(
            "SELECT title, status, status_version, conversation_session_generation, "
            "conversation_state FROM issues WHERE id = :issue"
        )
        run = await one("SELECT status, runtime_mode, next_event_seq FROM heartbeat_runs")
        cost = await one("SELECT cost_cents, cost_status FROM cost_events")
        company = await one("SELECT name, interaction_resolver_governance FROM companies")
    assert tuple(issue) == ("Old issue", "todo", 0, 0, None)
    assert tuple(run) == ("queued", "legacy", 1)
    assert tuple(cost) == (5, "reported")
    assert company[0] == "Acme"
    assert company[1] in ({}, "{}")


async def test_one_onboarding_first_task_per_company(db: Database) -> None:
    ids = await _at_0005_with_an_issue(db)
    insert = sa.text(
        "INSERT INTO issues (id, company_id, title, origin_kind) "
        "VALUES (:id, :company, 'Welcome', :kind)"
    )
    async with db.transaction() as session:
        for kind in ("manual", "manual", "onboarding_first_task"):
            await session.execute(insert, ids | {"id": str(uuid.uuid4()), "kind": kind})
    with pytest.raises(UniqueViolation):
        async with db.transaction() as session:
            await session.execute(
                insert, ids | {"id": str(uuid.uuid4()), "kind": "onboarding_first_task"}
            )


async def test_a_conversation_issue_must_be_assigned_to_its_agent(db: Database) -> None:
    ids = await _at_0005_with_an_issue(db)
    update = sa.text(
        "UPDATE issues SET conversation_agent_id = :agent, conversation_user_id = 'u1', "
        "conversation_state = 'active', assignee_agent_id = :assignee WHERE id = :issue"
    )
    with pytest.raises(Exception, match="issues_conversation_identity_check"):
        async with db.transaction() as session:
            await session.execute(update, ids | {"assignee": None})
    async with db.transaction() as session:
        await session.execute(update, ids | {"assignee": ids["agent"]})
