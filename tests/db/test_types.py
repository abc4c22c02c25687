"""Portable types round-trip the same values on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from db import Database
from db.models import ActivityLog, Issue, PluginState
from db.types import SQLITE_TIMESTAMP_FORMAT, from_sqlite_timestamp
from tests.fixtures.rows import add_company, add_issue

NESTED = {
    "text": "naïve café ✓ 日本語 🚀",
    "null": None,
    "list": [1, 2.5, -3, True, False, None, "x", [], {}],
    "nested": {"deeper": {"deepest": [{"a": 1}, {"b": [None]}]}},
    "quote": 'she said "hi" \\ back',
}


class TestUUID:
    async def test_round_trips_and_canonicalises(self, db: Database) -> None:
        company = await add_company(db)
        upper = str(uuid.uuid4()).upper()
        async with db.transaction() as session:
            session.add(Issue(id=upper, company_id=str(company.id), title="t"))
        async with db.read() as session:
            stored = await session.scalar(sa.select(Issue.id).where(Issue.id == upper.lower()))
            as_text = await session.scalar(sa.text("SELECT CAST(id AS TEXT) FROM issues"))
        assert stored == uuid.UUID(upper)
        assert isinstance(stored, uuid.UUID)
        # Plugin SQL compares ids with canonical lowercase dashed strings on both backends.
        assert as_text == upper.lower()

    async def test_refuses_malformed_ids(self, db: Database) -> None:
        with pytest.raises(ValueError, match="badly formed"):
            async with db.read() as session:
                await session.scalar(sa.select(Issue.id).where(Issue.id == "not-a-uuid"))

    async def test_server_default_generates_version_4_ids(self, db: Database) -> None:
        company = await add_company(db)
        async with db.transaction() as session:
            await session.execute(
                sa.text("INSERT INTO labels (company_id, name, color) VALUES (:c, 'bug', 'red')"),
                {"c": str(company.id)},
            )
        async with db.read() as session:
            label_id = await session.scalar(sa.text("SELECT CAST(id AS TEXT) FROM labels"))
        parsed = uuid.UUID(label_id)
        assert str(parsed) == label_id
        assert parsed.version == 4


class TestJSON:
    async def test_round_trips_nested_unicode_and_null(self, db: Database) -> None:
        company = await add_company(db)
        async with db.transaction() as session:
            session.add(_activity(company.id, details=NESTED))
            session.add(_activity(company.id, details=None))
        async with db.read() as session:
            rows = (await session.scalars(sa.select(ActivityLog.details))).all()
            sql_nulls = await session.scalar(
                sa.select(sa.func.count()).where(ActivityLog.details.is_(None))
            )
        assert NESTED in rows
        assert None in rows
        assert sql_nulls == 1  # Python None is SQL NULL, not the JSON text 'null'

    async def test_stores_json_null_and_scalars_where_any_value_is_allowed(
        self, db: Database, plugin_id: uuid.UUID
    ) -> None:
        values = [None, 0, 7, 1.5, "12", "text", True, [], {}]
        async with db.transaction() as session:
            for index, value in enumerate(values):
                session.add(
                    PluginState(
                        plugin_id=plugin_id,
                        scope_kind="instance",
                        state_key=f"k{index}",
                        value_json=value,
                    )
                )
        async with db.read() as session:
            stored = (
                await session.execute(sa.select(PluginState.state_key, PluginState.value_json))
            ).all()
        assert sorted(stored) == sorted((f"k{i}", v) for i, v in enumerate(values))

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), "nul\x00char"])
    async def test_refuses_what_postgres_refuses(self, db: Database, bad: object) -> None:
        company = await add_company(db)
        with pytest.raises(ValueError, match=r"NaN|NUL"):
            async with db.transaction() as session:
                session.add(_activity(company.id, details={"value": bad}))
        async with db.read() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(ActivityLog)) == 0


class TestTimestamp:
    async def test_round_trips_microseconds_and_converts_to_utc(self, db: Database) -> None:
        plus_five = timezone(timedelta(hours=5, minutes=30))
        local = datetime(2026, 4, 20, 15, 4, 5, 123456, tzinfo=plus_five)
        company = await add_company(db)
        issue = await add_issue(db, company, started_at=local)
        async with db.read() as session:
            stored = await session.scalar(sa.select(Issue.started_at).where(Issue.id == issue.id))
        assert stored == local
        assert stored.tzinfo == UTC
        assert stored == datetime(2026, 4, 20, 9, 34, 5, 123456, tzinfo=UTC)

    async def test_refuses_naive_datetimes(self, db: Database) -> None:
        company = await add_company(db)
        with pytest.raises(ValueError, match="naive"):
            await add_issue(db, company, started_at=datetime(2026, 1, 1, 12, 0))

    async def test_orders_by_time_across_offsets(self, db: Database) -> None:
        company = await add_company(db)
        base = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        moments = {
            "a": base - timedelta(microseconds=1),
            "b": base.astimezone(timezone(timedelta(hours=-8))),
            "c": (base + timedelta(microseconds=1)).astimezone(timezone(timedelta(hours=9))),
            "d": base + timedelta(days=400),
            "e": base - timedelta(days=400),
        }
        for title, moment in moments.items():
            await add_issue(db, company, title=title, started_at=moment)
        async with db.read() as session:
            ordered = (
                await session.scalars(sa.select(Issue.title).order_by(Issue.started_at))
            ).all()
            later = (
                await session.scalars(
                    sa.select(Issue.title).where(Issue.started_at > base).order_by(Issue.title)
                )
            ).all()
        assert ordered == ["e", "a", "b", "c", "d"]
        assert later == ["c", "d"]

    async def test_server_default_now_uses_the_storage_format(self, db: Database) -> None:
        company = await add_company(db)
        before = datetime.now(UTC) - timedelta(seconds=1)
        async with db.transaction() as session:
            await session.execute(
                sa.text("INSERT INTO labels (company_id, name, color) VALUES (:c, 'bug', 'red')"),
                {"c": str(company.id)},
            )
        async with db.read() as session:
            raw = await session.scalar(sa.text("SELECT CAST(created_at AS TEXT) FROM labels"))
            typed = await session.scalar(
                sa.select(
                    sa.column("created_at", type_=Issue.__table__.c.created_at.type)
                ).select_from(sa.table("labels"))
            )
        assert before <= typed <= datetime.now(UTC) + timedelta(seconds=1)
        if db.dialect == "sqlite":
            # Fixed width, so text order is time order.
            assert len(raw) == 32
            assert from_sqlite_timestamp(raw).strftime(SQLITE_TIMESTAMP_FORMAT) == raw


class TestCaseSensitiveLike:
    async def test_like_matches_case_as_postgres_does(self, db: Database) -> None:
        company = await add_company(db)
        await add_issue(db, company, title="Deploy")
        async with db.read() as session:
            sensitive = await session.scalar(
                sa.select(sa.func.count()).where(Issue.title.like("deploy%"))
            )
            exact = await session.scalar(sa.select(sa.func.count()).where(Issue.title.like("De%")))
            insensitive = await session.scalar(
                sa.select(sa.func.count()).where(Issue.title.ilike("deploy%"))
            )
        assert (sensitive, exact, insensitive) == (0, 1, 1)


@pytest.fixture
async def plugin_id(db: Database) -> uuid.UUID:
    from db.models import Plugin

    plugin = Plugin(
        plugin_key="acme.test", package_name="acme-test", version="1.0.0", manifest_json={}
    )
    async with db.transaction() as session:
        session.add(plugin)
    return plugin.id


def _activity(company_id: uuid.UUID, *, details: object) -> ActivityLog:
    return ActivityLog(
        company_id=company_id,
        actor_id="test",
        action="test.done",
        entity_type="test",
        entity_id="1",
        details=details,
    )
