"""``sandbox serve`` as a user runs it: a real process on each backend, real HTTP, real signals.

The CLI goes through a running host (one worker per plugin), SIGTERM stops it cleanly, and a
SIGTERM in the middle of a load loses no request that was answered.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from db import create_db
from tests.fixtures.plugin_packages import write_plugin
from tests.fixtures.serve import ServeProcess
from tests.sandbox.test_plugin_cli import ok, refused, sandbox, seeded

KEY = "sandbox-tests.served"

# Each worker process answers with a name of its own (not its pid: a contained worker's pid is
# its number inside its own PID namespace, the same for every worker).
WORKER = """
WORKER = os.urandom(8).hex()

async def setup(ctx):
    async def whoami(params, context):
        return {"worker": WORKER}

    async def file_issue(params, context):
        issue = await ctx.issues.create(company_id=params["companyId"], title=params["title"])
        return {"issueId": issue.id}

    ctx.actions.register("whoami", whoami)
    ctx.actions.register("file-issue", file_issue)
    async def worker(params):
        return {"worker": WORKER}

    ctx.data.register("worker", worker)


async def on_api_request(request):
    return {"status": 201, "body": {"route": request.route_key, "company": request.company_id}}


plugin = define_plugin(setup=setup, on_api_request=on_api_request)
"""

ROUTES = [
    {
        "routeKey": "ping",
        "method": "GET",
        "path": "/ping",
        "auth": "board-or-agent",
        "capability": "api.routes.register",
        "companyResolution": {"from": "query", "key": "companyId"},
    }
]


@pytest.fixture
def served_plugin(tmp_path: Path) -> Path:
    return write_plugin(
        tmp_path / "served",
        WORKER,
        key=KEY,
        capabilities=["issues.read", "issues.create", "api.routes.register"],
        apiRoutes=ROUTES,
    )


def _worker(output: str) -> str:
    return str(json.loads(output)["worker"])


def test_cli_commands_go_through_the_running_host(
    empty_database_url: str, served_plugin: Path
) -> None:
    db = empty_database_url
    world = seeded(db)
    company_id = world["company"]["id"]
    ok(sandbox(db, "plugin", "install", str(served_plugin)))

    host = ServeProcess(db, "--no-watch", "--agents", "off")
    try:
        listening = host.start()
        assert [(p["pluginKey"], p["status"]) for p in listening["plugins"]] == [(KEY, "running")]
        assert httpx.get(f"{host.url}/api/health").json()["status"] == "ok"

        first = _worker(ok(sandbox(db, "action", KEY, "whoami", "--company", "ACM", "--json")))
        second = _worker(ok(sandbox(db, "data", KEY, "worker", "--json")))
        over_http = httpx.post(
            f"{host.url}/api/plugins/{KEY}/bridge/action",
            json={"key": "whoami", "companyId": company_id, "params": {}},
        ).json()["data"]["worker"]
        assert first == second == over_http  # one worker, the host's

        routed = sandbox(db, "api", KEY, "GET", f"/ping?companyId={company_id}", "--json")
        answer = json.loads(ok(routed))
        assert answer["status"] == 201
        assert answer["body"] == {"route": "ping", "company": company_id}
        refused(
            sandbox(db, "api", KEY, "GET", "/nowhere"),
            "Error: HTTP 404: Plugin API route not found",
        )
        refused(
            sandbox(db, "action", KEY, "missing", "--company", "ACM"),
            'Error: No action handler registered for key "missing" (WORKER_ERROR -32002)',
        )
        assert "ok" in ok(sandbox(db, "health", KEY))

        assert host.terminate() == 0
        assert host.wait_for("stopped")["url"] == host.url
    finally:
        host.close()

    # Without a host the command starts a worker of its own again.
    alone = _worker(ok(sandbox(db, "action", KEY, "whoami", "--company", "ACM", "--json")))
    assert alone != first


async def _file_issue(client: httpx.AsyncClient, company_id: str, index: int) -> Any:
    """One action that creates an issue; a failure is returned, not raised."""
    try:
        return await client.post(
            f"/api/plugins/{KEY}/bridge/action",
            json={"key": "file-issue", "companyId": company_id, "params": {"title": f"{index}"}},
        )
    except httpx.HTTPError as error:
        return error


def test_sigterm_during_load_loses_no_answered_request(
    empty_database_url: str, served_plugin: Path, backend: str
) -> None:
    db = empty_database_url
    company_id = seeded(db)["company"]["id"]
    ok(sandbox(db, "plugin", "install", str(served_plugin)))
    host = ServeProcess(db, "--no-watch", "--agents", "off")
    try:
        host.start()

        async def load_then_stop() -> list[Any]:
            async with httpx.AsyncClient(base_url=host.url, timeout=60) as client:
                pending = {
                    asyncio.create_task(_file_issue(client, company_id, index))
                    for index in range(300)
                }
                done: set[asyncio.Task[Any]] = set()
                # SIGTERM once the host has answered some of the load, with the rest in flight.
                while len(done) < 20 and pending:
                    finished, pending = await asyncio.wait(
                        pending, return_when=asyncio.FIRST_COMPLETED
                    )
                    done |= finished
                host.process.terminate()
                if pending:
                    await asyncio.wait(pending)
                return [task.result() for task in done | pending]

        results = asyncio.run(load_then_stop())
        assert host.process.wait(60) == 0
    finally:
        host.close()

    answered = [
        r.json()["data"]["issueId"]
        for r in results
        if isinstance(r, httpx.Response) and r.status_code == 200
    ]
    assert answered, "the host answered nothing before SIGTERM"
    stored = _issue_ids(db, backend)
    assert set(answered) <= stored  # every answered request's row is committed
    if backend == "sqlite":
        with sqlite3.connect(_sqlite_path(db)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def _issue_ids(url: str, backend: str) -> set[str]:
    return {str(row[0]) for row in _rows(url, backend, "SELECT id FROM issues")}


def _rows(url: str, backend: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows read by a separate connection (not through the host)."""
    if backend == "sqlite":
        with sqlite3.connect(_sqlite_path(url)) as connection:
            return connection.execute(sql).fetchall()
    return asyncio.run(_postgres_rows(url, sql))


