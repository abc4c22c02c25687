"""A plugin's log lines in ``plugin_logs``: ``ctx.logger``, metrics, and the worker's stderr.

Upstream persists only ``metrics.write`` and the request form of ``log`` (which its SDK never
sends); ``ctx.logger`` lines reach only the server's process log. We persist every one of them,
with upstream's limits: a message is cut at 10,000 characters, a metric name at 500, and a
``meta`` object whose JSON exceeds 50,000 characters is replaced by a note saying so. Lines are
buffered and written in batches (at 100 lines, or ``flush_interval`` seconds after the first),
one batch at a time.

Beyond upstream, a plugin cannot flood the host with lines (``PluginLogSettings``): its lines
pass a token bucket (so many per second, with a burst), the excess is dropped and counted in a
line "N log lines dropped", and only its newest ``max_rows`` lines are kept, the older ones
deleted and counted in one row below them, "N older log lines deleted".
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import Field, StrictFloat, StrictInt

from core import records
from core.errors import InvalidInput
from core.params import WireParams
from core.settings import EnvironmentSettings
from core.unit_of_work import UnitOfWork, write
from core.write_behind import WriteBehind
from db import Database, tables
from db.constants import PLUGIN_LOG_LEVELS

MAX_MESSAGE_CHARS = 10_000
MAX_METRIC_NAME_CHARS = 500
MAX_META_JSON_CHARS = 50_000
#: ``GET /api/plugins/:id/logs``: 25 lines unless asked, at most 500.
DEFAULT_LIST_LIMIT = 25
MAX_LIST_LIMIT = 500

#: Environment variables that override the defaults, by setting name.
ENVIRONMENT = {
    "lines_per_second": "SANDBOX_PLUGIN_LOG_LINES_PER_SECOND",
    "burst": "SANDBOX_PLUGIN_LOG_BURST",
    "max_rows": "SANDBOX_PLUGIN_LOG_MAX_ROWS",
}


class PluginLogSettings(EnvironmentSettings):
    """How many lines a plugin may log, and how many of them are kept."""

    ENVIRONMENT = ENVIRONMENT

    #: Lines per second a plugin's bucket refills with; lines beyond it are dropped.
    lines_per_second: float = Field(default=100.0, gt=0)
    #: Lines a plugin may log at once before the rate applies (the bucket's size).
    burst: int = Field(default=1_000, gt=0)
    #: Lines kept per plugin; older ones are deleted.
    max_rows: int = Field(default=10_000, gt=0)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line to store."""

    plugin_id: str
    level: str
    message: str
    meta: Mapping[str, Any] | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_row(self) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "plugin_id": self.plugin_id,
            "level": self.level,
            "message": self.message[:MAX_MESSAGE_CHARS],
            "meta": _bounded_meta(self.meta),
            "created_at": self.created_at,
        }


