"""The in-process runner (sandbox/inprocess.py): the SDK dispatch inside the host's loop, driven
by the same WorkerProcess and the same JSON round trip as a subprocess."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sandbox.inprocess import InProcessLauncher, load_python_plugin
from sandbox.protocol import ErrorCode, RpcError
from sandbox.sdk import ActionContext, PluginContext, define_plugin
from sandbox.worker_launch import LaunchedWorker, WorkerExit
from sandbox.worker_process import (
    InitializeParams,
    WorkerCrashed,
    WorkerEvent,
    WorkerProcess,
    WorkerRestarted,
    WorkerStatus,
)
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import FAST, RecordingHost

WORKER_MODULE = """
from sandbox.sdk import define_plugin, run_worker

plugin = define_plugin(setup=lambda ctx: ctx.data.register("where", lambda params: __name__))

if __name__ == "__main__":
    run_worker(plugin)
"""


class TestLoadPythonPlugin:
    def test_from_a_file_without_running_it_as_main(self, tmp_path: Path) -> None:
        (tmp_path / "worker.py").write_text(textwrap.dedent(WORKER_MODULE))
        plugin = load_python_plugin("./worker.py", package_root=tmp_path)
        assert plugin.setup is not None

    def test_from_a_module(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tmp_path / "acme_probe_worker.py").write_text(textwrap.dedent(WORKER_MODULE))
        monkeypatch.syspath_prepend(str(tmp_path))
        plugin = load_python_plugin("python:acme_probe_worker", package_root=tmp_path)
        assert plugin.on_health is None

    def test_a_module_without_a_plugin(self, tmp_path: Path) -> None:
        (tmp_path / "empty.py").write_text("value = 1\n")
        with pytest.raises(TypeError, match=r'Python worker "empty.py" defines no plugin'):
            load_python_plugin("empty.py", package_root=tmp_path)


class RecordingLauncher(InProcessLauncher):
    """The in-process launcher, keeping every worker it launched."""

    launched: list[LaunchedWorker]

    async def launch(self) -> LaunchedWorker:
        worker = await super().launch()
        self.launched = [*getattr(self, "launched", []), worker]
        return worker


def _setup(ctx: PluginContext) -> None:
    def as_set(params: dict[str, Any], context: ActionContext) -> set[int]:
        return {1, 2}

    ctx.actions.register("set", as_set)


async def test_every_message_really_goes_through_json() -> None:
    host = RecordingHost()
    process = WorkerProcess(
        plugin_id="p",
        launcher=InProcessLauncher(define_plugin(setup=_setup)),
        initialize=InitializeParams(manifest={"id": "p"}),
        handler=host.handle,
        timings=FAST,
    )
    await process.start()
    try:
        with pytest.raises(RpcError) as raised:
            await process.call("performAction", {"key": "set", "params": {}})
    finally:
        await process.stop()
    assert (raised.value.code, raised.value.message) == (
        ErrorCode.WORKER_ERROR,
        "Object of type set is not JSON serializable",
    )


async def test_a_killed_in_process_worker_is_restarted() -> None:
    events: list[WorkerEvent] = []
    launcher = RecordingLauncher(define_plugin(setup=_setup))
    process = WorkerProcess(
        plugin_id="p",
        launcher=launcher,
        initialize=InitializeParams(manifest={"id": "p"}),
        handler=RecordingHost().handle,
        on_event=events.append,
        timings=FAST,
    )
    await process.start()
    try:
        launcher.launched[0].send_signal(signal.SIGKILL)
        assert await launcher.launched[0].wait() == WorkerExit(None, "SIGKILL")
        await wait_until(lambda: any(isinstance(e, WorkerRestarted) for e in events))
        (crash,) = [e for e in events if isinstance(e, WorkerCrashed)]
        assert crash.reason == "Worker process exited (code=null, signal=SIGKILL)"
        assert process.status is WorkerStatus.RUNNING and len(launcher.launched) == 2
    finally:
        await process.stop()
    assert await launcher.launched[1].wait() == WorkerExit(0)
