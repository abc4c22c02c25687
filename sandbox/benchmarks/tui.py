"""``sandbox bench tui``: the reviewer's TUI on a big database while another process writes.

On a fresh database per backend holding ``--rows`` activity rows, measures:

- ``open_ms``: a fresh process (the viewer, ``tui_viewer``) to the first screen drawn, imports
  included; ``app_ms`` is the part after the imports (database checks, first page, drawing);
- ingest: this process commits ``--rate`` activity rows a second for ``--seconds`` (a hundred
  transactions a second, each inserting together the rows the core's ``record_activity``
  writes), and counts how many the viewer showed;
- ``commit_to_screen_ms``: from a row's commit here to the viewer drawing it, median and p95;
- ``key_ms``: how long the viewer takes to answer a key during that ingest (space to pause and
  space to resume, five times a second, each answered when its effect is there), median, p95
  and max;
- memory: the viewer's resident memory at the end and its peak, and the rows its list holds.

The viewer draws headless (Textual's test driver: the same app, no terminal output).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import sqlalchemy as sa

from core.activity import Actor, plugin_attribution
from core.agents import create_agent
from core.companies import create_company
from core.plugin_registry import register_plugin
from db import Database, tables
from sandbox.benchmarks.backends import (
    backend_option,
    emit,
    on_each_backend,
    progress,
    selected,
)

PLUGIN_KEY = "sandbox.bench-tui"
#: Rows written per bulk insert while preparing the database (not measured).
CHUNK = 2_000
#: Write transactions a second during the ingest.
TRANSACTIONS_PER_SECOND = 100


def _manifest() -> dict[str, Any]:
    return {
        "id": PLUGIN_KEY,
        "apiVersion": 1,
        "version": "1.0.0",
        "displayName": "TUI bench",
        "description": "Writes activity for sandbox bench tui.",
        "author": "Paperclip sandbox",
        "categories": ["automation"],
        "capabilities": ["activity.log.write"],
        "entrypoints": {"worker": "./worker.py"},
    }


async def _prepare(db: Database, rows: int, report: Callable[[str], None]) -> tuple[str, str]:
    company = await create_company(db, name="Bench TUI", issue_prefix="BTUI")
    await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
    plugin = await register_plugin(db, _manifest(), package_name=PLUGIN_KEY, package_path=None)
    details = plugin_attribution(plugin.id, PLUGIN_KEY, Actor())
    start = datetime.now(UTC) - timedelta(days=1)
    step = timedelta(days=1) / max(rows, 1)
    report(f"writing {rows:,} activity rows ...")
    async with db.transaction() as session:
        for first in range(0, rows, CHUNK):
            batch = [
                {
                    "id": str(uuid.uuid4()),
                    "company_id": company.id,
                    "actor_type": "plugin",
                    "actor_id": plugin.id,
                    "action": "bench.history",
                    "entity_type": "issue",
                    "entity_id": str(uuid.uuid4()),
                    "details": {**details, "identifier": f"BTUI-{number}", "n": number},
                    "created_at": start + step * number,
                }
                for number in range(first, min(first + CHUNK, rows))
            ]
            await session.execute(sa.insert(tables.activity_log), batch)
    return company.id, plugin.id


async def _write_at_rate(
    db: Database, company: str, plugin: str, rate: int, seconds: float
) -> tuple[dict[str, float], float]:
    """Commit ``rate`` rows a second for ``seconds``; returns each row's commit time and how
    long the writing took."""
    per_transaction = max(rate // TRANSACTIONS_PER_SECOND, 1)
    transactions = round(seconds * rate / per_transaction)
    interval = per_transaction / rate
    details = plugin_attribution(plugin, PLUGIN_KEY, Actor())
    committed: dict[str, float] = {}
    started = time.perf_counter()
    for number in range(transactions):
        # The rows record_activity writes, inserted together: the writer's own cost is not what
        # is measured, and on two cores it competes with the viewer and the database.
        now = datetime.now(UTC)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "company_id": company,
                "actor_type": "plugin",
                "actor_id": plugin,
                "action": "bench.live",
                "entity_type": "issue",
                "entity_id": f"live-{number}-{row}",
                "details": details,
                "created_at": now,
            }
            for row in range(per_transaction)
        ]
        async with db.transaction() as session:
            await session.execute(sa.insert(tables.activity_log), rows)
        committed.update(dict.fromkeys((row["id"] for row in rows), time.time()))
        pause = started + (number + 1) * interval - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
    return committed, time.perf_counter() - started


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
        "max": round(ordered[-1], 1),
    }


async def _measure(
    backend: str, db: Database, rows: int, rate: int, seconds: float, report: Callable[[str], None]
) -> dict[str, Any]:
    company, plugin = await _prepare(db, rows, lambda line: report(f"{backend}: {line}"))
    url = db.url.render_as_string(hide_password=False)
    report(f"{backend}: starting the viewer ...")
    spawned = time.time()
    viewer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.benchmarks.tui_viewer",
        url,
        repr(spawned),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 28,  # its last line lists every row it showed
    )
    assert viewer.stdin is not None and viewer.stdout is not None
    try:
        opened = json.loads(await asyncio.wait_for(viewer.stdout.readline(), 120))
        report(f"{backend}: writing {rate:,} rows/s for {seconds:g} s while it watches ...")
        committed, took = await _write_at_rate(db, company, plugin, rate, seconds)
        await asyncio.sleep(1.0)  # the last rows' way to the screen (a bench, not a test)
        viewer.stdin.write(b"stop\n")
        await viewer.stdin.drain()
        seen = json.loads(await asyncio.wait_for(viewer.stdout.readline(), 120))
    finally:
        if viewer.returncode is None:
            viewer.kill()
        await viewer.wait()
    shown: dict[str, float] = seen["shown"]
    latencies = [(shown[key] - at) * 1000 for key, at in committed.items() if key in shown]
    return {
        "rows": rows,
        "open_ms": round(opened["open_ms"], 1),
        "app_ms": round(opened["app_ms"], 1),
        "ingest": {
            "target_per_s": rate,
            "committed_per_s": round(len(committed) / took, 1),
            "shown": len(latencies),
            "missing": len(committed) - len(latencies),
        },
        "commit_to_screen_ms": _spread(latencies),
        "key_ms": _spread(seen["keys_ms"]),
        "memory": {
            "rss_mb": round(seen["rss_kb"] / 1024, 1),
            "peak_rss_mb": round(seen["max_rss_kb"] / 1024, 1),
            "held_rows": seen["held_rows"],
            "capacity": seen["capacity"],
        },
    }


async def run_benchmark(
    backends: tuple[str, ...], rows: int, rate: int, seconds: float, report: Callable[[str], None]
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: figures}``."""

    async def measure(backend: str, db: Database) -> dict[str, Any]:
        return await _measure(backend, db, rows, rate, seconds, report)

    return await on_each_backend(backends, report, measure)


