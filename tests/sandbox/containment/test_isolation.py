"""OS-level containment of workers (sandbox/containment/): hostile Python and Node workers try
every escape and each one fails, on both backends, with the database unchanged; a worker's exit
is its end, for all its descendants, also when the host is SIGKILLed; the opt-outs and the notice
where the kernel cannot contain."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core.plugin_trust import set_trusted
from db import Database
from db.models import metadata
from db.templates import POSTGRES_URL_ENV
from sandbox.containment.kernel import KernelSupport
from sandbox.containment.launcher import sweep_private_folders
from sandbox.containment.policy import ContainmentSettings
from sandbox.plugin_host import PluginHost
from sandbox.protocol import WorkerUnavailable
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import FAST, ROOT, ensure_npm_installed

ESCAPE = {
    "python": ROOT / "fixtures" / "plugins" / "escape-python",
    "js": ROOT / "fixtures" / "plugins" / "escape-js",
}
SECRET_NAME = "SANDBOX_TEST_HOST_SECRET"
#: Calls wait long enough that a crash noticed only at the call's timeout would show.
TIMINGS = dataclasses.replace(FAST, call=30.0)
#: Tables a worker's stderr and calls legitimately write to.
_LOG_TABLES = {"plugin_logs", "plugin_capability_usage"}


@pytest.fixture(params=["python", "js"])
def escape_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "js":
        ensure_npm_installed(ESCAPE["js"])
    return str(request.param)


@pytest.fixture
async def host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="subprocess", timings=TIMINGS) as plugin_host:
        yield plugin_host


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP server and a UDP socket of the host on one loopback port."""
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        tcp.setblocking(False)
        udp.bind(("127.0.0.1", tcp.getsockname()[1]))
        udp.setblocking(False)
        yield tcp, udp


def _postgres_socket() -> str | None:
    url = os.environ.get(POSTGRES_URL_ENV)
    if url is None:
        return None
    parsed = make_url(url)
    folder = parsed.query.get("host") or parsed.host
    if not isinstance(folder, str) or not folder.startswith("/"):
        return None
    return f"{folder}/.s.PGSQL.{parsed.port or 5432}"


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.read() as session:
        return {
            table.name: sorted(map(repr, (await session.execute(sa.select(table))).all()))
            for table in metadata.sorted_tables
            if table.name not in _LOG_TABLES
        }


#: The attempts the tests of uncontained workers make (others would block or take long there).
UNCONTAINED_ATTEMPTS = ["list-other-pids", "tcp-connect", "read-secret-env"]


def _escape_params(db: Database, tmp_path: Path, port: int, **extra: Any) -> dict[str, Any]:
    other = tmp_path / "other-plugin"
    other.mkdir(exist_ok=True)
    (other / "manifest.json").write_text('{"secret": "of another plugin"}')
    return {
        "hostPid": os.getpid(),
        "dbPath": db.engine.url.database if db.engine.url.get_backend_name() == "sqlite" else None,
        "postgresSocket": _postgres_socket(),
        "tcpPort": port,
        "secretName": SECRET_NAME,
        "outsidePath": str(tmp_path / "escaped.txt"),
        "otherPluginFile": str(other / "manifest.json"),
        **extra,
    }


def _pending(tcp: socket.socket, udp: socket.socket) -> list[str]:
    """What reached the host's sockets."""
    reached = []
    try:
        tcp.accept()[0].close()
        reached.append("tcp")
    except BlockingIOError:
        pass
    try:
        udp.recv(64)
        reached.append("udp")
    except BlockingIOError:
        pass
    return reached


