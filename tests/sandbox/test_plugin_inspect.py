"""A plugin's own tables and logs from the CLI, and its scoped routes against the author's
database, on both backends.

``plugin sql`` must answer exactly what the plugin's own ``ctx.db.query`` answers: the same
rows, and the same refusal for a statement the plugin may not run. A probe plugin runs each
statement through a real worker, then the CLI runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from core.companies import create_company
from core.plugin_database import derive_namespace
from core.plugin_logs import LogLine, write_lines
from db import Database
from sandbox.cli import main
from sandbox.plugin_host import PluginHost
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.workers import PYTHON_SMOKE
from tests.sandbox.test_plugin_cli import SMOKE_KEY, ok, sandbox, seeded

PROBE_KEY = "sandbox-tests.sql-probe"
NAMESPACE = derive_namespace(PROBE_KEY, None)

PROBE = """
async def setup(ctx):
    async def query(params, context):
        try:
            return {"rows": await ctx.db.query(params["sql"], params.get("params") or [])}
        except Exception as error:
            return {"error": getattr(error, "message", str(error))}

    ctx.actions.register("query", query)

plugin = define_plugin(setup=setup)
"""

NOTES = f"""
CREATE TABLE {NAMESPACE}.notes (
  id integer PRIMARY KEY,
  issue_id uuid REFERENCES public.issues(id),
  body text NOT NULL,
  meta jsonb
);
INSERT INTO {NAMESPACE}.notes (id, body, meta) VALUES (1, 'first', '{{"tags": ["a"]}}');
INSERT INTO {NAMESPACE}.notes (id, body, meta) VALUES (2, 'second', NULL);
"""

#: Statements the plugin may run, and statements it may not (each refused for its own reason).
ALLOWED = (
    (f"SELECT id, body, meta FROM {NAMESPACE}.notes ORDER BY id", []),
    (f"SELECT count(*) AS n FROM {NAMESPACE}.notes WHERE body = $1", ["second"]),
    (f"SELECT n.id, i.title FROM {NAMESPACE}.notes n LEFT JOIN public.issues i ON false", []),
)
REFUSED = (
    f"DELETE FROM {NAMESPACE}.notes",
    "SELECT * FROM public.agents",
    f"SELECT * FROM {NAMESPACE}.notes FOR UPDATE",
    f"SELECT * FROM {NAMESPACE}.notes WHERE id = $1",  # a parameter short
    f"SELECT * FROM {NAMESPACE}.missing",
)


def probe(folder: Path) -> Path:
    return write_plugin(
        folder,
        PROBE,
        key=PROBE_KEY,
        capabilities=("database.namespace.migrate", "database.namespace.read"),
        migrations={"001_notes.sql": NOTES},
    )


async def cli(db: Database, *args: str) -> Result:
    """``sandbox ARGS --db URL`` with click's CliRunner, in a thread (it runs its own loop)."""
    url = db.url.render_as_string(hide_password=False)
    return await asyncio.to_thread(
        CliRunner().invoke, main, [*args, "--db", url], catch_exceptions=False
    )


async def plugin_answers(db: Database, folder: Path, statements: list[tuple[str, list[Any]]]):  # type: ignore[no-untyped-def]
    """What the probe plugin's own ctx.db.query answers to each statement (through a worker)."""
    company = await create_company(db, name="Acme")
    async with PluginHost(db) as host:
        record = await host.install(folder)
        return [
            await host.perform_action(
                record.id, "query", {"sql": sql, "params": params}, company_id=company.id
            )
            for sql, params in statements
        ]


async def test_plugin_sql_answers_what_ctx_db_query_answers(db: Database, tmp_path: Path) -> None:
    statements = [*ALLOWED, *((sql, []) for sql in REFUSED)]
    answers = await plugin_answers(db, probe(tmp_path / "probe"), statements)
    for (sql, params), answer in zip(statements, answers, strict=True):
        args = ["plugin", "sql", PROBE_KEY, sql, "--params", json.dumps(params), "--json"]
        result = await cli(db, *args)
        if "rows" in answer:
            assert result.exit_code == 0, result.stderr
            assert json.loads(result.stdout) == answer["rows"], sql
        else:
            assert (result.exit_code, result.stderr.strip()) == (1, f"Error: {answer['error']}")
    assert [a.get("error", "") != "" for a in answers] == [False] * 3 + [True] * 5
    assert answers[3]["error"] == "ctx.db.query only allows SELECT statements"

    text = await cli(db, "plugin", "sql", PROBE_KEY, ALLOWED[0][0])
    assert text.exit_code == 0, text.stderr
    assert text.stdout.splitlines() == [
        "id  body    meta",
        '1   first   {"tags": ["a"]}',
        "2   second  NULL",
        "(2 rows)",
    ]


