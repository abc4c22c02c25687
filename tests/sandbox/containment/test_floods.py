"""Issue 14, section 2: a plugin that floods the host is bounded, and nobody else waits on it.

A flooding plugin (Python, and its twin on the published JS SDK) floods one way per test while
a bystander plugin's ``noop`` and the host's own ``issues.create`` are called one after another
until the flood ends (``sandbox.benchmarks.isolation.measure_flood``). Each flood must end with
an error naming the limit that stopped it, every bystander and host call must succeed, no host
call may wait anywhere near the flood's length, and the database keeps nothing of the flood.

The bounds asserted here are generous on purpose (a slow, shared CI machine); the figures
against the targets are ``sandbox bench isolation``'s job.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.companies import create_company
from core.host_services import build_host_services
from core.host_services.params import CreateIssue
from db import Database, tables
from sandbox.benchmarks.isolation import Flood, measure_flood
from sandbox.plugin_host import PluginHost
from sandbox.worker_process import WorkerTimings
from tests.fixtures.workers import ROOT, ensure_npm_installed

PLUGINS = ROOT / "fixtures" / "plugins"
FLOODERS = {"python": PLUGINS / "isolation-flood", "js": PLUGINS / "isolation-flood-js"}
MB = 1024 * 1024
#: No host call may wait this long while a plugin floods (the target is 1 s).
HOST_BOUND_MS = 3_000
#: Statement limits shortened so that an endless statement ends quickly.
SETTINGS = {
    "SANDBOX_PLUGIN_SQL_TIMEOUT_MS": "1000",
    "SANDBOX_PLUGIN_MIGRATION_TIMEOUT_MS": "2000",
}


@dataclass
class Flooded:
    """A host running the bystander and the flooder, and a company to write in."""

    host: PluginHost
    db: Database
    flooder_id: str
    bystander_id: str
    company_id: str

    async def flood(
        self, action: str | None, params: dict[str, Any], *, install: Path | None = None
    ) -> dict[str, Any]:
        services = build_host_services(self.db, str(uuid.uuid4()), "tests.floods")

        async def start(flood: Flood) -> object:
            if install is not None:
                return await self.host.install(install)
            return await self.host.perform_action(
                self.flooder_id, action, params, company_id=self.company_id
            )

        async def noop() -> object:
            return await self.host.perform_action(self.bystander_id, "noop", {"n": 1})

        async def create() -> object:
            return await services.issues.create(
                CreateIssue(company_id=self.company_id, title="Created during a flood")
            )

        return await measure_flood(Flood(str(action), "test"), start, noop, create)

    async def count(self, query: sa.Select[Any]) -> int:
        async with self.db.read() as session:
            return int((await session.execute(query)).scalar_one())

    async def flooder_rows(self) -> int:
        access = await self.host.plugin_db.access(self.flooder_id)
        rows = await self.host.plugin_db.query(
            access, f"SELECT count(*) AS n FROM {access.namespace}.rows"
        )
        return int(rows[0]["n"])


@pytest.fixture(params=sorted(FLOODERS))
def flooder(request: pytest.FixtureRequest) -> Path:
    if request.param == "js":
        ensure_npm_installed(FLOODERS["js"])
    return FLOODERS[request.param]


@pytest.fixture
async def flooded(
    db: Database, flooder: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Flooded]:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    company = await create_company(db, name="Flooded")
    timings = WorkerTimings(call=WorkerTimings().max_call)
    async with PluginHost(db, timings=timings) as host:
        bystander = await host.install(PLUGINS / "bench-python")
        flooding = await host.install(flooder)
        await host.activate(bystander.id)
        await host.activate(flooding.id)
        yield Flooded(host, db, flooding.id, bystander.id, company.id)


def assert_nobody_waited(row: dict[str, Any]) -> None:
    assert row["host_create_max_ms"] < HOST_BOUND_MS, row
    assert row["bystander_p99_ms"] < HOST_BOUND_MS, row


async def test_a_huge_sql_text_is_refused_naming_its_limit(flooded: Flooded) -> None:
    row = await flooded.flood("sql-text", {"bytes": MB // 2, "repeat": 3})

    assert "SANDBOX_PLUGIN_SQL_MAX_TEXT_BYTES" in row["ended"], row
    assert_nobody_waited(row)


async def test_endless_writes_are_stopped_and_leave_nothing(flooded: Flooded) -> None:
    row = await flooded.flood("long-writes", {"count": 6})

    assert row["ended"].startswith("6 x "), row
    assert "SANDBOX_PLUGIN_SQL" in row["ended"], row
    assert_nobody_waited(row)
    assert await flooded.flooder_rows() == 0


async def test_endless_reads_do_not_take_the_hosts_connections(flooded: Flooded) -> None:
    row = await flooded.flood("slow-reads", {"count": 24})

    assert "SANDBOX_PLUGIN_SQL" in row["ended"], row
    assert_nobody_waited(row)


async def test_a_log_flood_keeps_a_bounded_number_of_rows_and_says_what_it_dropped(
    flooded: Flooded,
) -> None:
    row = await flooded.flood("logs", {"lines": 50_000})
    await flooded.host.logs.flush()

    assert_nobody_waited(row)
    logs = tables.plugin_logs
    mine = sa.select(sa.func.count()).where(logs.c.plugin_id == flooded.flooder_id)
    stored = await flooded.count(mine)
    assert 0 < stored < 50_000
    dropped = mine.where(logs.c.message.contains("lines dropped"))
    assert await flooded.count(dropped) >= 1


async def test_requests_past_the_in_flight_limit_are_refused_at_once(flooded: Flooded) -> None:
    row = await flooded.flood("unread-requests", {"count": 5_000})

    assert "SANDBOX_PLUGIN_MAX_IN_FLIGHT" in row["ended"], row
    assert_nobody_waited(row)


async def test_an_endless_migration_fails_without_holding_the_hosts_writes(
    flooded: Flooded,
) -> None:
    row = await flooded.flood(None, {}, install=PLUGINS / "isolation-migration")

    assert "SANDBOX_PLUGIN_MIGRATION_" in row["ended"], row
    assert_nobody_waited(row)
    failed = tables.plugin_migrations
    assert await flooded.count(sa.select(sa.func.count()).where(failed.c.status == "failed")) == 1
