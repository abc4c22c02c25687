"""Constraint violations raise the same project exceptions on both backends, and keep no data."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from db import (
    Database,
    ForeignKeyViolation,
    IntegrityViolation,
    NotNullViolation,
    UniqueViolation,
)
from db.models import Agent, Company, HeartbeatRun, Issue, IssueRelation
from tests.fixtures.rows import add_agent, add_company, add_issue


async def _count(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


class TestUniqueViolation:
    async def test_names_the_unique_index(self, db: Database) -> None:
        await add_company(db, prefix="PAP")
        with pytest.raises(UniqueViolation) as raised:
            await add_company(db, name="Other", prefix="PAP")
        assert raised.value.constraint == "companies_issue_prefix_idx"
        assert await _count(db, Company) == 1

    async def test_names_the_primary_key(self, db: Database) -> None:
        company = await add_company(db)
        with pytest.raises(UniqueViolation) as raised:
            async with db.transaction() as session:
                session.add(Company(id=company.id, name="Twin", issue_prefix="TWN"))
        assert raised.value.constraint == "companies_pkey"

    async def test_rolls_back_the_whole_transaction(self, db: Database) -> None:
        await add_company(db, prefix="PAP")
        with pytest.raises(UniqueViolation):
            async with db.transaction() as session:
                session.add(Company(name="First", issue_prefix="NEW"))
                await session.flush()
                session.add(Company(name="Second", issue_prefix="PAP"))
        assert await _count(db, Company) == 1


class TestForeignKeyViolation:
    async def test_insert_with_missing_parent(self, db: Database) -> None:
        with pytest.raises(ForeignKeyViolation):
            async with db.transaction() as session:
                session.add(Agent(company_id=uuid.uuid4(), name="Orphan"))
        assert await _count(db, Agent) == 0

    async def test_delete_of_a_referenced_row(self, db: Database) -> None:
        company = await add_company(db)
        await add_agent(db, company)
        with pytest.raises(ForeignKeyViolation):
            async with db.transaction() as session:
                await session.execute(sa.delete(Company).where(Company.id == company.id))
        assert await _count(db, Company) == 1


class TestNotNullViolation:
    async def test_missing_required_column(self, db: Database) -> None:
        company = await add_company(db)
        with pytest.raises(NotNullViolation, match="title"):
            async with db.transaction() as session:
                await session.execute(sa.insert(Issue).values(company_id=company.id, title=None))
        assert issubclass(NotNullViolation, IntegrityViolation)


class TestOnDelete:
    async def test_cascade_removes_relations_with_their_issue(self, db: Database) -> None:
        company = await add_company(db)
        blocker = await add_issue(db, company, title="Blocker")
        blocked = await add_issue(db, company, title="Blocked")
        async with db.transaction() as session:
            session.add(
                IssueRelation(
                    company_id=company.id,
                    issue_id=blocker.id,
                    related_issue_id=blocked.id,
                    type="blocks",
                )
            )
        async with db.transaction() as session:
            await session.execute(sa.delete(Issue).where(Issue.id == blocker.id))
        assert await _count(db, IssueRelation) == 0
        assert await _count(db, Issue) == 1

    async def test_set_null_clears_run_locks(self, db: Database) -> None:
        company = await add_company(db)
        agent = await add_agent(db, company)
        run = HeartbeatRun(company_id=company.id, agent_id=agent.id, status="running")
        async with db.transaction() as session:
            session.add(run)
        issue = await add_issue(
            db,
            company,
            status="in_progress",
            assignee_agent_id=agent.id,
            checkout_run_id=run.id,
            execution_run_id=run.id,
        )
        async with db.transaction() as session:
            await session.execute(sa.delete(HeartbeatRun).where(HeartbeatRun.id == run.id))
        async with db.read() as session:
            row = (
                await session.execute(
                    sa.select(Issue.checkout_run_id, Issue.execution_run_id, Issue.status).where(
                        Issue.id == issue.id
                    )
                )
            ).one()
        assert tuple(row) == (None, None, "in_progress")
