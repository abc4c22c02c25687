"""``sandbox show``: what plugins did, read from the database (issues, wakeups, runs, activity,
costs), as tables for people or ``--json`` for scripts.

Every command opens the database read-only and reads it through the read models
(``core.read_models``) the TUI uses, so what it prints is what a viewer shows. ``--json`` prints
the records as the host API spells them (camelCase), on one line.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import click

from core import records
from core.companies import list_companies
from core.plugin_registry import list_plugins
from core.read_models.activity import ActivityFilter, ActivityRow, list_activity
from core.read_models.costs import GROUPINGS, WINDOWS, CostGroup, CostRollup, cost_rollup
from core.read_models.issues import (
    IssueDetail,
    IssueFilter,
    IssueNode,
    find_issue_row,
    issue_detail,
    issue_tree,
)
from core.read_models.runs import QueueFilter, RunRow, WakeupRow, list_runs, list_wakeups
from db import Database, migrate
from db.connect import open_database
from sandbox.cli_support import (
    database_option,
    format_table,
    format_time,
    parse_time,
    progress,
    require_company,
    require_plugin,
    run_command,
)

#: A wakeup or a run, as ``show wakeups`` and ``show runs`` list them.
Row = TypeVar("Row", WakeupRow, RunRow)
#: Rows a list shows unless --limit says otherwise.
DEFAULT_LIMIT = 50
#: Rows of each kind ``show issue`` lists (wakeups, runs, activity).
ISSUE_ROWS = 20

_JSON = click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
_COMPANY = click.option("--company", metavar="COMPANY", help="Company id or issue prefix (ACM).")
_PLUGIN = click.option(
    "--plugin", "plugin_ref", metavar="PLUGIN", help="Only what this plugin did (key or id)."
)
_ISSUE = click.option("--issue", "issue_ref", metavar="ISSUE", help="Issue id or identifier.")
_SINCE = click.option("--since", metavar="TIME", help="Only rows at or after this ISO-8601 time.")
_LIMIT = click.option(
    "--limit",
    type=click.IntRange(min=1, max=5_000),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Show the newest N rows.",
)


@asynccontextmanager
async def _reading(database: str | None) -> AsyncIterator[Database]:
    async with open_database(database, progress=progress, read_only=True) as db:
        if await migrate.current(db) != migrate.head_revision():
            raise click.ClickException(
                "the database is not at the newest revision: run `sandbox db upgrade`"
            )
        yield db


async def _company(db: Database, ref: str) -> records.Company:
    return await require_company(db, ref)


async def _companies(db: Database, ref: str | None) -> list[records.Company]:
    """The company named, or every company."""
    return [await _company(db, ref)] if ref is not None else await list_companies(db)


async def _plugin(db: Database, ref: str | None) -> records.PluginRecord | None:
    if ref is None:
        return None
    return await require_plugin(db, ref)


async def _issue(db: Database, ref: str | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    row = await find_issue_row(db, ref)
    if row is None:
        raise click.ClickException(f"Issue not found: {ref}")
    return dict(row)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, default=str))


def _short(text: str | None, width: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _name(issue: records.RelatedIssue | records.Issue) -> str:
    return issue.identifier or issue.id


@click.group()
def show() -> None:
    """Show what plugins did: issues, wakeups, runs, activity and costs (read-only)."""


# -- issues -------------------------------------------------------------------------------------


@show.command()
@database_option
@_COMPANY
@click.option("--status", metavar="STATUS[,STATUS]", help="Only issues in these statuses.")
@_PLUGIN
@_JSON
def issues(
    database: str | None,
    company: str | None,
    status: str | None,
    plugin_ref: str | None,
    as_json: bool,
) -> None:
    """The issue tree of each company (or of --company): children under their parent.

    An issue blocked by others is marked [blocked by ...], with each blocker's status. With
    --plugin, only the issues the plugin created; an issue whose parent is not shown is a root.
    """
    statuses = None if status is None else frozenset(s.strip() for s in status.split(","))

    async def run() -> list[tuple[records.Company, list[IssueNode]]]:
        async with _reading(database) as db:
            plugin = await _plugin(db, plugin_ref)
            wanted = IssueFilter(statuses, None if plugin is None else plugin.plugin_key)
            return [(c, await issue_tree(db, c.id, wanted)) for c in await _companies(db, company)]

    trees = run_command(run())
    if as_json:
        _echo_json([node.to_json() for _, nodes in trees for node in nodes])
        return
    if not trees:
        click.echo("No companies.")
    for index, (found, nodes) in enumerate(trees):
        if index:
            click.echo()
        count = f"{len(nodes)} issue{'' if len(nodes) == 1 else 's'}"
        click.echo(f"{found.name} ({found.issue_prefix}): {count}")
        if nodes:
            click.echo(
                format_table(
                    ("ISSUE", "STATUS", "ASSIGNEE", "TITLE"), [_tree_row(n) for n in nodes]
                )
            )


def _tree_row(node: IssueNode) -> tuple[str, str, str, str]:
    issue = node.issue
    blockers = ", ".join(f"{_name(b)} ({b.status})" for b in node.relations.blocked_by)
    title = _short(issue.title) + (f"  [blocked by {blockers}]" if blockers else "")
    return ("  " * node.depth + _name(issue), issue.status, node.assignee_name or "-", title)


@show.command()
@database_option
@click.argument("issue_ref", metavar="ISSUE")
@_JSON
def issue(database: str | None, issue_ref: str, as_json: bool) -> None:
    """One issue by id or identifier (ACM-3): its fields, parent, children, blockers, documents
    with their revisions, comments, and its newest wakeups, runs and activity."""

    async def run() -> tuple[records.Company, IssueShown]:
        async with _reading(database) as db:
            row = await _issue(db, issue_ref)
            assert row is not None
            company = await _company(db, str(row["company_id"]))
            detail = await issue_detail(db, row)
            queue = QueueFilter(company_id=company.id, issue_id=str(row["id"]))
            about = ActivityFilter(
                company_id=company.id, entity_type="issue", entity_id=str(row["id"])
            )
            return company, IssueShown(
                detail,
                (await list_wakeups(db, queue, limit=ISSUE_ROWS)).items[::-1],
                (await list_runs(db, queue, limit=ISSUE_ROWS)).items[::-1],
                (await list_activity(db, about, limit=ISSUE_ROWS)).items[::-1],
                await _plugin_keys(db),
            )

    company, shown = run_command(run())
    if as_json:
        _echo_json(shown.to_json())
        return
    click.echo(_issue_report(company, shown))


@dataclass(frozen=True)
class IssueShown:
    """An issue's detail with its newest wakeups, runs and activity (oldest first)."""

    detail: IssueDetail
    wakeups: list[WakeupRow]
    runs: list[RunRow]
    activity: list[ActivityRow]
    #: Plugin keys by record id, to name the plugin that asked for a wakeup.
    plugin_keys: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return self.detail.to_json() | {
            "wakeups": [row.to_json() for row in self.wakeups],
            "runs": [row.to_json() for row in self.runs],
            "activity": [row.to_json() for row in self.activity],
        }


