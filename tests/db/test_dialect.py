"""The dialect helpers give the same results on both backends."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from db import Database, advisory_xact_lock, any_of, lock_for_update, subtree, upsert
from db.models import Company, Issue, Plugin, PluginState
from db.types import JsonText
from tests.fixtures.rows import add_company, add_issue


async def _plugin(db: Database) -> uuid.UUID:
    plugin = Plugin(plugin_key="acme.state", package_name="acme", version="1.0.0", manifest_json={})
    async with db.transaction() as session:
        session.add(plugin)
    return plugin.id


async def _state(db: Database) -> list[tuple[str | None, str, object]]:
    async with db.read() as session:
        rows = await session.execute(
            sa.select(PluginState.scope_id, PluginState.state_key, PluginState.value_json).order_by(
                PluginState.state_key, PluginState.scope_id
            )
        )
        return [tuple(row) for row in rows]


class TestUpsert:
    async def test_inserts_then_updates_on_the_conflict_columns(self, db: Database) -> None:
        plugin_id = await _plugin(db)
        key = ["plugin_id", "scope_kind", "scope_id", "namespace", "state_key"]
        for value in ({"v": 1}, {"v": 2}):
            row = {
                "id": uuid.uuid4(),
                "plugin_id": plugin_id,
                "scope_kind": "company",
                "scope_id": "c1",
                "namespace": "default",
                "state_key": "k",
                "value_json": value,
            }
            async with db.transaction() as session:
                await session.execute(
                    upsert(
                        db.dialect,
                        PluginState.__table__,
                        row,
                        conflict_columns=key,
                        update_columns=["value_json"],
                    )
                )
        assert await _state(db) == [("c1", "k", {"v": 2})]

    async def test_do_nothing_keeps_the_existing_row(self, db: Database) -> None:
        plugin_id = await _plugin(db)
        key = ["plugin_id", "scope_kind", "scope_id", "namespace", "state_key"]
        for value in ("first", "second"):
            row = {
                "id": uuid.uuid4(),
                "plugin_id": plugin_id,
                "scope_kind": "company",
                "scope_id": "c1",
                "namespace": "default",
                "state_key": "k",
                "value_json": value,
            }
            async with db.transaction() as session:
                result = await session.execute(
                    upsert(db.dialect, PluginState.__table__, row, conflict_columns=key).returning(
                        PluginState.id
                    )
                )
                inserted = result.scalars().all()
            assert len(inserted) == (1 if value == "first" else 0)
        assert await _state(db) == [("c1", "k", "first")]

    async def test_partial_index_target_keeps_null_scopes_unique(self, db: Database) -> None:
        plugin_id = await _plugin(db)
        for value in (1, 2, 3):
            row = {
                "id": uuid.uuid4(),
                "plugin_id": plugin_id,
                "scope_kind": "instance",
                "scope_id": None,
                "namespace": "default",
                "state_key": "k",
                "value_json": value,
            }
            async with db.transaction() as session:
                await session.execute(
                    upsert(
                        db.dialect,
                        PluginState.__table__,
                        row,
                        conflict_columns=["plugin_id", "scope_kind", "namespace", "state_key"],
                        conflict_where=PluginState.__table__.c.scope_id.is_(None),
                        update_columns=["value_json"],
                    )
                )
        assert await _state(db) == [(None, "k", 3)]


class TestSubtree:
    async def test_walks_levels_within_one_company(self, db: Database) -> None:
        company = await add_company(db)
        other = await add_company(db, name="Other")
        root = await add_issue(db, company, title="root")
        child = await add_issue(db, company, title="child", parent_id=root.id)
        grandchild = await add_issue(db, company, title="grandchild", parent_id=child.id)
        sibling = await add_issue(db, company, title="sibling", parent_id=root.id)
        foreign = await add_issue(db, other, title="foreign", parent_id=root.id)
        await add_issue(db, other, title="below foreign", parent_id=foreign.id)
        await add_issue(db, company, title="unrelated")

        tree = subtree(
            Issue.__table__.c.id,
            Issue.__table__.c.parent_id,
            root.id,
            where=Issue.__table__.c.company_id == company.id,
        )
        async with db.read() as session:
            rows = (await session.execute(sa.select(tree.c.id, tree.c.depth))).all()
        assert dict(rows) == {root.id: 0, child.id: 1, sibling.id: 1, grandchild.id: 2}

    async def test_terminates_on_a_parent_cycle(self, db: Database) -> None:
        company = await add_company(db)
        a = await add_issue(db, company, title="a")
        b = await add_issue(db, company, title="b", parent_id=a.id)
        async with db.transaction() as session:
            await session.execute(sa.update(Issue).where(Issue.id == a.id).values(parent_id=b.id))
        tree = subtree(Issue.__table__.c.id, Issue.__table__.c.parent_id, a.id)
        async with db.read() as session:
            rows = (await session.execute(sa.select(tree.c.id, tree.c.depth))).all()
        assert sorted(rows, key=lambda row: row[1]) == [(a.id, 0), (b.id, 1)]


class TestLocking:
    async def test_row_lock_prevents_lost_updates(self, db: Database) -> None:
        company = await add_company(db)

        async def increment() -> None:
            async with db.transaction() as session:
                query = lock_for_update(
                    db.dialect, sa.select(Company.issue_counter).where(Company.id == company.id)
                )
                counter = await session.scalar(query)
                await asyncio.sleep(0.001)  # widen the read-modify-write window
                await session.execute(
                    sa.update(Company)
                    .where(Company.id == company.id)
                    .values(issue_counter=counter + 1)
                )

        await asyncio.gather(*(increment() for _ in range(20)))
        async with db.read() as session:
            final = await session.scalar(
                sa.select(Company.issue_counter).where(Company.id == company.id)
            )
        assert final == 20

    async def test_advisory_lock_serialises_transactions(self, db: Database) -> None:
        company = await add_company(db)
        inside = 0
        overlaps = 0

        async def critical() -> None:
            nonlocal inside, overlaps
            async with db.transaction() as session:
                await advisory_xact_lock(db.dialect, session, 42)
                inside += 1
                overlaps = max(overlaps, inside)
                await asyncio.sleep(0.005)
                await session.execute(
                    sa.update(Company)
                    .where(Company.id == company.id)
                    .values(issue_counter=Company.issue_counter + 1)
                )
                inside -= 1

        await asyncio.gather(*(critical() for _ in range(8)))
        assert overlaps == 1


class TestAnyOf:
    async def test_matches_a_large_id_list_with_one_parameter(self, db: Database) -> None:
        company = await add_company(db)
        wanted = [await add_issue(db, company, title=f"i{n}") for n in range(3)]
        await add_issue(db, company, title="other")
        ids = [str(issue.id) for issue in wanted] + [str(uuid.uuid4()) for _ in range(5000)]
        with db.statement_counter() as statements:
            async with db.read() as session:
                titles = (
                    await session.scalars(
                        sa.select(Issue.title)
                        .where(any_of(db.dialect, Issue.__table__.c.id, ids))
                        .order_by(Issue.title)
                    )
                ).all()
        assert titles == ["i0", "i1", "i2"]
        assert sum(statement.count("?") + statement.count("$") for statement in statements) <= 2

    async def test_matches_text_expressions_such_as_json_keys(self, db: Database) -> None:
        company = await add_company(db)
        plugin_id = await _plugin(db)
        async with db.transaction() as session:
            for name in ("a", "b"):
                session.add(
                    PluginState(
                        plugin_id=plugin_id,
                        scope_kind="company",
                        scope_id=str(company.id),
                        state_key=name,
                        value_json={"ref": name},
                    )
                )
        async with db.read() as session:
            keys = (
                await session.scalars(
                    sa.select(PluginState.state_key).where(
                        any_of(
                            db.dialect,
                            JsonText(PluginState.__table__.c.value_json, "ref"),
                            ["b", "zzz"],
                        )
                    )
                )
            ).all()
        assert keys == ["b"]
