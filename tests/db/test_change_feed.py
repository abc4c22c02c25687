"""The change feed (db/change_feed.py) on both backends, with the writes made by OTHER processes
(tests/fixtures/feed_writer.py): every committed change arrives once, rollbacks never."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.activity import record_activity
from core.plugin_registry import register_plugin
from core.unit_of_work import write
from db import Database, create_db
from db.change_feed import FOLLOWED, Change, ChangeFeed
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.outage import database_outage
from tests.fixtures.plugin_database import manifest

ROOT = Path(__file__).resolve().parents[2]


class Collector:
    """Iterates a feed in the background and keeps everything it delivered."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self.rows: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        self.batches: list[list[Change]] = []
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for batch in self.feed:
            self.batches.append(batch)
            for change in batch:
                self.rows[change.table].extend(change.rows)

    def ids(self, table: str) -> list[str]:
        return [str(row["id"]) for row in self.rows[table]]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout} s; status {self.feed.status}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


async def _write(db: Database, plan: Mapping[str, Any]) -> dict[str, Any]:
    """Run the plan in a separate process; returns what it committed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fixtures.feed_writer",
        _url(db),
        json.dumps(plan),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return json.loads(out)


@asynccontextmanager
async def following(db: Database, **options: Any) -> AsyncIterator[Collector]:
    viewer = create_db(_url(db), read_only=True)
    feed = ChangeFeed(viewer, **options)
    await feed.start()
    collector = Collector(feed)
    try:
        yield collector
    finally:
        await collector.stop()
        await feed.close()
        await viewer.dispose()


async def _plan(world: World) -> dict[str, Any]:
    record = await register_plugin(
        world.db, manifest("feed.writer"), package_name="feed.writer", package_path="/p"
    )
    return {"company_id": world.company_id, "agent_id": world.agent_id, "plugin_id": record.id}


def _in_groups(ids: list[str], size: int) -> list[set[str]]:
    return [set(ids[start : start + size]) for start in range(0, len(ids), size)]


async def test_every_committed_row_once_and_no_rolled_back_row(world: World) -> None:
    plan = await _plan(world)
    before = await _write(world.db, {**plan, "activity": [3, 2]})  # committed before: not seen
    async with following(world.db) as feed:
        transactions, per_transaction = 40, 3
        done = await _write(
            world.db, {**plan, "activity": [transactions, per_transaction], "rollbacks": 5}
        )
        await feed.wait_for(lambda: len(feed.ids("activity_log")) >= len(done["activity"]))
        await _write(world.db, {**plan, "activity": [1, 1]})  # a last one, to flush any straggler
        await feed.wait_for(lambda: len(feed.ids("activity_log")) > len(done["activity"]))

    seen = feed.ids("activity_log")
    assert Counter(seen).most_common(1)[0][1] == 1
    # in commit order; the rows of one transaction share its time, so among them any order
    assert _in_groups(seen[: len(done["activity"])], per_transaction) == _in_groups(
        done["activity"], per_transaction
    )
    assert not set(seen) & set(done["rolled_back"])
    assert not set(seen) & set(before["activity"])
    row = feed.rows["activity_log"][0]
    assert (row["action"], row["actor_id"]) == ("feed.wrote", "feed-writer")


async def test_two_writer_processes_at_once(world: World) -> None:
    plan = await _plan(world)
    async with following(world.db) as feed:
        first, second = await asyncio.gather(
            _write(world.db, {**plan, "activity": [60, 1], "rollbacks": 3}),
            _write(world.db, {**plan, "activity": [30, 2], "rollbacks": 3}),
        )
        committed = first["activity"] + second["activity"]
        await feed.wait_for(lambda: len(feed.ids("activity_log")) >= len(committed))
    seen = feed.ids("activity_log")
    assert sorted(seen) == sorted(committed)
    assert not set(seen) & set(first["rolled_back"] + second["rolled_back"])


async def test_each_version_of_a_changing_row_once(world: World) -> None:
    """Runs are queued, started and finished: three versions each, and the feed sees each
    version at most once, ending with the last."""
    plan = await _plan(world)
    async with following(world.db) as feed:
        done = await _write(world.db, {**plan, "runs": 4})
        finals = {run_id: datetime.fromisoformat(at) for run_id, at in done["runs"].items()}

        def finished() -> bool:
            latest = {str(row["id"]): row["updated_at"] for row in feed.rows["heartbeat_runs"]}
            return latest == finals

        await feed.wait_for(finished)
        await feed.wait_for(lambda: len(feed.ids("agent_wakeup_requests")) >= 4)
    versions = [(str(row["id"]), row["updated_at"]) for row in feed.rows["heartbeat_runs"]]
    assert len(versions) == len(set(versions))
    assert {str(row["status"]) for row in feed.rows["heartbeat_runs"]} <= {
        "queued",
        "running",
        "succeeded",
    }
    requests = feed.rows["agent_wakeup_requests"]
    assert {str(row["run_id"]) for row in requests if row["run_id"]} == set(finals)


async def test_a_statement_too_big_for_one_notice(world: World) -> None:
    """500 log lines in one INSERT: PostgreSQL's notice names only the table (the ids would
    pass its 8000-byte limit), and the feed reads the table's cursor instead."""
    plan = await _plan(world)
    async with following(world.db) as feed:
        done = await _write(world.db, {**plan, "bulk_logs": 500, "activity": [1, 1]})
        await feed.wait_for(lambda: len(feed.ids("plugin_logs")) >= 500)
        await feed.wait_for(lambda: len(feed.ids("activity_log")) >= 1)
    assert sorted(feed.ids("plugin_logs")) == sorted(done["logs"])


