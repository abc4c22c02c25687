"""Hosts sharing a database: registration, beats, stop, and who counts as live or dead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.hosts import (
    beat,
    find_dead_hosts,
    get_host,
    list_live_hosts,
    register_host,
    stop_host,
)
from db import Database

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
BOUND = timedelta(seconds=30)


async def _host(db: Database, name: str, at: datetime = T0):
    return await register_host(db, hostname=name, pid=4242, url=f"http://{name}:3100", now=at)


async def test_register_stores_the_host_and_its_first_beat(db: Database) -> None:
    host = await _host(db, "alpha")

    stored = await get_host(db, host.id)

    assert stored == host
    assert (stored.hostname, stored.pid, stored.url) == ("alpha", 4242, "http://alpha:3100")
    assert stored.started_at == stored.heartbeat_at == T0
    assert stored.stopped_at is None


async def test_live_and_dead_follow_the_last_beat(db: Database) -> None:
    alpha = await _host(db, "alpha")
    beta = await _host(db, "beta")

    assert await beat(db, alpha.id, now=T0 + timedelta(seconds=25))
    now = T0 + timedelta(seconds=40)

    assert [h.id for h in await list_live_hosts(db, now=now, dead_after=BOUND)] == [alpha.id]
    assert [h.id for h in await find_dead_hosts(db, now=now, dead_after=BOUND)] == [beta.id]
    assert (await get_host(db, alpha.id)).heartbeat_at == T0 + timedelta(seconds=25)


async def test_exactly_at_the_bound_a_host_is_still_live(db: Database) -> None:
    alpha = await _host(db, "alpha")

    now = T0 + BOUND

    assert [h.id for h in await list_live_hosts(db, now=now, dead_after=BOUND)] == [alpha.id]
    assert await find_dead_hosts(db, now=now, dead_after=BOUND) == []


async def test_a_stopped_host_is_neither_live_nor_dead_and_beats_no_more(db: Database) -> None:
    alpha = await _host(db, "alpha")

    assert await stop_host(db, alpha.id, now=T0 + timedelta(seconds=5))

    stored = await get_host(db, alpha.id)
    assert stored.stopped_at == T0 + timedelta(seconds=5)
    assert await list_live_hosts(db, now=T0 + timedelta(seconds=6), dead_after=BOUND) == []
    assert await find_dead_hosts(db, now=T0 + timedelta(hours=1), dead_after=BOUND) == []
    assert not await beat(db, alpha.id, now=T0 + timedelta(seconds=7))
    assert not await stop_host(db, alpha.id, now=T0 + timedelta(seconds=8))


async def test_beating_an_unknown_host_reports_false(db: Database) -> None:
    assert not await beat(db, "00000000-0000-4000-8000-000000000000", now=T0)
