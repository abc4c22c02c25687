"""A plugin's log volume is bounded (core/plugin_logs.py): so many lines per second with a
burst, the excess dropped and counted; so many lines kept, the oldest deleted and counted."""

from __future__ import annotations

import sqlalchemy as sa

from core.plugin_logs import (
    ENVIRONMENT,
    LogBuffer,
    LogLine,
    PluginLogSettings,
    deleted_lines_marker,
    list_logs,
)
from core.plugin_registry import register_plugin
from db import Database, tables
from tests.fixtures.plugin_database import manifest


async def _plugin(db: Database, key: str = "paperclip.log-limits") -> str:
    return (await register_plugin(db, manifest(key), package_name=key, package_path=None)).id


async def _rows(db: Database, plugin_id: str) -> list[tuple[str, str, dict | None]]:
    logs = tables.plugin_logs
    query = (
        sa.select(logs.c.level, logs.c.message, logs.c.meta)
        .where(logs.c.plugin_id == plugin_id)
        .order_by(logs.c.created_at.desc(), logs.c.id.desc())
    )
    async with db.read() as session:
        return [tuple(row) for row in (await session.execute(query)).all()]


def test_settings_come_from_the_environment() -> None:
    settings = PluginLogSettings.from_env(
        {
            "SANDBOX_PLUGIN_LOG_LINES_PER_SECOND": "5",
            "SANDBOX_PLUGIN_LOG_BURST": "7",
            "SANDBOX_PLUGIN_LOG_MAX_ROWS": "9",
        }
    )
    assert (settings.lines_per_second, settings.burst, settings.max_rows) == (5.0, 7, 9)
    assert PluginLogSettings.from_env({}) == PluginLogSettings()
    assert set(ENVIRONMENT) == set(PluginLogSettings.model_fields)


async def test_a_flood_past_the_burst_is_dropped_and_counted(db: Database) -> None:
    flooder, bystander = await _plugin(db), await _plugin(db, "paperclip.bystander")
    settings = PluginLogSettings(lines_per_second=0.001, burst=20, max_rows=1_000)
    buffer = LogBuffer(db, flush_interval=3600, settings=settings)
    for n in range(5_000):
        buffer.add(LogLine(flooder, "info", f"flood {n}"))
    buffer.add(LogLine(bystander, "info", "still heard"))
    buffer.add_host_line(LogLine(flooder, "error", "Worker crashed"))
    await buffer.flush()

    rows = await _rows(db, flooder)
    assert len(rows) == 20 + 2  # the burst, the host's line, the marker
    assert [message for _, message, _ in rows if message.startswith("flood")] == [
        f"flood {n}" for n in reversed(range(20))
    ]
    marker = next(row for row in rows if "dropped" in row[1])
    assert marker == (
        "warn",
        "4980 log lines dropped: over the limit of 0.001 lines per second, bursts of 20"
        " (SANDBOX_PLUGIN_LOG_LINES_PER_SECOND, SANDBOX_PLUGIN_LOG_BURST)",
        {"droppedLines": 4980},
    )
    assert ("error", "Worker crashed", None) in rows
    assert [line.message for line in await list_logs(db, bystander)] == ["still heard"]


async def test_only_the_newest_lines_are_kept_with_one_row_counting_the_rest(
    db: Database,
) -> None:
    plugin = await _plugin(db)
    settings = PluginLogSettings(burst=10_000, max_rows=50)
    buffer = LogBuffer(db, batch_size=40, flush_interval=3600, settings=settings)
    for n in range(300):
        buffer.add(LogLine(plugin, "info", f"line {n}"))
    await buffer.flush()

    rows = await _rows(db, plugin)
    assert len(rows) == 50 + 1
    assert [message for _, message, _ in rows[:50]] == [f"line {n}" for n in range(299, 249, -1)]
    assert rows[50] == (
        "warn",
        "250 older log lines deleted: over the limit of 50 lines kept per plugin"
        " (SANDBOX_PLUGIN_LOG_MAX_ROWS)",
        {"deletedLines": 250},
    )
    listed = await list_logs(db, plugin, limit=500)
    assert str(listed[-1].id) == deleted_lines_marker(plugin)  # the reader sees it last
