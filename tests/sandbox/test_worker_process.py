"""A worker's life (sandbox/worker_process.py), with real subprocesses that misbehave on purpose:
they never answer, write garbage, crash mid-call, crash-loop, or ignore shutdown and SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.protocol import (
    ErrorCode,
    RpcError,
    RpcTimeout,
    WorkerLimits,
    WorkerStartError,
    WorkerUnavailable,
)
from sandbox.worker_launch import SubprocessLauncher, WorkerCommand, WorkerLauncher
from sandbox.worker_process import (
    STDERR_TAIL_CHARS,
    InitializeParams,
    WorkerCrashed,
    WorkerEvent,
    WorkerProcess,
    WorkerRestarted,
    WorkerStatus,
    WorkerStatusChanged,
    WorkerTimings,
    backoff_delay,
)
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import FAST, RecordingHost, scripted_worker

MANIFEST = {"id": "acme.test", "apiVersion": 1}

#: Answers every call with its own params, after writing the request to stderr.
ECHO = """
def handle(message):
    if "method" in message:
        print(json.dumps(message), file=sys.stderr, flush=True)
        reply(message, message.get("params"))
serve(handle)
"""


class Worker:
    """A ``WorkerProcess`` under test, with everything it reports recorded."""

    def __init__(self, launcher: WorkerLauncher, **options: Any) -> None:
        self.host = RecordingHost()
        self.events: list[WorkerEvent] = []
        self.restarts = 0
        self.process = WorkerProcess(
            plugin_id="plugin-under-test",
            launcher=launcher,
            initialize=options.pop("initialize", InitializeParams(manifest=MANIFEST)),
            handler=self.host.handle,
            on_notification=self.host.notify,
            on_output=self.host.on_output,
            on_event=self.events.append,
            on_restart=self._restarted,
            timings=options.pop("timings", FAST),
            **options,
        )

    def _restarted(self) -> None:
        self.restarts += 1

    def crashes(self) -> list[WorkerCrashed]:
        return [event for event in self.events if isinstance(event, WorkerCrashed)]

    def statuses(self) -> list[str]:
        return [e.status for e in self.events if isinstance(e, WorkerStatusChanged)]

    def stderr(self) -> list[str]:
        return [line for stream, line in self.host.output if stream == "stderr"]


@pytest.fixture
async def workers() -> Any:
    """Makes ``Worker``s and stops them all at the end of the test."""
    made: list[Worker] = []

    def make(launcher: WorkerLauncher, **options: Any) -> Worker:
        made.append(Worker(launcher, **options))
        return made[-1]

    yield make
    for worker in made:
        await worker.process.stop()


class TestBackoffDelay:
    @pytest.mark.parametrize(
        ("crashes", "rand", "delay"),
        [(1, 0.5, 1.0), (1, 0.0, 0.75), (3, 0.5, 4.0), (3, 1.0, 5.0), (10, 0.5, 300.0)],
    )
    def test_doubles_with_jitter_and_a_cap(self, crashes: int, rand: float, delay: float) -> None:
        assert backoff_delay(crashes, WorkerTimings(), rand) == pytest.approx(delay)


def test_initialize_params_on_the_wire() -> None:
    params = InitializeParams(manifest=MANIFEST, config={"k": 1}, database_namespace="plugin_x")
    assert params.to_wire() == {
        "manifest": MANIFEST,
        "config": {"k": 1},
        "instanceInfo": {"instanceId": "default", "hostVersion": "0.0.0"},
        "apiVersion": 1,
        "databaseNamespace": "plugin_x",
    }


async def test_start_call_stop(tmp_path: Path, workers: Any) -> None:
    worker = workers(scripted_worker(tmp_path, ECHO))
    await worker.process.start()
    assert worker.process.status is WorkerStatus.RUNNING and worker.process.pid
    assert await worker.process.call("getData", {"key": "k"}) == {"key": "k"}
    await wait_until(lambda: len(worker.stderr()) == 1)
    assert json.loads(worker.stderr()[0])["params"] == {"key": "k"}
    await worker.process.stop()
    assert worker.statuses() == ["starting", "running", "stopping", "stopped"]
    assert worker.crashes() == []
    with pytest.raises(WorkerUnavailable) as raised:
        await worker.process.call("health", {})
    assert (
        raised.value.message
        == 'Cannot call "health" — worker for "plugin-under-test" is stopped (plugin acme.test)'
    )


async def test_a_second_start_is_refused(tmp_path: Path, workers: Any) -> None:
    worker = workers(scripted_worker(tmp_path, ECHO))
    await worker.process.start()
    with pytest.raises(
        WorkerStartError,
        match=r'Worker for plugin "plugin-under-test" is already running \(plugin acme\.test\)$',
    ):
        await worker.process.start()


async def test_initialize_that_never_answers_fails_the_start(tmp_path: Path, workers: Any) -> None:
    silent = "for line in sys.stdin:\n    pass\n"
    timings = dataclasses.replace(FAST, initialize=0.2)
    worker = workers(scripted_worker(tmp_path, silent), timings=timings)
    with pytest.raises(WorkerStartError) as raised:
        await worker.process.start()
    assert raised.value.message == (
        'Worker initialize failed for "plugin-under-test": '
        'RPC call "initialize" timed out after 200ms (plugin acme.test)'
    )
    assert worker.process.status is WorkerStatus.CRASHED
    assert worker.crashes() == []  # a failed start is not a crash, and is not retried


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            "for line in sys.stdin:\n    reply(json.loads(line), {'ok': False})\n",
            "Worker initialize returned ok=false (plugin acme.test)",
            id="ok-false",
        ),
        pytest.param(
            "sys.stdin.readline()\nprint('setup exploded', file=sys.stderr)\nsys.exit(2)\n",
            "Worker process exited (code=2, signal=null) (plugin acme.test)"
            "\n\nWorker stderr:\nsetup exploded",
            id="exit",
        ),
    ],
)
async def test_initialize_failures(tmp_path: Path, workers: Any, body: str, reason: str) -> None:
    worker = workers(scripted_worker(tmp_path, body))
    with pytest.raises(WorkerStartError) as raised:
        await worker.process.start()
    assert raised.value.message == f'Worker initialize failed for "plugin-under-test": {reason}'


async def test_initialize_params_that_are_not_json_leave_no_process(
    tmp_path: Path, workers: Any
) -> None:
    params = InitializeParams(manifest={"id": "x", "bad": object()})
    worker = workers(scripted_worker(tmp_path, ECHO), initialize=params)
    with pytest.raises(TypeError, match="not JSON serializable"):
        await worker.process.start()
    assert worker.process.status is WorkerStatus.CRASHED
    pid = worker.process.pid
    assert pid is not None
    await wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid))


async def test_a_worker_that_cannot_be_spawned(tmp_path: Path, workers: Any) -> None:
    missing = SubprocessLauncher(WorkerCommand((str(tmp_path / "no-such-node"),), {}))
    worker = workers(missing)
    with pytest.raises(WorkerStartError, match="Worker process failed to start: "):
        await worker.process.start()
    assert worker.process.status is WorkerStatus.CRASHED


async def test_a_call_the_worker_never_answers_times_out(tmp_path: Path, workers: Any) -> None:
    body = "serve(lambda message: None)\n"
    worker = workers(scripted_worker(tmp_path, body))
    await worker.process.start()
    with pytest.raises(RpcTimeout, match='RPC call "getData" timed out after 100ms'):
        await worker.process.call("getData", {}, timeout=0.1)
    assert worker.process.status is WorkerStatus.RUNNING
    assert worker.process.diagnostics().pending_calls == 0


async def test_garbage_and_oversized_lines_do_not_stop_the_host(
    tmp_path: Path, workers: Any
) -> None:
    body = """