async def test_every_escape_of_a_hostile_worker_fails_and_the_database_is_unchanged(
    host: PluginHost,
    db: Database,
    escape_kind: str,
    listener: tuple[socket.socket, socket.socket],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_NAME, "the host's secret")
    record = await host.install(ESCAPE[escape_kind])
    before = await _snapshot(db)
    params = _escape_params(db, tmp_path, listener[0].getsockname()[1])
    if params["dbPath"] is None:
        assert params["postgresSocket"] is not None  # the PostgreSQL leg tries the server's socket

    results = await host.perform_action(record.plugin_key, "escape", params)

    assert results.pop("write-temp-folder").startswith("ESCAPED: ")  # its one writable place
    fork_bomb = results.pop("fork-bomb")
    if os.geteuid() == 0:
        # The kernel does not apply RLIMIT_NPROC to real root; the fixture's 100 are bounded by
        # the test and die with the worker (see the lifecycle tests).
        assert fork_bomb.startswith("ESCAPED: ")
    else:
        assert fork_bomb.startswith("blocked: "), fork_bomb
    escaped = {name: result for name, result in results.items() if not result.startswith("blocked")}
    assert escaped == {}
    assert "exceed-open-files" in results and "exceed-memory" in results
    assert _pending(*listener) == []
    assert not (tmp_path / "escaped.txt").exists()
    assert not (ESCAPE[escape_kind] / "escaped.txt").exists()
    assert await _snapshot(db) == before
    # The worker still answers after all that.
    assert (await host.perform_action(record.plugin_key, "escape", params))["list-other-pids"]


async def _reactivate(host: PluginHost, plugin_id: str) -> None:
    """Stop and start the plugin's worker; its launcher (trusted or not) is chosen again."""
    await host.disable(plugin_id)
    await host.enable(plugin_id)


def _descendants(pid: int) -> list[psutil.Process]:
    """The process and its descendants now ([] once it is gone; a process that ends while
    the tree is read is left out)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


async def _tree_of_at_least(pid: int, count: int) -> list[psutil.Process]:
    """The tree once it has ``count`` processes (a detached grandchild starts a moment after
    the action that spawned it answered)."""
    await wait_until(lambda: len(_descendants(pid)) >= count, timeout=10)
    return _descendants(pid)


def _sessions(processes: list[psutil.Process]) -> set[int]:
    """The sessions of those processes still running."""
    sessions = set()
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            sessions.add(os.getsid(process.pid))
    return sessions


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _all_gone(processes: list[psutil.Process]) -> bool:
    return not any(_alive(p) for p in processes)


async def test_processes_a_worker_leaves_behind_die_with_it(
    host: PluginHost, escape_kind: str
) -> None:
    record = await host.install(ESCAPE[escape_kind])
    active = host.active(record.plugin_key)
    assert active is not None and active.worker.pid is not None

    await host.perform_action(record.plugin_key, "spawn", {})
    # unshare, the jail, the worker, its child, its detached grandchild
    tree = await _tree_of_at_least(active.worker.pid, 5)
    await wait_until(lambda: len(_sessions(tree)) >= 2)  # one left the worker's session

    await host.disable(record.id)
    await wait_until(lambda: _all_gone(tree), timeout=10)


@pytest.mark.parametrize(
    ("trusted", "setsid"),
    [
        pytest.param(False, True, id="contained"),
        pytest.param(True, False, id="uncontained"),
        pytest.param(True, True, id="uncontained-setsid-child"),
    ],
)
async def test_a_worker_exiting_under_a_child_that_holds_its_stdio_crashes_at_once(
    host: PluginHost, db: Database, escape_kind: str, trusted: bool, setsid: bool
) -> None:
    record = await host.install(ESCAPE[escape_kind])
    if trusted:
        await set_trusted(db, record.id, True)
        await _reactivate(host, record.id)
    started = time.monotonic()
    with pytest.raises(WorkerUnavailable, match=r"Worker process exited \(code=5"):
        await host.perform_action(record.plugin_key, "fork-and-exit", {"setsid": setsid})
    assert time.monotonic() - started < 5  # the call's timeout is 30 s


_HOST_SCRIPT = """
import asyncio, json, sys
from db import create_db
from sandbox.plugin_host import PluginHost