def _table(figures: dict[str, Any]) -> str:
    lines = [
        f"{'backend':<9} {'rows':>8} {'open ms':>8} {'(app)':>6}  {'ingest/s':>9} "
        f"{'shown':>6} {'missing':>7}  {'commit->screen ms':>18}  {'key ms':>17}  memory",
        f"{'':<9} {'':>8} {'':>8} {'':>6}  {'':>9} {'':>6} {'':>7}  {'median    p95':>18}  "
        f"{'median p95  max':>17}",
    ]
    for backend, values in figures.items():
        ingest, latency, keys, memory = (
            values["ingest"],
            values["commit_to_screen_ms"],
            values["key_ms"],
            values["memory"],
        )
        lines.append(
            f"{backend:<9} {values['rows']:>8,} "
            f"{values['open_ms']:>8.0f} {values['app_ms']:>6.0f}  "
            f"{ingest['committed_per_s']:>9.0f} {ingest['shown']:>6} {ingest['missing']:>7}  "
            f"{_ms(latency['median']):>9} {_ms(latency['p95']):>8}  "
            f"{_ms(keys['median']):>5} {_ms(keys['p95']):>5} {_ms(keys['max']):>5}  "
            f"{memory['rss_mb']} MB (peak {memory['peak_rss_mb']}), "
            f"{memory['held_rows']:,}/{memory['capacity']:,} rows held"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


@click.command("tui")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option(
    "--rows",
    default=100_000,
    show_default=True,
    type=click.IntRange(0),
    help="Activity rows in the database before the viewer opens.",
)
@click.option(
    "--rate",
    default=1_000,
    show_default=True,
    type=click.IntRange(1),
    help="Activity rows a second committed while the viewer watches.",
)
@click.option(
    "--seconds",
    default=10.0,
    show_default=True,
    type=click.FloatRange(1),
    help="How long the writing lasts.",
)
@backend_option
def tui_command(as_json: bool, rows: int, rate: int, seconds: float, backend: str) -> None:
    """Measure the TUI: first screen on a big database, commit to screen, keys, memory."""
    figures = asyncio.run(run_benchmark(selected(backend), rows, rate, seconds, progress))
    emit(figures, as_json, _table)


__all__ = ["run_benchmark", "tui_command"]