async def test_plugin_tables_lists_columns_and_row_counts(db: Database, tmp_path: Path) -> None:
    await plugin_answers(db, probe(tmp_path / "probe"), [])
    result = await cli(db, "plugin", "tables", PROBE_KEY, "--json")
    assert result.exit_code == 0, result.stderr
    [table] = json.loads(result.stdout)
    assert (table["qualifiedName"], table["rowCount"]) == (f"{NAMESPACE}.notes", 2)
    assert [c["name"] for c in table["columns"]] == ["id", "issue_id", "body", "meta"]
    text = await cli(db, "plugin", "tables", PROBE_KEY)
    lines = text.stdout.splitlines()
    assert lines[0] == f"{NAMESPACE}.notes  (2 rows)"
    assert [line.split()[0] for line in lines[1:]] == ["id", "issue_id", "body", "meta"]


async def test_a_plugin_without_a_namespace_or_unknown_is_one_error_line(
    db: Database, tmp_path: Path
) -> None:
    no_database = write_plugin(tmp_path / "plain", PROBE, key="sandbox-tests.plain")
    async with PluginHost(db) as host:
        await host.install(no_database)
    for command in ("tables", "sql"):
        args = [
            "plugin",
            command,
            "sandbox-tests.plain",
            *(["SELECT 1"] if command == "sql" else []),
        ]
        result = await cli(db, *args)
        assert (result.exit_code, result.stderr.strip()) == (
            1,
            "Error: sandbox-tests.plain has no database namespace: its manifest declares no "
            '"database" block',
        )
    result = await cli(db, "plugin", "tables", "no.such")
    assert (result.exit_code, result.stderr.strip()) == (1, "Error: Plugin not found: no.such")


# -- plugin logs --follow --------------------------------------------------------------------


class Follower:
    """``sandbox plugin logs PLUGIN --follow`` in a subprocess, its lines read as they come."""

    def __init__(self, url: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SANDBOX_DATABASE_URL"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "plugin", "logs", *args, "--follow", "--db", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    async def next_line(self, timeout: float = 30.0) -> str:
        try:
            return await asyncio.to_thread(self.lines.get, True, timeout)
        except queue.Empty:
            self.process.kill()
            raise AssertionError(
                f"no line within {timeout} s: {self.process.stderr.read()}"
            ) from None  # type: ignore[union-attr]

    def stop(self, signum: int) -> tuple[int, str]:
        started = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout=15)
        assert time.monotonic() - started < 10
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


async def test_logs_follow_prints_new_lines_until_stopped(db: Database, tmp_path: Path) -> None:
    async with PluginHost(db) as host:
        record = await host.install(probe(tmp_path / "probe"))
    url = db.url.render_as_string(hide_password=False)
    for signum in (signal.SIGTERM, signal.SIGINT):
        follower = Follower(url, PROBE_KEY, "--level", "warn", "--json")
        try:
            first = f"first {signum.name}"
            await write_lines(db, [LogLine(plugin_id=record.id, level="warn", message=first)])
            line = json.loads(await follower.next_line())
            while line["message"] != first:  # the previous round's lines come first
                line = json.loads(await follower.next_line())
            assert (line["message"], line["pluginId"]) == (first, record.id)
            # The follower has printed: its feed is running, so what follows arrives through it.
            await write_lines(
                db,
                [
                    LogLine(plugin_id=record.id, level="info", message="not shown"),
                    LogLine(plugin_id=record.id, level="warn", message="second", meta={"n": 2}),
                ],
            )
            line = json.loads(await follower.next_line())
            assert (line["message"], line["meta"]) == ("second", {"n": 2})
            code, stderr = follower.stop(signum)
            assert (code, stderr) == (0, "")
            assert follower.lines.empty()
        finally:
            if follower.process.poll() is None:
                follower.process.kill()

    follower = Follower(url, PROBE_KEY, "--level", "warn")
    try:
        text = await follower.next_line()  # the stored lines, as `plugin logs` prints them
        assert text.split()[2:] == ["warn", "first", "SIGTERM"]
    finally:
        follower.stop(signal.SIGTERM)


# -- sandbox api against the author's database ------------------------------------------------


def test_a_scoped_route_is_called_from_the_cli_on_a_seeded_database(
    empty_database_url: str,
) -> None:
    db = empty_database_url
    world = seeded(db)
    issue_id = world["issue"]["id"]
    ok(sandbox(db, "plugin", "install", str(PYTHON_SMOKE)))

    created = sandbox(db, "api", SMOKE_KEY, "POST", f"/issues/{issue_id}/smoke")
    assert created.stderr.strip().splitlines()[-1] == "HTTP 201"
    body = json.loads(ok(created))
    assert body["rootIssueId"] == issue_id
    assert body["wakeupQueued"] is True

    summary = json.loads(
        ok(sandbox(db, "api", SMOKE_KEY, "GET", f"issues/{issue_id}/smoke", "--json"))
    )
    assert summary["status"] == 200
    assert summary["body"]["childIssueId"] == body["childIssueId"]

    missing = sandbox(db, "api", SMOKE_KEY, "GET", "/nowhere")
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[-1] == "Error: HTTP 404: Plugin API route not found"