def _bounded_meta(meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if meta is None:
        return None
    try:
        text = json.dumps(meta, default=str)
    except ValueError:  # a cycle
        return {"truncated": True, "reason": "meta is not serializable"}
    if len(text) > MAX_META_JSON_CHARS:
        return {"truncated": True, "originalLength": len(text)}
    return json.loads(text)


class LogMessage(WireParams):
    """A ``log`` message of a worker: ``{level, message, meta?}``, stored leniently (an unknown
    level as ``info``, a non-string message as its JSON text, a non-object ``meta`` dropped)."""

    level: Any = None
    message: Any = None
    meta: Any = None


class Metric(WireParams):
    """A ``metrics.write`` call: ``{name, value, tags?}``."""

    messages: ClassVar[Mapping[str, str]] = {
        "name": "Metric name must be a non-empty string",
        "value": "Metric value must be a number",
        "tags": "Metric tags must be an object",
    }

    name: str = ""
    value: StrictInt | StrictFloat
    tags: dict[str, Any] | None = None


def log_line(plugin_id: str, params: LogMessage) -> LogLine:
    """A ``log`` message as a line to store."""
    level, message, meta = params.level, params.message, params.meta
    return LogLine(
        plugin_id=plugin_id,
        level=level if level in PLUGIN_LOG_LEVELS else "info",
        message=message if isinstance(message, str) else json.dumps(message, default=str),
        meta=meta if isinstance(meta, Mapping) else None,
    )


def metric_line(plugin_id: str, params: Metric) -> LogLine:
    """A ``metrics.write`` call as a ``metric`` line."""
    if not params.name:
        raise InvalidInput("Metric name must be a non-empty string")
    return LogLine(
        plugin_id=plugin_id,
        level="metric",
        message=params.name[:MAX_METRIC_NAME_CHARS],
        meta={"value": params.value, "tags": dict(params.tags or {})},
    )


async def write_lines(
    db: Database, lines: Sequence[LogLine], *, max_rows: int | None = None
) -> None:
    """Insert lines in one statement; with ``max_rows``, then keep only that many newest
    lines of each of their plugins (see ``deleted_lines_marker``)."""
    if not lines:
        return
    async with write(db, None) as unit:
        await unit.session.execute(sa.insert(tables.plugin_logs), [line.to_row() for line in lines])
        if max_rows is not None:
            for plugin_id in dict.fromkeys(line.plugin_id for line in lines):
                await _keep_newest(unit, plugin_id, max_rows)


def deleted_lines_marker(plugin_id: str) -> str:
    """The id of the one row that counts a plugin's deleted lines, just older than the
    oldest line kept, so that a reader paging back learns that older lines are gone."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"paperclip-sandbox:plugin-logs:{plugin_id}"))


async def _keep_newest(unit: UnitOfWork, plugin_id: str, max_rows: int) -> None:
    session, logs, marker = unit.session, tables.plugin_logs, deleted_lines_marker(plugin_id)
    newest_first = (
        sa.select(logs.c.id, logs.c.created_at)
        .where(logs.c.plugin_id == plugin_id, logs.c.id != marker)
        .order_by(logs.c.created_at.desc(), logs.c.id.desc())
    )
    edge = (await session.execute(newest_first.offset(max_rows - 1).limit(2))).all()
    if len(edge) < 2:
        return
    doomed = newest_first.with_only_columns(logs.c.id).offset(max_rows)
    deleted = (await session.execute(sa.delete(logs).where(logs.c.id.in_(doomed)))).rowcount
    previous = (await session.execute(sa.select(logs.c.meta).where(logs.c.id == marker))).first()
    if previous is not None and isinstance(previous.meta, dict):
        deleted += int(previous.meta.get("deletedLines") or 0)
    row = {
        "level": "warn",
        "message": (
            f"{deleted} older log lines deleted: over the limit of {max_rows} lines kept per"
            f" plugin ({ENVIRONMENT['max_rows']})"
        ),
        "meta": {"deletedLines": deleted},
        "created_at": edge[0].created_at - timedelta(microseconds=1),
    }
    if previous is None:
        await session.execute(sa.insert(logs).values(id=marker, plugin_id=plugin_id, **row))
    else:
        await session.execute(sa.update(logs).where(logs.c.id == marker).values(**row))


async def list_logs(
    db: Database,
    plugin_id: str,
    *,
    limit: int = DEFAULT_LIST_LIMIT,
    level: str | None = None,
    since: datetime | None = None,
) -> list[records.PluginLogRecord]:
    """The plugin's newest lines first (``limit`` capped at 500)."""
    logs = tables.plugin_logs
    query = (
        sa.select(logs)
        .where(logs.c.plugin_id == plugin_id)
        .order_by(logs.c.created_at.desc(), logs.c.id.desc())
        .limit(max(1, min(limit, MAX_LIST_LIMIT)))
    )
    if level is not None:
        query = query.where(logs.c.level == level)
    if since is not None:
        query = query.where(logs.c.created_at >= since)
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    return [records.PluginLogRecord.model_validate(row) for row in rows]


@dataclass(slots=True)
class _Bucket:
    """A plugin's allowance of lines: ``tokens`` left at ``refilled_at`` (monotonic)."""

    tokens: float
    refilled_at: float


class LogBuffer(WriteBehind[list[LogLine]]):
    """Collects lines and writes them in batches (at ``batch_size`` lines, or
    ``flush_interval`` seconds after the first), one batch at a time, so that a flood never
    queues transactions ahead of the host's own writes; ``flush()`` writes what is waiting now.

    A plugin's lines (``add``) pass its bucket of ``settings``; lines the host writes about a
    plugin (``add_host_line``: crashes, reloads) always pass. A failed write is logged and its
    lines dropped: a plugin's log volume must never take the host down, and the worker keeps
    running.
    """

    def __init__(
        self,
        db: Database,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        settings: PluginLogSettings | None = None,
    ) -> None:
        super().__init__(flush_interval=flush_interval)
        self._db = db
        self._batch_size = batch_size
        self.settings = settings or PluginLogSettings.from_env()
        self._pending: list[LogLine] = []
        self._buckets: dict[str, _Bucket] = {}
        self._dropped: Counter[str] = Counter()
        self._writing = asyncio.Lock()

    def add(self, line: LogLine) -> None:
        """A line the plugin wrote; over its rate it is dropped and counted."""
        if self._allowed(line.plugin_id):
            self.add_host_line(line)
        else:
            self._dropped[line.plugin_id] += 1
            self._pending_grew()  # the count goes out with the next batch

    def add_host_line(self, line: LogLine) -> None:
        """A line the host writes about a plugin: never rate limited."""
        self._pending.append(line)
        if len(self._pending) >= self._batch_size:
            self.write_now()
        else:
            self._pending_grew()

    def _allowed(self, plugin_id: str) -> bool:
        settings, now = self.settings, time.monotonic()
        bucket = self._buckets.get(plugin_id)
        if bucket is None:
            bucket = self._buckets[plugin_id] = _Bucket(float(settings.burst), now)
        refill = (now - bucket.refilled_at) * settings.lines_per_second
        bucket.tokens, bucket.refilled_at = min(settings.burst, bucket.tokens + refill), now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _take(self) -> list[LogLine] | None:
        batch, self._pending = self._pending, []
        settings = self.settings
        for plugin_id, count in self._dropped.items():
            message = (
                f"{count} log lines dropped: over the limit of {settings.lines_per_second:g}"
                f" lines per second, bursts of {settings.burst} ({ENVIRONMENT['lines_per_second']},"
                f" {ENVIRONMENT['burst']})"
            )
            batch.append(LogLine(plugin_id, "warn", message, {"droppedLines": count}))
        self._dropped.clear()
        return batch or None

    async def _store(self, batch: list[LogLine]) -> None:
        async with self._writing:
            await write_lines(self._db, batch, max_rows=self.settings.max_rows)
