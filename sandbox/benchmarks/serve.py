"""``sandbox bench serve``: the long-running host (``sandbox serve``) measured as real processes.

For each backend, each measurement on a fresh migrated database (``sandbox.harness``'s
templates; one throwaway PostgreSQL server shared by all processes):

- ``route``: one ``sandbox serve --agents off`` process with a small Python plugin whose scoped
  route (``GET /ping``, auth ``board``, company from the query) answers from its worker.
  ``--requests`` requests at ``--concurrency`` over httpx after a warm-up: requests per second
  (wall time of the whole load), median and p95 latency. The client runs in this process on
  the same machine, so its own cost is part of every figure.
- ``runs``: ``--runs`` plugin wakeups (``issues.request_wakeup``) are queued with no host
  running, the agent is paused while 1 (then, on a fresh queue, 4) ``sandbox serve --agents
  simulate`` hosts start with a zero-duration, failure-free profile, and it is resumed once every
  host is listening. The clock runs from the resume to every run terminal (all must succeed).
  Pausing only keeps the first host from starting before the others are up.
- ``recovery``: a host with 30-second runs and a second host (``--agents off``, so only its
  liveness loop acts and a SIGTERM stops it at once); once the first holds its runs
  (``sandbox_run_leases``) it gets SIGKILL, and the clock runs until every run it held is
  ``failed`` with ``process_lost``. Hosts beat every 2 s and count as dead after 10 s of silence,
  so expect 8 to 12 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import statistics
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any, cast

import click
import httpx
import sqlalchemy as sa

from core.agents import create_agent
from core.companies import create_company
from core.host_services import build_host_services
from core.host_services.params import CreateIssue, RequestWakeup
from db import Database, tables
from db.connect import DATABASE_URL_ENV
from sandbox.benchmarks.backends import backend_option, emit, progress, selected, workdir
from sandbox.harness import Backend, SandboxDatabases
from sandbox.plugin_host import PluginHost

Report = Callable[[str], None]
_HOST_NUMBERS = itertools.count(1)

PLUGIN_KEY = "sandbox-bench.serve"
TERMINAL = ("succeeded", "failed", "cancelled", "timed_out")
#: Host counts of the runs measurement.
HOSTS = (1, 4)
#: Runs the victim of the recovery measurement holds (the simulator's concurrency per host).
RECOVERY_RUNS = 4
RECOVERY_RUN_SECONDS = 30
#: Seconds to wait for a host to listen, for runs to finish, for recovery.
START_TIMEOUT = 120.0
RUNS_TIMEOUT = 600.0
RECOVERY_TIMEOUT = 60.0
POLL_INTERVAL = 0.05

_MANIFEST: dict[str, Any] = {
    "id": PLUGIN_KEY,
    "apiVersion": 1,
    "version": "0.1.0",
    "displayName": "Serve benchmark",
    "description": "A trivial scoped route for sandbox bench serve.",
    "author": "paperclip-sandbox",
    "categories": ["automation"],
    "capabilities": ["api.routes.register"],
    "entrypoints": {"worker": "./worker.py"},
    "apiRoutes": [
        {
            "routeKey": "ping",
            "method": "GET",
            "path": "/ping",
            "auth": "board",
            "capability": "api.routes.register",
            "companyResolution": {"from": "query", "key": "companyId"},
        }
    ],
}

_WORKER = textwrap.dedent(
    """
    from sandbox.sdk import define_plugin, run_worker


    def setup(ctx):
        pass


    async def on_api_request(request):
        return {"status": 200, "body": {"pong": True, "company": request.company_id}}


    plugin = define_plugin(setup=setup, on_api_request=on_api_request)

    if __name__ == "__main__":
        run_worker(plugin)
    """
)


def write_plugin(directory: Path) -> Path:
    """The benchmark's plugin package (manifest and Python worker) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps(_MANIFEST, indent=2))
    (directory / "worker.py").write_text(_WORKER)
    return directory


def write_profile(path: Path, duration: float) -> Path:
    """An agent profile: every run takes ``duration`` seconds and succeeds."""
    path.write_text(
        "[defaults]\n"
        f"duration_seconds = [{duration}, {duration}]\n"
        "failure_rate = 0.0\ntimeout_rate = 0.0\n"
    )
    return path