def _issue_report(company: records.Company, shown: IssueShown) -> str:
    detail = shown.detail
    issue = detail.issue

    def related(found: Sequence[records.RelatedIssue | records.Issue]) -> str:
        return ", ".join(f"{_name(i)} {_short(i.title, 40)} ({i.status})" for i in found) or "-"

    fields = [
        ("id", issue.id),
        ("company", f"{company.name} ({company.issue_prefix})"),
        ("status", f"{issue.status}, priority {issue.priority}"),
        ("assignee", _assignee(detail)),
        ("origin", issue.origin_kind + (f" {issue.origin_id}" if issue.origin_id else "")),
        ("billing code", issue.billing_code or "-"),
        ("created", format_time(issue.created_at)),
        ("updated", format_time(issue.updated_at)),
        ("parent", related([detail.parent] if detail.parent else [])),
        ("children", related(detail.children)),
        ("blocked by", related(detail.relations.blocked_by)),
        ("blocks", related(detail.relations.blocks)),
    ]
    width = max(len(label) for label, _ in fields)
    lines = [f"{_name(issue)}  {issue.title}"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in fields]
    if issue.description:
        lines += ["", *(f"  {line}" for line in issue.description.splitlines())]
    lines += ["", f"Documents ({len(detail.documents)}):"]
    for document, revisions in detail.documents:
        title = f"  {document.title}" if document.title else ""
        lines.append(
            f"  {document.key}{title}  ({document.format}, "
            f"revision {document.latest_revision_number})"
        )
        for revision in revisions:
            by = revision.created_by_agent_id or revision.created_by_user_id or "-"
            summary = f"  {_short(revision.change_summary)}" if revision.change_summary else ""
            lines.append(
                f"    r{revision.revision_number}  {format_time(revision.created_at)}  by {by}  "
                f"{len(revision.body)} chars{summary}"
            )
    lines += ["", f"Comments ({len(detail.comments)}):"]
    for comment in reversed(detail.comments):
        by = comment.author_agent_id or comment.author_user_id or "-"
        lines.append(f"  {format_time(comment.created_at)}  {by}  {_short(comment.body)}")
    lines += ["", f"Wakeups ({len(shown.wakeups)}):"]
    lines += [f"  {_wakeup_line(row, shown.plugin_keys)}" for row in shown.wakeups]
    lines += ["", f"Runs ({len(shown.runs)}):"]
    lines += [f"  {_run_line(row)}" for row in shown.runs]
    lines += ["", f"Activity ({len(shown.activity)}):"]
    lines += [f"  {_activity_line(row)}" for row in shown.activity]
    return "\n".join(lines)


