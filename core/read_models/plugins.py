"""Installed plugins at a glance, and their log lines newest first.

The overview gives what a reviewer checks first: status, version and last error, how busy the
plugin is (its activity rows per minute), how many warnings and errors it logged in the last
day, and how many of its calls the host refused (``core.capability_usage``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from core.ids import as_uuid
from core.read_models.pages import DEFAULT_PAGE_ROWS, Cursor, Page, read_page
from db import Database, any_of, tables
from db.types import TimeBucket

#: Minutes of activity the overview counts, newest last.
ACTIVITY_MINUTES = 15
#: How far back the overview counts warnings and errors.
LOG_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class PluginOverview:
    """One installed plugin as a reviewer first sees it."""

    id: str
    key: str
    display_name: str
    version: str
    status: str
    last_error: str | None
    updated_at: datetime
    #: Activity rows per minute over the last ``ACTIVITY_MINUTES`` minutes, oldest first.
    activity_per_minute: tuple[int, ...]
    #: Warning and error lines logged in the last ``LOG_WINDOW``.
    warn_count: int
    error_count: int
    last_log_at: datetime | None
    #: Worker-to-host calls the host refused (capability or company scope), ever.
    refused_calls: int

    @property
    def activity_rate(self) -> float:
        """Activity rows per minute over the last five minutes."""
        recent = self.activity_per_minute[-5:]
        return sum(recent) / len(recent) if recent else 0.0


async def plugin_overviews(
    db: Database, *, company_id: str | None = None, now: datetime | None = None
) -> list[PluginOverview]:
    """Every installed plugin (uninstalled ones too), in install order.

    ``company_id`` narrows the activity counted to one company.
    """
    plugins, log, logs = tables.plugins, tables.activity_log, tables.plugin_logs
    usage = tables.plugin_capability_usage
    end = now or datetime.now(UTC)
    activity_start = end - timedelta(minutes=ACTIVITY_MINUTES)
    last_log = (
        sa.select(sa.func.max(logs.c.created_at))
        .where(logs.c.plugin_id == plugins.c.id)
        .scalar_subquery()
    )
    plugin_query = sa.select(plugins, last_log.label("last_log_at")).order_by(
        plugins.c.install_order, plugins.c.installed_at
    )
    bucket = TimeBucket(log.c.created_at, activity_start, 60).label("bucket")
    activity_conditions = [
        log.c.actor_type == "plugin",
        log.c.created_at >= activity_start,
        log.c.created_at <= end,
    ]
    if company_id is not None:
        activity_conditions.append(log.c.company_id == as_uuid(company_id))
    activity_query = (
        sa.select(log.c.actor_id, bucket, sa.func.count().label("rows"))
        .where(*activity_conditions)
        .group_by(log.c.actor_id, bucket)
    )
    log_query = (
        sa.select(logs.c.plugin_id, logs.c.level, sa.func.count().label("lines"))
        .where(logs.c.created_at >= end - LOG_WINDOW, logs.c.level.in_(("warn", "error")))
        .group_by(logs.c.plugin_id, logs.c.level)
    )
    refused_query = sa.select(
        usage.c.plugin_id,
        sa.func.sum(usage.c.denied_count + usage.c.out_of_scope_count).label("refused"),
    ).group_by(usage.c.plugin_id)
    async with db.read() as session:
        rows = (await session.execute(plugin_query)).mappings().all()
        activity = (await session.execute(activity_query)).all()
        log_counts = (await session.execute(log_query)).all()
        refused = dict((await session.execute(refused_query)).all())
    per_minute: dict[str, list[int]] = {}
    for actor_id, minute, count in activity:
        series = per_minute.setdefault(str(actor_id), [0] * ACTIVITY_MINUTES)
        series[min(max(int(minute), 0), ACTIVITY_MINUTES - 1)] += count
    lines = {(str(plugin_id), level): count for plugin_id, level, count in log_counts}
    overviews = []
    for row in rows:
        plugin_id = str(row["id"])
        manifest = row["manifest_json"] or {}
        overviews.append(
            PluginOverview(
                id=plugin_id,
                key=row["plugin_key"],
                display_name=str(manifest.get("displayName") or row["plugin_key"]),
                version=row["version"],
                status=row["status"],
                last_error=row["last_error"],
                updated_at=row["updated_at"],
                activity_per_minute=tuple(per_minute.get(plugin_id, [0] * ACTIVITY_MINUTES)),
                warn_count=lines.get((plugin_id, "warn"), 0),
                error_count=lines.get((plugin_id, "error"), 0),
                last_log_at=row["last_log_at"],
                refused_calls=int(refused.get(row["id"], 0) or 0),
            )
        )
    return overviews


@dataclass(frozen=True, slots=True)
class LogRow:
    """One stored log line of a plugin."""

    id: str
    plugin_id: str
    level: str
    message: str
    meta_json: str
    created_at: datetime

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.created_at, self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pluginId": self.plugin_id,
            "level": self.level,
            "message": self.message,
            "meta": json.loads(self.meta_json),
            "createdAt": self.created_at.isoformat(),
        }


def log_row(row: Mapping[str, Any]) -> LogRow:
    """A ``plugin_logs`` row (a mapping of its columns) as a ``LogRow``."""
    return LogRow(
        id=str(row["id"]),
        plugin_id=str(row["plugin_id"]),
        level=row["level"],
        message=row["message"],
        meta_json=json.dumps(row["meta"], sort_keys=True, separators=(",", ":"), default=str),
        created_at=row["created_at"],
    )


async def log_tail(
    db: Database,
    plugin_ids: Sequence[str] | None = None,
    *,
    levels: Sequence[str] | None = None,
    before: Cursor | None = None,
    limit: int = DEFAULT_PAGE_ROWS,
) -> Page[LogRow]:
    """Log lines of the plugins (all plugins when None), newest first."""
    logs = tables.plugin_logs
    conditions: list[sa.ColumnElement[bool]] = []
    if plugin_ids is not None:
        wanted = [as_uuid(plugin_id) for plugin_id in plugin_ids]
        conditions.append(any_of(db.dialect, logs.c.plugin_id, [w for w in wanted if w]))
    if levels is not None:
        conditions.append(logs.c.level.in_(list(levels)))
    return await read_page(
        db,
        sa.select(logs).where(*conditions),
        newest_first=(logs.c.created_at, logs.c.id),
        before=before,
        limit=limit,
        item=log_row,
        cursor=lambda row: row.cursor,
    )
