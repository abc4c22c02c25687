"""Plugin log lines (core/plugin_logs.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InvalidInput
from core.plugin_logs import (
    MAX_MESSAGE_CHARS,
    LogBuffer,
    LogLine,
    LogMessage,
    Metric,
    list_logs,
    log_line,
    metric_line,
    write_lines,
)
from core.plugin_registry import register_plugin
from db import Database
from tests.fixtures.plugin_database import manifest


async def _plugin(db: Database) -> str:
    key = "paperclip.logs-test"
    return (await register_plugin(db, manifest(key), package_name=key, package_path=None)).id


def test_log_messages_become_lines_with_upstreams_limits() -> None:
    line = log_line("p", LogMessage(level="warn", message="x" * 20_000, meta={"a": 1}))
    row = line.to_row()
    assert (row["level"], len(row["message"]), row["meta"]) == ("warn", MAX_MESSAGE_CHARS, {"a": 1})

    odd = log_line("p", LogMessage(level="metric", message={"not": "text"}, meta="nope"))
    assert (odd.level, odd.message, odd.meta) == ("info", '{"not": "text"}', None)

    huge = LogLine("p", "info", "m", {"blob": "y" * 60_000}).to_row()
    assert huge["meta"] == {"truncated": True, "originalLength": 60_012}


def test_metrics_are_metric_lines() -> None:
    line = metric_line("p", Metric(name="n" * 600, value=2.5, tags={"env": "dev"}))
    assert (line.level, len(line.message), line.meta) == (
        "metric",
        500,
        {"value": 2.5, "tags": {"env": "dev"}},
    )
    for params, message in [
        ({"value": 1}, "Metric name must be a non-empty string"),
        ({"name": "n", "value": "1"}, "Metric value must be a number"),
        ({"name": "n", "value": True}, "Metric value must be a number"),
        ({"name": "n", "value": 1, "tags": []}, "Metric tags must be an object"),
    ]:
        with pytest.raises(InvalidInput, match=f"^{message}$"):
            metric_line("p", Metric.model_validate(params))


async def test_lines_are_listed_newest_first_with_filters(db: Database) -> None:
    plugin = await _plugin(db)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await write_lines(
        db,
        [
            LogLine(plugin, "info" if n % 2 else "error", f"line {n}", None, start + timedelta(n))
            for n in range(6)
        ],
    )

    assert [line.message for line in await list_logs(db, plugin, limit=3)] == [
        "line 5",
        "line 4",
        "line 3",
    ]
    errors = await list_logs(db, plugin, level="error")
    assert [line.message for line in errors] == ["line 4", "line 2", "line 0"]
    recent = await list_logs(db, plugin, since=start + timedelta(4))
    assert [line.message for line in recent] == ["line 5", "line 4"]
    assert len(await list_logs(db, plugin, limit=10_000)) == 6


async def _eventually_count(db: Database, plugin: str, count: int) -> None:
    for _ in range(100):
        if len(await list_logs(db, plugin)) == count:
            return
        await asyncio.sleep(0.02)
    assert len(await list_logs(db, plugin)) == count


async def test_a_full_batch_is_written_without_waiting_for_the_timer(db: Database) -> None:
    plugin = await _plugin(db)
    buffer = LogBuffer(db, batch_size=3, flush_interval=3600)
    for n in range(4):
        buffer.add(LogLine(plugin, "info", f"line {n}"))

    await _eventually_count(db, plugin, 3)
    await buffer.flush()
    assert len(await list_logs(db, plugin)) == 4


async def test_a_partial_batch_is_written_by_the_timer(db: Database) -> None:
    plugin = await _plugin(db)
    buffer = LogBuffer(db, batch_size=100, flush_interval=0.5)
    buffer.add(LogLine(plugin, "info", "timed"))
    assert await list_logs(db, plugin) == []

    await _eventually_count(db, plugin, 1)