def _assignee(detail: IssueDetail) -> str:
    issue = detail.issue
    if issue.assignee_agent_id is not None:
        return f"{detail.assignee_name or '?'} ({issue.assignee_agent_id})"
    return f"user {issue.assignee_user_id}" if issue.assignee_user_id else "-"


def _wakeup_line(row: WakeupRow, plugin_keys: dict[str, str]) -> str:
    return "  ".join(
        (
            format_time(row.requested_at),
            row.status,
            row.agent_name or row.agent_id,
            row.reason or row.source,
            f"by {_actor(row.requested_by, plugin_keys)}",
        )
    )


def _actor(actor: str | None, plugin_keys: dict[str, str]) -> str:
    """``system:<plugin id>`` (how a plugin's wakeups are requested) as the plugin's key."""
    kind, _, actor_id = (actor or "-").partition(":")
    return plugin_keys.get(actor_id, actor or "-") if kind == "system" else actor or "-"


async def _plugin_keys(db: Database) -> dict[str, str]:
    return {p.id: p.plugin_key for p in await list_plugins(db, include_uninstalled=True)}


def _run_line(row: RunRow) -> str:
    took = "" if row.duration_seconds is None else f"  {row.duration_seconds:.1f}s"
    error = f"  {_short(row.error)}" if row.error else ""
    return (
        f"{format_time(row.created_at)}  {row.status}  {row.agent_name or row.agent_id}  "
        f"{row.invocation_source}{took}{error}"
    )


def _activity_line(row: ActivityRow) -> str:
    actor = row.plugin_key if row.plugin_key else f"{row.actor_type}:{row.actor_id}"
    entity = row.identifier or f"{row.entity_type}:{row.entity_id}"
    return f"{format_time(row.created_at)}  {row.action}  {entity}  by {actor}"


# -- activity, wakeups, runs ----------------------------------------------------------------------