def handle(message):
    sys.stdout.write("garbage before the answer\\n")
    sys.stdout.write('{"jsonrpc": "2.0", "id": 99, "result": 1}\\n')
    if message["params"].get("big"):
        reply(message, "x" * 5000)
    else:
        sys.stdout.write("z" * 5000 + "\\n")
        reply(message, "fine")
serve(handle)
"""
    worker = workers(scripted_worker(tmp_path, body), limits=WorkerLimits(max_message_bytes=1024))
    await worker.process.start()
    with pytest.raises(RpcError) as raised:
        await worker.process.call("getData", {"big": True})
    assert raised.value.code == ErrorCode.INTERNAL_ERROR
    assert "exceeds the limit of 1024 bytes" in raised.value.message
    assert await worker.process.call("getData", {}) == "fine"
    assert ("stdout", "garbage before the answer") in worker.host.output


async def test_a_crash_mid_call_fails_it_and_the_worker_comes_back(
    tmp_path: Path, workers: Any
) -> None:
    body = """
def handle(message):
    if message.get("method") == "performAction":
        print("dying now", file=sys.stderr, flush=True)
        os._exit(7)
    reply(message, "alive")
serve(handle)
"""
    worker = workers(scripted_worker(tmp_path, body))
    await worker.process.start()
    first_pid = worker.process.pid
    with pytest.raises(WorkerUnavailable) as raised:
        await worker.process.call("performAction", {"key": "x"})
    assert raised.value.message == (
        "Worker process exited (code=7, signal=null)\n\nWorker stderr:\ndying now"
    )
    await wait_until(lambda: any(isinstance(e, WorkerRestarted) for e in worker.events))
    assert worker.process.status is WorkerStatus.RUNNING and worker.process.pid != first_pid
    assert worker.restarts == 1
    (crash,) = worker.crashes()
    assert crash.will_restart and crash.consecutive_crashes == 1
    assert crash.exit is not None and crash.exit.code == 7
    assert worker.statuses()[2:] == ["crashed", "backoff", "starting", "running"]
    assert worker.process.diagnostics().consecutive_crashes == 0
    assert await worker.process.call("health", {}) == "alive"


async def test_a_worker_killed_by_a_signal(tmp_path: Path, workers: Any) -> None:
    body = "serve(lambda message: os.kill(os.getpid(), signal.SIGKILL))\n"
    worker = workers(scripted_worker(tmp_path, body))
    await worker.process.start()
    with pytest.raises(
        WorkerUnavailable, match=r"^Worker process exited \(code=null, signal=SIGKILL\)$"
    ):
        await worker.process.call("health", {})


def _crash_loop(tmp_path: Path) -> SubprocessLauncher:
    """Starts once; crashes on its first call; every later start dies before initialize."""
    marker = tmp_path / "started-once"
    body = f"""
