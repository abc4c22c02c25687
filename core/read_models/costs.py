"""Cost roll-ups: a company's cost events over a window, grouped four ways, in time buckets.

Groupings: by billing code (what plugins use for missions, which Paperclip's own UI does not
break down), by agent, by issue subtree (each top-level issue with everything below it), and by
plugin (the issues a plugin created, by their ``plugin:<key>`` origin). Every group carries
its totals over the window and the cents of each of ``BUCKETS`` equal intervals, oldest first,
so a viewer can show interval deltas as well as cumulative figures.

Events are placed by ``occurred_at`` (when the model call happened), as upstream's reports do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa

from core import records
from core.ids import as_uuid
from core.summaries import open_budget_incidents
from core.unit_of_work import read
from db import Database, tables
from db.types import TimeBucket

CostGrouping = Literal["billing_code", "agent", "issue_subtree", "plugin"]
CostWindow = Literal["1h", "24h", "7d", "all"]

GROUPINGS: tuple[CostGrouping, ...] = get_args(CostGrouping)
WINDOWS: dict[CostWindow, timedelta | None] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "all": None,
}
#: Intervals a window is cut into.
BUCKETS = 12

#: Labels of the groups of events that have no value for the grouping.
UNGROUPED_LABELS: dict[CostGrouping, str] = {
    "billing_code": "(no billing code)",
    "agent": "(unknown agent)",
    "issue_subtree": "(no issue)",
    "plugin": "(not from a plugin)",
}


@dataclass(frozen=True)
class CostTotals:
    """Summed cost events."""

    cost_cents: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    events: int = 0

    def __add__(self, other: CostTotals) -> CostTotals:
        return CostTotals(
            self.cost_cents + other.cost_cents,
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.output_tokens + other.output_tokens,
            self.events + other.events,
        )


@dataclass(frozen=True)
class CostGroup:
    """One group's totals over the window, and its cents per interval (oldest first)."""

    key: str | None
    label: str
    totals: CostTotals
    series: tuple[int, ...]

    @property
    def latest_cents(self) -> int:
        """The cents of the newest interval (the "interval delta")."""
        return self.series[-1] if self.series else 0

    @property
    def cumulative(self) -> tuple[int, ...]:
        """The running total at the end of each interval."""
        running, out = 0, []
        for cents in self.series:
            running += cents
            out.append(running)
        return tuple(out)


@dataclass(frozen=True)
class CostRollup:
    """A roll-up of a company's costs: the groups (most expensive first) and their total."""

    company_id: str
    grouping: CostGrouping
    window: CostWindow
    start: datetime
    end: datetime
    bucket_seconds: float
    groups: list[CostGroup]
    total: CostGroup


async def cost_rollup(
    db: Database,
    *,
    company_id: str,
    grouping: CostGrouping = "billing_code",
    window: CostWindow = "24h",
    now: datetime | None = None,
) -> CostRollup:
    """The company's cost events in the window ending ``now``, grouped.

    Raises:
        ValueError: an unknown grouping or window.
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown cost grouping {grouping!r}: use one of {', '.join(GROUPINGS)}")
    if window not in WINDOWS:
        raise ValueError(f"unknown cost window {window!r}: use one of {', '.join(WINDOWS)}")
    end = now or datetime.now(UTC)
    company = as_uuid(company_id)
    costs = tables.cost_events
    async with db.read() as session:
        length = WINDOWS[window]
        if length is not None:
            start = end - length
        else:
            first = await session.scalar(
                sa.select(sa.func.min(costs.c.occurred_at)).where(costs.c.company_id == company)
            )
            start = min(first, end) if first is not None else end - timedelta(hours=1)
        bucket_seconds = max((end - start).total_seconds() / BUCKETS, 1.0)
        key, source, labels = _grouped_by(grouping, company)
        bucket = TimeBucket(costs.c.occurred_at, start, bucket_seconds).label("bucket")
        query = (
            sa.select(
                key.label("key"),
                bucket,
                sa.func.sum(costs.c.cost_cents).label("cost_cents"),
                sa.func.sum(costs.c.input_tokens).label("input_tokens"),
                sa.func.sum(costs.c.cached_input_tokens).label("cached_input_tokens"),
                sa.func.sum(costs.c.output_tokens).label("output_tokens"),
                sa.func.count().label("events"),
            )
            .select_from(source)
            .where(
                costs.c.company_id == company,
                costs.c.occurred_at >= start,
                costs.c.occurred_at <= end,
            )
            .group_by(key, bucket)
        )
        rows = (await session.execute(query)).mappings().all()
        names = dict((await session.execute(labels)).all()) if labels is not None else {}
    groups = _groups(grouping, rows, names)
    total = CostGroup(
        key=None,
        label="total",
        totals=sum((group.totals for group in groups), CostTotals()),
        series=tuple(map(sum, zip(*(group.series for group in groups), strict=True)))
        if groups
        else (0,) * BUCKETS,
    )
    return CostRollup(company_id, grouping, window, start, end, bucket_seconds, groups, total)


async def open_incidents(db: Database, company_id: str) -> list[records.BudgetIncidentSummary]:
    """The company's open budget incidents, newest first."""
    async with read(db) as unit:
        return await open_budget_incidents(unit, as_uuid(company_id) or company_id)


