"""A plugin's log lines in ``plugin_logs``: ``ctx.logger``, metrics, and the worker's stderr.

Upstream persists only ``metrics.write`` and the request form of ``log`` (which its SDK never
sends); ``ctx.logger`` lines reach only the server's process log. We persist every one of them,
with upstream's limits: a message is cut at 10,000 characters, a metric name at 500, and a
``meta`` object whose JSON exceeds 50,000 characters is replaced by a note saying so. Lines are
buffered and written in batches (at 100 lines, or ``flush_interval`` seconds after the first).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import StrictFloat, StrictInt

from core import records
from core.errors import InvalidInput
from core.params import WireParams
from core.write_behind import WriteBehind
from db import Database, tables
from db.constants import PLUGIN_LOG_LEVELS

MAX_MESSAGE_CHARS = 10_000
MAX_METRIC_NAME_CHARS = 500
MAX_META_JSON_CHARS = 50_000
#: ``GET /api/plugins/:id/logs``: 25 lines unless asked, at most 500.
DEFAULT_LIST_LIMIT = 25
MAX_LIST_LIMIT = 500


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


async def write_lines(db: Database, lines: Sequence[LogLine]) -> None:
    """Insert lines in one statement."""
    if lines:
        async with db.transaction() as session:
            await session.execute(sa.insert(tables.plugin_logs), [line.to_row() for line in lines])


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


class LogBuffer(WriteBehind[list[LogLine]]):
    """Collects lines and writes them in batches (at ``batch_size`` lines, or
    ``flush_interval`` seconds after the first); ``flush()`` writes what is waiting now.

    A failed write is logged and its lines dropped: a plugin's log volume must never take the
    host down, and the worker keeps running.
    """

    def __init__(self, db: Database, *, batch_size: int = 100, flush_interval: float = 1.0) -> None:
        super().__init__(flush_interval=flush_interval)
        self._db = db
        self._batch_size = batch_size
        self._pending: list[LogLine] = []

    def add(self, line: LogLine) -> None:
        self._pending.append(line)
        if len(self._pending) >= self._batch_size:
            self.write_now()
        else:
            self._pending_grew()

    def _take(self) -> list[LogLine] | None:
        batch, self._pending = self._pending, []
        return batch or None

    async def _store(self, batch: list[LogLine]) -> None:
        await write_lines(self._db, batch)