@show.command()
@database_option
@_COMPANY
@_PLUGIN
@_ISSUE
@click.option("--action", help="An action, or a prefix ending in * (issue.*).")
@_SINCE
@_LIMIT
@_JSON
def activity(
    database: str | None,
    company: str | None,
    plugin_ref: str | None,
    issue_ref: str | None,
    action: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest activity rows, oldest first (for all rows as a file: `activity export`)."""
    start = parse_time(since, "--since")

    async def run() -> list[ActivityRow]:
        async with _reading(database) as db:
            company_id = None if company is None else (await _company(db, company)).id
            plugin = await _plugin(db, plugin_ref)
            found = await _issue(db, issue_ref)
            wanted = ActivityFilter(
                company_id=company_id,
                plugin_id=None if plugin is None else plugin.id,
                action=action,
                entity_type=None if found is None else "issue",
                entity_id=None if found is None else str(found["id"]),
                since=start,
            )
            return (await list_activity(db, wanted, limit=limit)).items[::-1]

    rows = run_command(run())
    if as_json:
        _echo_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo("No activity.")
    for row in rows:
        click.echo(_activity_line(row))


def _queue_options(command: Any) -> Any:
    for option in reversed(
        (
            database_option,
            _COMPANY,
            _PLUGIN,
            _ISSUE,
            click.option("--status", help="Only rows in this status (queued, succeeded, ...)."),
            _SINCE,
            _LIMIT,
            _JSON,
        )
    ):
        command = option(command)
    return command


async def _queue_filter(
    db: Database,
    company: str | None,
    plugin_ref: str | None,
    issue_ref: str | None,
    status: str | None,
) -> QueueFilter:
    plugin = await _plugin(db, plugin_ref)
    found = await _issue(db, issue_ref)
    return QueueFilter(
        company_id=None if company is None else (await _company(db, company)).id,
        plugin_id=None if plugin is None else plugin.id,
        status=status,
        issue_id=None if found is None else str(found["id"]),
    )


@show.command()
@_queue_options
def wakeups(
    database: str | None,
    company: str | None,
    plugin_ref: str | None,
    issue_ref: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest agent wakeup requests, oldest first; --plugin: those the plugin asked for."""
    start = parse_time(since, "--since")

    async def run() -> tuple[list[WakeupRow], dict[str, str]]:
        async with _reading(database) as db:
            wanted = await _queue_filter(db, company, plugin_ref, issue_ref, status)
            page = await list_wakeups(db, wanted, limit=limit)
            return _since(page.items, start, "requested_at"), await _plugin_keys(db)

    rows, plugin_keys = run_command(run())
    _echo_queue(rows, as_json, "No wakeups.", lambda row: _wakeup_line(row, plugin_keys))


@show.command()
@_queue_options
def runs(
    database: str | None,
    company: str | None,
    plugin_ref: str | None,
    issue_ref: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest heartbeat runs, oldest first; --plugin: runs of the plugin's wakeups."""
    start = parse_time(since, "--since")

    async def run() -> list[RunRow]:
        async with _reading(database) as db:
            wanted = await _queue_filter(db, company, plugin_ref, issue_ref, status)
            page = await list_runs(db, wanted, limit=limit)
            return _since(page.items, start, "created_at")

    _echo_queue(run_command(run()), as_json, "No runs.", _run_line)


def _since(newest_first: Sequence[Row], start: datetime | None, moment: str) -> list[Row]:
    """The rows, oldest first, from ``start`` on (by their ``moment`` attribute)."""
    rows = list(newest_first)[::-1]
    return [row for row in rows if start is None or getattr(row, moment) >= start]


def _echo_queue(rows: Sequence[Row], as_json: bool, empty: str, line: Callable[[Row], str]) -> None:
    """Wakeups or runs, a line each with its issue, or their JSON."""
    if as_json:
        _echo_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo(empty)
    for row in rows:
        issue = f"  {row.identifier or row.issue_id}" if row.issue_id else ""
        click.echo(line(row) + issue)


# -- costs --------------------------------------------------------------------------------------


@show.command()
@database_option
@_COMPANY
@click.option(
    "--by",
    "grouping",
    type=click.Choice(GROUPINGS),
    default="billing_code",
    show_default=True,
    help="Group cost events by billing code, agent, top-level issue, or the plugin that "
    "created their issue.",
)
@click.option(
    "--window",
    type=click.Choice(list(WINDOWS)),
    default="all",
    show_default=True,
    help="Only events of the last hour, day or week.",
)
@_JSON
def costs(
    database: str | None, company: str | None, grouping: str, window: str, as_json: bool
) -> None:
    """Cost events of each company (or of --company), summed per group, most expensive first."""

    async def run() -> list[tuple[records.Company, CostRollup]]:
        async with _reading(database) as db:
            return [
                (
                    found,
                    await cost_rollup(db, company_id=found.id, grouping=grouping, window=window),
                )  # type: ignore[arg-type]
                for found in await _companies(db, company)
            ]

    rollups = run_command(run())
    if as_json:
        _echo_json([_rollup_json(rollup) for _, rollup in rollups])
        return
    if not rollups:
        click.echo("No companies.")
    for index, (found, rollup) in enumerate(rollups):
        if index:
            click.echo()
        click.echo(
            f"{found.name} ({found.issue_prefix}): costs by {grouping}, "
            f"{format_time(rollup.start)} to {format_time(rollup.end)}"
        )
        rows = [_cost_row(group) for group in rollup.groups]
        click.echo(
            format_table(
                ("GROUP", "COST", "EVENTS", "INPUT TOKENS", "OUTPUT TOKENS"),
                [*rows, _cost_row(rollup.total)],
            )
        )


def _cost_row(group: CostGroup) -> tuple[str, str, str, str, str]:
    totals = group.totals
    return (
        _short(group.label, 50),
        f"${totals.cost_cents / 100:,.2f}",
        str(totals.events),
        f"{totals.input_tokens:,}",
        f"{totals.output_tokens:,}",
    )


def _group_json(group: CostGroup) -> dict[str, Any]:
    totals = group.totals
    return {
        "key": group.key,
        "label": group.label,
        "costCents": totals.cost_cents,
        "inputTokens": totals.input_tokens,
        "cachedInputTokens": totals.cached_input_tokens,
        "outputTokens": totals.output_tokens,
        "events": totals.events,
    }


def _rollup_json(rollup: CostRollup) -> dict[str, Any]:
    return {
        "companyId": rollup.company_id,
        "grouping": rollup.grouping,
        "window": rollup.window,
        "start": rollup.start.isoformat(),
        "end": rollup.end.isoformat(),
        "groups": [_group_json(group) for group in rollup.groups],
        "total": _group_json(rollup.total),
    }