async def test_the_feed_follows_only_the_tables_asked_for(world: World) -> None:
    plan = await _plan(world)
    async with following(world.db, followed=["plugin_logs"]) as feed:
        await _write(world.db, {**plan, "activity": [2, 2], "bulk_logs": 3})
        await feed.wait_for(lambda: len(feed.ids("plugin_logs")) >= 3)
    assert set(feed.rows) == {"plugin_logs"}
    with pytest.raises(ValueError, match="cannot follow issues"):
        ChangeFeed(world.db, ["issues"])
    assert "activity_log" in FOLLOWED


async def _gap_rows(world: World, count: int) -> list[str]:
    """Rows written while the feed is away, on connections the test already holds (a new
    connection would be refused during a PostgreSQL outage)."""
    async with write(world.db, None) as unit:
        return [
            (
                await record_activity(
                    unit,
                    company_id=world.company_id,
                    actor_type="system",
                    actor_id="test",
                    action="during.the.gap",
                    entity_type="feed",
                    entity_id=str(number),
                )
            ).id
            for number in range(count)
        ]


async def test_the_feed_survives_the_database_going_away(backend: str, world: World) -> None:
    plan = await _plan(world)
    async with following(world.db) as feed:
        await _write(world.db, {**plan, "activity": [1, 1]})
        await feed.wait_for(lambda: len(feed.ids("activity_log")) == 1)
        async with database_outage(backend, world.db):
            await feed.wait_for(lambda: not feed.feed.status.live)
            assert feed.feed.status.error
            if backend == "postgres":  # committed while the feed is away
                gap = await _gap_rows(world, 3)
        if backend == "sqlite":  # once the file is back where the feed looks for it
            gap = await _gap_rows(world, 3)
        await feed.wait_for(lambda: len(feed.ids("activity_log")) >= 4)
        await feed.wait_for(lambda: feed.feed.status.live)
    after = feed.ids("activity_log")[1:]  # one transaction: one time, so in any order
    assert sorted(after) == sorted(gap)
    assert feed.feed.status.error is None


async def test_another_world_is_not_mixed_in(world: World) -> None:
    """Rows of every company arrive: filtering is the read models' job, not the feed's."""
    other = await make_world(world.db, name="Other")
    plan = await _plan(world)
    async with following(world.db) as feed:
        await _write(world.db, {**plan, "activity": [1, 1]})
        await _write(world.db, {**plan, "company_id": other.company_id, "activity": [1, 1]})
        await feed.wait_for(lambda: len(feed.ids("activity_log")) >= 2)
    companies = {str(row["company_id"]) for row in feed.rows["activity_log"]}
    assert companies == {world.company_id, other.company_id}