marker = {str(marker)!r}
if os.path.exists(marker):
    print("cannot start again", file=sys.stderr)
    sys.exit(1)
open(marker, "w").close()
serve(lambda message: os._exit(3))
"""
    return scripted_worker(tmp_path, body)


async def test_restarts_give_up_after_too_many_consecutive_crashes(
    tmp_path: Path, workers: Any
) -> None:
    timings = dataclasses.replace(FAST, max_consecutive_crashes=2)
    worker = workers(_crash_loop(tmp_path), timings=timings)
    await worker.process.start()
    with pytest.raises(WorkerUnavailable):
        await worker.process.call("health", {})
    await wait_until(lambda: worker.process.gave_up)
    assert worker.process.status is WorkerStatus.CRASHED
    assert [(c.consecutive_crashes, c.will_restart) for c in worker.crashes()] == [
        (1, True),
        (2, True),
        (3, False),
    ]
    assert worker.crashes()[-1].reason.endswith("Worker stderr:\ncannot start again")
    assert worker.restarts == 2
    with pytest.raises(WorkerUnavailable, match="is crashed"):
        await worker.process.call("health", {})
    (tmp_path / "started-once").unlink()
    await worker.process.start()  # a manual start clears the give-up
    assert worker.process.status is WorkerStatus.RUNNING and not worker.process.gave_up


async def test_crashes_far_apart_are_not_consecutive_and_stop_cancels_the_restart(
    tmp_path: Path, workers: Any
) -> None:
    timings = dataclasses.replace(FAST, max_consecutive_crashes=2, crash_window=0.0)
    worker = workers(_crash_loop(tmp_path), timings=timings)
    await worker.process.start()
    with pytest.raises(WorkerUnavailable):
        await worker.process.call("health", {})
    await wait_until(lambda: len(worker.crashes()) >= 4)
    assert {c.consecutive_crashes for c in worker.crashes()} == {1}
    await worker.process.stop()
    assert worker.process.status is WorkerStatus.STOPPED
    crashes = len(worker.crashes())
    await asyncio.sleep(0.3)  # several backoff periods: no restart may happen any more
    assert len(worker.crashes()) == crashes
    assert worker.process.status is WorkerStatus.STOPPED


async def test_stop_during_a_restart_kills_the_half_started_worker(
    tmp_path: Path, workers: Any
) -> None:
    marker = tmp_path / "started-once"
    body = f"""
marker = {str(marker)!r}
if os.path.exists(marker):
    print(os.getpid(), file=sys.stderr, flush=True)
    time.sleep(60)  # never answers initialize