class HostProcess:
    """A ``python -m sandbox serve --port 0 --json`` subprocess; its stderr goes to ``log``."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, stream: IO[str]) -> None:
        self.process = process
        self.log = log
        self._stream = stream
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())
        self.listening: dict[str, Any] = {}

    @classmethod
    async def start(cls, database: str, log: Path, *options: str) -> HostProcess:
        """Start the process (it is listening only after ``wait_listening``)."""
        env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
        stream = log.open("w")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--db",
            database,
            "--port=0",
            "--json",
            "--no-watch",
            *options,
            stdout=asyncio.subprocess.PIPE,
            stderr=stream,
            env=env,
        )
        return cls(process, log, stream)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                await self._events.put(json.loads(line))

    def _failure(self, what: str) -> click.ClickException:
        tail = self.log.read_text()[-2000:] if self.log.exists() else ""
        return click.ClickException(f"sandbox serve {what}; its stderr ends:\n{tail}")

    async def wait_listening(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """The ``listening`` event (``url``, ``hostId``, ``plugins``)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failure(f"did not listen within {timeout:g} s")
            try:
                event = await asyncio.wait_for(self._events.get(), min(remaining, 0.5))
            except TimeoutError:
                if self.process.returncode is not None:
                    raise self._failure(f"exited with {self.process.returncode}") from None
                continue
            if event.get("event") == "listening":
                self.listening = event
                return event

    @property
    def url(self) -> str:
        return str(self.listening["url"])

    @property
    def host_id(self) -> str:
        return str(self.listening["hostId"])

    def kill(self) -> None:
        """SIGKILL: the host dies without any cleanup."""
        if self.process.returncode is None:
            self.process.kill()

    async def close(self, timeout: float = 60) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout``)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
        await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self._stream.close()


@asynccontextmanager
async def hosts(
    database: str, logs: Path, count: int, *options: str
) -> AsyncIterator[list[HostProcess]]:
    """``count`` hosts started together, each listening when this yields; all stopped after."""
    started: list[HostProcess] = []
    try:
        for _ in range(count):
            log = logs / f"host-{next(_HOST_NUMBERS)}.log"
            started.append(await HostProcess.start(database, log, *options))
        await asyncio.gather(*(host.wait_listening() for host in started))
        yield started
    finally:
        await asyncio.gather(*(host.close() for host in started))


def database_url(db: Database) -> str:
    """What ``sandbox serve --db`` takes for ``db`` (password included)."""
    return db.url.render_as_string(hide_password=False)