async def main(url, package):
    db = create_db(url)
    host = PluginHost(db)
    record = await host.install(package)
    await host.perform_action(record.plugin_key, "spawn", {})
    print(json.dumps({"worker": host.active(record.plugin_key).worker.pid}), flush=True)
    await asyncio.sleep(600)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_a_killed_host_takes_its_workers_and_their_children_with_it(
    db: Database, escape_kind: str, tmp_path: Path
) -> None:
    script = tmp_path / "host.py"
    script.write_text(_HOST_SCRIPT)
    url = db.engine.url.render_as_string(hide_password=False)
    await db.dispose()  # the script's host owns the database while it runs
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        url,
        str(ESCAPE[escape_kind]),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        tree = await _tree_of_at_least(json.loads(line)["worker"], 5)
        spec = json.loads(tree[0].cmdline()[-1])  # tree[0] is unshare, running the jail
        private = Path(spec["write"]).parent
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    await wait_until(lambda: _all_gone(tree), timeout=10)
    # The dead host could not remove its worker's private folder; the next contained start does.
    assert private.is_dir()
    sweep_private_folders()
    assert not private.exists()


async def test_a_trusted_plugin_runs_uncontained(
    host: PluginHost,
    db: Database,
    listener: tuple[socket.socket, socket.socket],
    tmp_path: Path,
) -> None:
    record = await host.install(ESCAPE["python"])
    assert await set_trusted(db, record.id, True)
    await _reactivate(host, record.id)
    port = listener[0].getsockname()[1]
    params = _escape_params(db, tmp_path, port, only=UNCONTAINED_ATTEMPTS)

    results = await host.perform_action(record.plugin_key, "escape", params)

    assert results["list-other-pids"].startswith("ESCAPED: ")
    assert results["tcp-connect"] == "ESCAPED: 'connected'"
    # Uncontained is not unrestricted: the environment is still the allow-list.
    assert results["read-secret-env"].startswith("blocked: ")
    assert await set_trusted(db, record.id, False)
    await _reactivate(host, record.id)
    results = await host.perform_action(record.plugin_key, "escape", params)
    assert results["tcp-connect"].startswith("blocked: ")


async def test_where_the_kernel_cannot_contain_one_notice_and_workers_run_uncontained(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kernel = KernelSupport(landlock_abi=0, namespaces=False, missing="Landlock is not enabled")
    async with PluginHost(db, timings=TIMINGS, kernel=kernel) as host:
        with caplog.at_level(logging.WARNING, logger="sandbox.plugin_host"):
            record = await host.install(ESCAPE["python"])
            await _reactivate(host, record.id)
        params = _escape_params(db, tmp_path, 9, only=UNCONTAINED_ATTEMPTS)
        results = await host.perform_action(record.plugin_key, "escape", params)
    notices = [r.getMessage() for r in caplog.records if "uncontained" in r.getMessage()]
    assert notices == [
        "Plugin workers run uncontained: Landlock is not enabled "
        "(set SANDBOX_CONTAINMENT=off to run them so without this notice)"
    ]
    assert results["list-other-pids"].startswith("ESCAPED: ")


async def test_the_global_opt_out_runs_workers_uncontained(db: Database, tmp_path: Path) -> None:
    settings = ContainmentSettings.from_env({"SANDBOX_CONTAINMENT": "off"})
    assert settings.enabled is False
    async with PluginHost(db, timings=TIMINGS, containment=settings) as host:
        record = await host.install(ESCAPE["python"])
        results = await host.perform_action(
            record.plugin_key, "escape", _escape_params(db, tmp_path, 9, only=UNCONTAINED_ATTEMPTS)
        )
    assert results["list-other-pids"].startswith("ESCAPED: ")


async def test_a_worker_out_of_cpu_time_crashes_with_the_limit_named(
    db: Database, escape_kind: str
) -> None:
    settings = ContainmentSettings(cpu_seconds=1)
    async with PluginHost(db, timings=TIMINGS, containment=settings) as host:
        record = await host.install(ESCAPE[escape_kind])
        with pytest.raises(WorkerUnavailable) as crashed:
            await host.perform_action(record.plugin_key, "spin", {})
    assert "signal=SIGXCPU" in crashed.value.message
    assert "Worker used its 1 s of CPU time (SANDBOX_WORKER_CPU_SECONDS)" in crashed.value.message