open(marker, "w").close()
serve(lambda message: os._exit(3))
"""
    worker = workers(scripted_worker(tmp_path, body))
    await worker.process.start()
    with pytest.raises(WorkerUnavailable):
        await worker.process.call("health", {})
    await wait_until(lambda: len(worker.stderr()) == 1)
    hung_pid = int(worker.stderr()[0])
    started = time.monotonic()
    await worker.process.stop()
    assert time.monotonic() - started < 2
    assert worker.process.status is WorkerStatus.STOPPED
    await wait_until(lambda: not Path(f"/proc/{hung_pid}").exists() or _zombie(hung_pid))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


async def test_stop_escalates_to_sigterm_then_sigkill(
    tmp_path: Path, workers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = """
def ignore(signum, frame):
    print("ignoring SIGTERM", file=sys.stderr, flush=True)
signal.signal(signal.SIGTERM, ignore)
for line in sys.stdin:
    message = json.loads(line)
    if message.get("method") == "initialize":
        reply(message, {"ok": True})
"""
    timings = dataclasses.replace(FAST, shutdown=0.2, terminate=0.2)
    worker = workers(scripted_worker(tmp_path, body), timings=timings)
    await worker.process.start()
    with caplog.at_level(logging.WARNING, logger="sandbox.worker_process"):
        await worker.process.stop()
    assert worker.process.status is WorkerStatus.STOPPED
    assert "ignoring SIGTERM" in worker.stderr()
    sent = [r.getMessage() for r in caplog.records if "sending" in r.getMessage()]
    assert sent == [
        "plugin acme.test: worker still running, sending SIGTERM",
        "plugin acme.test: worker still running, sending SIGKILL",
    ]
    assert worker.crashes() == []


async def test_a_worker_that_answers_shutdown_but_stays_gets_sigterm(
    tmp_path: Path, workers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = """
for line in sys.stdin:
    message = json.loads(line)
    reply(message, {"ok": True} if message.get("method") == "initialize" else None)
"""
    worker = workers(scripted_worker(tmp_path, body))
    await worker.process.start()
    with caplog.at_level(logging.WARNING, logger="sandbox.worker_process"):
        await worker.process.stop()
    assert [r.getMessage() for r in caplog.records if "sending" in r.getMessage()] == [
        "plugin acme.test: worker still running, sending SIGTERM"
    ]


async def test_stderr_is_passed_on_line_by_line_and_its_tail_kept(
    tmp_path: Path, workers: Any
) -> None:
    body = """
for number in range(400):
    print(f"line {number:03d} " + "." * 40, file=sys.stderr)
sys.stderr.flush()
serve(lambda message: reply(message, "ok"))
"""
    worker = workers(scripted_worker(tmp_path, body))
    await worker.process.start()
    await wait_until(lambda: len(worker.stderr()) == 400)
    assert worker.stderr()[0].startswith("line 000 ")
    tail = worker.process.stderr_tail
    assert len(tail) == STDERR_TAIL_CHARS
    assert tail.endswith("line 399 " + "." * 40)


async def test_notifications_only_reach_a_running_worker(tmp_path: Path, workers: Any) -> None:
    body = """
def handle(message):
    if "id" not in message:
        print(message["method"], file=sys.stderr, flush=True)
    else:
        reply(message, None)
serve(handle)
"""
    worker = workers(scripted_worker(tmp_path, body))
    worker.process.notify("onEvent", {"event": {}})  # not started: dropped
    await worker.process.start()
    worker.process.notify("onEvent", {"event": {}})
    await wait_until(lambda: worker.stderr() == ["onEvent"])


async def test_config_updates_reach_the_worker_and_later_restarts(
    tmp_path: Path, workers: Any
) -> None:
    body = """
for line in sys.stdin:
    message = json.loads(line)
    if message.get("method") == "initialize":
        print(json.dumps(message["params"]["config"]), file=sys.stderr, flush=True)
        reply(message, {"ok": True})
    elif message.get("method") == "shutdown":
        reply(message, None)
        sys.exit(0)
    else:
        print(json.dumps(message["params"]), file=sys.stderr, flush=True)
        reply(message, None)
"""
    worker = workers(scripted_worker(tmp_path, body))
    await worker.process.start()
    await worker.process.update_config({"mode": "new"})
    await worker.process.restart()
    await wait_until(lambda: len(worker.stderr()) == 3)
    assert [json.loads(line) for line in worker.stderr()] == [
        {},
        {"config": {"mode": "new"}},
        {"mode": "new"},
    ]
    assert worker.restarts == 1
    assert any(isinstance(event, WorkerRestarted) for event in worker.events)