def _p95(samples: Sequence[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(samples)
    return ordered[math.ceil(len(ordered) * 0.95) - 1]


async def _load(
    client: httpx.AsyncClient, path: str, count: int, concurrency: int
) -> tuple[list[float], float]:
    """``count`` GETs of ``path``, ``concurrency`` at a time; latencies (s) and wall time."""
    latencies: list[float] = []
    remaining = iter(range(count))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or response.json().get("pong") is not True:
                raise click.ClickException(
                    f"GET {path}: HTTP {response.status_code} {response.text[:300]}"
                )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def measure_route(
    db: Database, plugin: Path, logs: Path, requests: int, concurrency: int, report: Report
) -> dict[str, float]:
    """Requests per second and latency of the plugin's scoped route through one host."""
    company = await create_company(db, name="Bench route")
    async with PluginHost(db) as installer:
        await installer.install(plugin)
    async with hosts(database_url(db), logs, 1, "--agents", "off") as (host,):
        states = [(p["pluginKey"], p["status"]) for p in host.listening["plugins"]]
        if states != [(PLUGIN_KEY, "running")]:
            raise click.ClickException(f"the host did not run the plugin: {states}")
        path = f"/api/plugins/{PLUGIN_KEY}/api/ping?companyId={company.id}"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=host.url, timeout=60, limits=limits) as client:
            warmup = min(requests, max(100, 4 * concurrency))
            report(f"  warm-up: {warmup} requests ...")
            await _load(client, path, warmup, concurrency)
            report(f"  {requests} requests at concurrency {concurrency} ...")
            latencies, elapsed = await _load(client, path, requests, concurrency)
    return {
        "requests_per_s": round(requests / elapsed, 1),
        "route_median_ms": round(statistics.median(latencies) * 1000, 2),
        "route_p95_ms": round(_p95(latencies) * 1000, 2),
    }


async def _company(db: Database, name: str) -> tuple[str, str]:
    """A company with one idle engineer; returns their ids."""
    company = await create_company(db, name=name)
    agent = await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
    return company.id, agent.id


async def queue_wakeups(db: Database, company_id: str, agent_id: str, count: int) -> list[str]:
    """``count`` issues assigned to the agent, each woken as a plugin wakes it; run ids."""
    services = build_host_services(db, "sandbox-bench-serve", PLUGIN_KEY)
    run_ids: list[str] = []
    for n in range(count):
        issue = await services.issues.create(
            CreateIssue(
                company_id=company_id, title=f"Bench {n}", status="todo", assignee_agent_id=agent_id
            )
        )
        result = await services.issues.request_wakeup(
            RequestWakeup(issue_id=issue.id, company_id=company_id)
        )
        if not result.run_id:
            raise click.ClickException(f"request_wakeup queued no run: {result}")
        run_ids.append(result.run_id)
    return run_ids


async def _set_agent_status(db: Database, agent_id: str, status: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            sa.update(tables.agents).where(tables.agents.c.id == agent_id).values(status=status)
        )


async def _statuses(db: Database, company_id: str) -> Counter[str]:
    runs = tables.heartbeat_runs
    async with db.read() as session:
        rows = await session.execute(
            sa.select(runs.c.status, sa.func.count())
            .where(runs.c.company_id == company_id)
            .group_by(runs.c.status)
        )
        return Counter({status: count for status, count in rows})


async def measure_runs(
    db: Database, logs: Path, count: int, host_count: int, report: Report
) -> float:
    """Runs per second that ``host_count`` simulating hosts take from queued to terminal."""
    company_id, agent_id = await _company(db, f"Bench runs {host_count}")
    report(f"  queueing {count} plugin wakeups (no host running) ...")
    run_ids = await queue_wakeups(db, company_id, agent_id, count)
    queued = await _statuses(db, company_id)
    if queued != {"queued": count} or len(set(run_ids)) != count:
        raise click.ClickException(f"expected {count} queued runs, found {dict(queued)}")
    profile = write_profile(logs / "instant.toml", 0)
    await _set_agent_status(db, agent_id, "paused")  # no host claims until all listen
    report(f"  starting {host_count} host(s) ...")
    options = ("--agents", "simulate", "--agent-profiles", str(profile))
    async with hosts(database_url(db), logs, host_count, *options):
        await _set_agent_status(db, agent_id, "idle")
        started = time.perf_counter()
        deadline = started + RUNS_TIMEOUT
        while True:
            statuses = await _statuses(db, company_id)
            if sum(statuses[s] for s in TERMINAL) == count:
                break
            if time.perf_counter() > deadline:
                raise click.ClickException(f"runs not terminal in time: {dict(statuses)}")
            await asyncio.sleep(POLL_INTERVAL)
        elapsed = time.perf_counter() - started
    if statuses != {"succeeded": count}:
        raise click.ClickException(f"expected {count} succeeded runs, found {dict(statuses)}")
    report(f"  {count} runs in {elapsed:.2f} s")
    return round(count / elapsed, 1)


async def _held_by(db: Database, host_id: str) -> list[str]:
    leases = tables.sandbox_run_leases
    async with db.read() as session:
        rows = await session.scalars(sa.select(leases.c.run_id).where(leases.c.host_id == host_id))
        return [str(run_id) for run_id in rows]


async def _lost(db: Database, run_ids: list[str]) -> int:
    runs = tables.heartbeat_runs
    async with db.read() as session:
        found = await session.scalar(
            sa.select(sa.func.count()).where(
                runs.c.id.in_(run_ids),
                runs.c.status == "failed",
                runs.c.error_code == "process_lost",
            )
        )
        return int(found or 0)


async def measure_recovery(db: Database, logs: Path, report: Report) -> dict[str, float]:
    """Seconds from SIGKILL of a host holding runs to all its runs failed ``process_lost``."""
    company_id, agent_id = await _company(db, "Bench recovery")
    profile = write_profile(logs / "long.toml", RECOVERY_RUN_SECONDS)
    database = database_url(db)
    report("  starting 2 hosts ...")
    async with (
        hosts(database, logs, 1, "--agents", "simulate", "--agent-profiles", str(profile)) as (
            victim,
        ),
        hosts(database, logs, 1, "--agents", "off"),
    ):
        await queue_wakeups(db, company_id, agent_id, RECOVERY_RUNS)
        deadline = time.perf_counter() + RECOVERY_TIMEOUT
        while len(await _held_by(db, victim.host_id)) < RECOVERY_RUNS:
            if time.perf_counter() > deadline:
                raise click.ClickException("the victim host did not claim its runs in time")
            await asyncio.sleep(POLL_INTERVAL)
        report(f"  SIGKILL to the host holding {RECOVERY_RUNS} runs ...")
        killed = time.perf_counter()
        victim.kill()
        await victim.process.wait()
        held = await _held_by(db, victim.host_id)  # a dead host's leases no longer change
        while await _lost(db, held) < len(held):
            if time.perf_counter() - killed > RECOVERY_TIMEOUT:
                raise click.ClickException("the killed host's runs were not recovered in time")
            await asyncio.sleep(POLL_INTERVAL)
        elapsed = time.perf_counter() - killed
    report(f"  {len(held)} runs failed process_lost after {elapsed:.2f} s")
    return {"recovered_runs": len(held), "recovery_s": round(elapsed, 2)}


async def measure_backend(
    backend: str, directory: Path, requests: int, concurrency: int, runs: int, report: Report
) -> dict[str, Any]:
    """All figures of one backend, each measurement on a fresh database."""
    plugin = write_plugin(directory / "plugin")
    logs = directory / "logs"
    logs.mkdir()
    databases = SandboxDatabases(cast(Backend, backend), directory)
    figures: dict[str, Any] = {"requests": requests, "concurrency": concurrency, "runs": runs}
    try:
        report(f"{backend}: migrating a template database ...")
        await databases.start()
        report(f"{backend}: scoped route through one host ...")
        async with databases.database() as db:
            figures |= await measure_route(db, plugin, logs, requests, concurrency, report)
        for host_count in HOSTS:
            report(f"{backend}: {runs} runs claimed by {host_count} host(s) ...")
            async with databases.database() as db:
                rate = await measure_runs(db, logs, runs, host_count, report)
            figures[f"runs_per_s_{host_count}_host{'s' if host_count > 1 else ''}"] = rate
        report(f"{backend}: recovery of a killed host's runs ...")
        async with databases.database() as db:
            figures |= await measure_recovery(db, logs, report)
    finally:
        await databases.close()
    return figures


async def run_benchmark(
    backends: tuple[str, ...], requests: int, concurrency: int, runs: int, report: Report
) -> dict[str, Any]:
    """Measure each backend; returns ``{backend: figures}``."""
    figures: dict[str, Any] = {}
    with workdir() as directory:
        for backend in backends:
            backend_dir = directory / backend
            backend_dir.mkdir()
            backend_dir.chmod(0o755)
            figures[backend] = await measure_backend(
                backend, backend_dir, requests, concurrency, runs, report
            )
    return figures


def _table(figures: dict[str, Any]) -> str:
    backends = list(figures)
    first = figures[backends[0]]
    rows = [
        (
            f"route requests/s ({first['requests']} GETs, {first['concurrency']} at once)",
            "requests_per_s",
            ".0f",
        ),
        ("route latency median (ms)", "route_median_ms", ".2f"),
        ("route latency p95 (ms)", "route_p95_ms", ".2f"),
        (
            f"runs claimed to terminal per s, 1 host ({first['runs']} runs)",
            "runs_per_s_1_host",
            ".0f",
        ),
        (
            f"runs claimed to terminal per s, 4 hosts ({first['runs']} runs)",
            "runs_per_s_4_hosts",
            ".0f",
        ),
        (f"recovery of a SIGKILLed host's {first['recovered_runs']} runs (s)", "recovery_s", ".2f"),
    ]
    width = max(len(label) for label, _, _ in rows)
    lines = [f"{'sandbox serve':<{width}}" + "".join(f" {b:>10}" for b in backends)]
    for label, key, spec in rows:
        lines.append(
            f"{label:<{width}}" + "".join(f" {figures[b][key]:>10{spec}}" for b in backends)
        )
    lines.append(
        "route: scoped GET answered by the plugin's Python worker, httpx client on this machine;"
        " recovery: hosts beat every 2 s, dead after 10 s"
    )
    return "\n".join(lines)


@click.command("serve")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object keyed by backend.")
@click.option(
    "--requests", default=2_000, show_default=True, type=click.IntRange(1), help="Route GETs."
)
@click.option(
    "--concurrency",
    default=16,
    show_default=True,
    type=click.IntRange(1),
    help="Route GETs in flight at once.",
)
@click.option("--runs", default=500, show_default=True, type=click.IntRange(1), help="Queued runs.")
@backend_option
def serve_command(as_json: bool, requests: int, concurrency: int, runs: int, backend: str) -> None:
    """Measure sandbox serve processes: route throughput, runs per second, recovery time."""
    figures = asyncio.run(run_benchmark(selected(backend), requests, concurrency, runs, progress))
    emit(figures, as_json, _table)


__all__ = ["run_benchmark", "serve_command"]

if __name__ == "__main__":
    serve_command()