async def _postgres_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    database = create_db(url)
    try:
        async with database.read() as session:
            return [tuple(row) for row in (await session.execute(sa.text(sql))).all()]
    finally:
        await database.dispose()


LOOP_KEY = "sandbox-tests.loop"

LOOP_WORKER = """
VERSION = "v1"


async def setup(ctx):
    async def on_finished(event):
        count = await ctx.state.get(scope_kind="instance", state_key="finished") or 0
        await ctx.state.set(scope_kind="instance", state_key="finished", value=count + 1)

    ctx.events.on("agent.run.finished", on_finished)

    async def wake(params, context):
        result = await ctx.issues.request_wakeup(params["issueId"], params["companyId"])
        return {"runId": result.run_id, "version": VERSION}

    async def summary(params):
        found = await ctx.issues.summaries.get_orchestration(
            issue_id=params["issueId"], company_id=params["companyId"]
        )
        return found.model_dump(mode="json", by_alias=True)

    async def finished(params):
        return {
            "finished": await ctx.state.get(scope_kind="instance", state_key="finished") or 0,
            "version": VERSION,
        }

    ctx.actions.register("wake", wake)
    ctx.data.register("summary", summary)
    ctx.data.register("finished", finished)


plugin = define_plugin(setup=setup)
"""

LOOP_CAPABILITIES = [
    "issues.read",
    "issues.wakeup",
    "issues.orchestration.read",
    "events.subscribe",
    "plugin.state.read",
    "plugin.state.write",
]


def _zero_duration_profile(directory: Path) -> Path:
    path = directory / "agents.toml"
    path.write_text(
        "[defaults]\nduration_seconds = [0, 0]\nfailure_rate = 0.0\ntimeout_rate = 0.0\n"
        "model = 'claude-sonnet-4-5'\nprovider = 'anthropic'\n"
        "input_tokens = [100000, 100000]\noutput_tokens = [10000, 10000]\n"
        "input_price_cents_per_million = 300\noutput_price_cents_per_million = 1500\n"
    )
    return path


async def _poll_data(url: str, key: str, params: dict[str, Any], done: Any) -> Any:
    """Ask the host's data bridge until ``done(answer)`` holds (at most 60 s)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for _ in range(600):
            response = await client.post(
                f"/api/plugins/{LOOP_KEY}/bridge/data", json={"key": key, "params": params}
            )
            if response.status_code == 200 and done(response.json()["data"]):
                return response.json()["data"]
            await asyncio.sleep(0.1)
    raise AssertionError(f"{key} never satisfied the condition; last: {response.text}")


def test_wakeups_become_runs_and_costs_and_survive_a_hot_reload(
    empty_database_url: str, tmp_path: Path
) -> None:
    db = empty_database_url
    world = seeded(db)
    company_id, issue_id = world["company"]["id"], world["issue"]["id"]
    folder = write_plugin(
        tmp_path / "loop", LOOP_WORKER, key=LOOP_KEY, capabilities=LOOP_CAPABILITIES
    )
    ok(sandbox(db, "plugin", "install", str(folder)))
    host = ServeProcess(db, "--agent-profiles", str(_zero_duration_profile(tmp_path)))
    try:
        host.start()
        params = {"issueId": issue_id, "companyId": company_id}

        wake = json.dumps({"issueId": issue_id})
        woken = json.loads(
            ok(
                sandbox(
                    db, "action", LOOP_KEY, "wake", "--company", "ACM", "--params", wake, "--json"
                )
            )
        )
        assert woken["version"] == "v1"
        asyncio.run(_poll_data(host.url, "finished", params, lambda a: a["finished"] == 1))
        summary = asyncio.run(
            _poll_data(host.url, "summary", params, lambda a: a["costs"]["costCents"] > 0)
        )
        [run] = summary["runs"]
        assert (run["id"], run["status"]) == (woken["runId"], "succeeded")
        # 100,000 input tokens at 300 cents per million and 10,000 output at 1,500.
        assert summary["costs"] == {
            "costCents": 45,
            "inputTokens": 100_000,
            "cachedInputTokens": 0,
            "outputTokens": 10_000,
            "billingCode": None,
        }

        # Hot reload: the new code serves, and the event subscription still delivers once.
        worker = folder / "worker.py"
        worker.write_text(worker.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
        asyncio.run(_poll_data(host.url, "finished", params, lambda a: a["version"] == "v2"))
        again = json.loads(
            ok(
                sandbox(
                    db, "action", LOOP_KEY, "wake", "--company", "ACM", "--params", wake, "--json"
                )
            )
        )
        assert again["version"] == "v2"
        asyncio.run(_poll_data(host.url, "finished", params, lambda a: a["finished"] == 2))
        logs = ok(sandbox(db, "plugin", "logs", LOOP_KEY))
        assert "Plugin reloaded" in logs
        assert host.terminate() == 0
    finally:
        host.close()