def _grouped_by(
    grouping: CostGrouping, company: str | None
) -> tuple[sa.ColumnElement[Any], sa.FromClause, sa.Select[Any] | None]:
    """The SQL key of each event's group, what the query reads (cost events joined to what
    the grouping needs), and a query of ``(key, label)`` for the groups, if keys need one."""
    costs, issues, agents = tables.cost_events, tables.issues, tables.agents
    match grouping:
        case "billing_code":
            return costs.c.billing_code, costs, None
        case "agent":
            labels = sa.select(sa.cast(agents.c.id, sa.Text), agents.c.name).where(
                agents.c.company_id == company
            )
            return sa.cast(costs.c.agent_id, sa.Text), costs, labels
        case "issue_subtree":
            tops = _top_issues(company)
            labels = sa.select(
                sa.cast(issues.c.id, sa.Text),
                sa.func.coalesce(issues.c.identifier + " ", "") + issues.c.title,
            ).where(issues.c.company_id == company, issues.c.parent_id.is_(None))
            source = costs.outerjoin(tops, tops.c.id == costs.c.issue_id)
            return sa.cast(tops.c.top_id, sa.Text), source, labels
        case "plugin":
            source = costs.outerjoin(issues, issues.c.id == costs.c.issue_id)
            return issues.c.origin_kind, source, None


def _top_issues(company: str | None) -> sa.CTE:
    """``(id, top_id)`` of every issue of the company: the top-level issue above it.

    The walk starts at the top-level issues and goes down, so it ends on any data (a row can
    only be reached from the one chain of parents above it).
    """
    issues = tables.issues
    roots = sa.select(issues.c.id.label("id"), issues.c.id.label("top_id")).where(
        issues.c.company_id == company, issues.c.parent_id.is_(None)
    )
    tops = roots.cte("top_issues", recursive=True)
    child = issues.alias("child")
    step = sa.select(child.c.id, tops.c.top_id).join(tops, child.c.parent_id == tops.c.id)
    return tops.union_all(step.where(child.c.company_id == company))


def _groups(grouping: CostGrouping, rows: Sequence[Any], labels: dict[str, str]) -> list[CostGroup]:
    series: dict[str | None, list[int]] = defaultdict(lambda: [0] * BUCKETS)
    totals: dict[str | None, CostTotals] = defaultdict(CostTotals)
    for row in rows:
        key = _group_key(grouping, row["key"])
        index = min(max(int(row["bucket"]), 0), BUCKETS - 1)  # ``now`` itself ends the last
        series[key][index] += int(row["cost_cents"] or 0)
        totals[key] += CostTotals(
            int(row["cost_cents"] or 0),
            int(row["input_tokens"] or 0),
            int(row["cached_input_tokens"] or 0),
            int(row["output_tokens"] or 0),
            int(row["events"]),
        )
    groups = [
        CostGroup(
            key=key,
            label=UNGROUPED_LABELS[grouping] if key is None else labels.get(key, key),
            totals=totals[key],
            series=tuple(series[key]),
        )
        for key in totals
    ]
    groups.sort(key=lambda group: (-group.totals.cost_cents, group.key is None, group.label))
    return groups


def _group_key(grouping: CostGrouping, value: Any) -> str | None:
    if value is None:
        return None
    if grouping != "plugin":
        return str(value)
    # ``plugin:<key>`` or ``plugin:<key>:<sub-kind>``; plugin keys never contain a colon.
    kind, _, rest = str(value).partition(":")
    return rest.split(":", 1)[0] if kind == "plugin" and rest else None
