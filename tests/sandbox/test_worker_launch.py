"""Worker commands, environment and the subprocess launcher (sandbox/worker_launch.py)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from sandbox.worker_launch import (
    NODE_BOOTSTRAP,
    SANDBOX_ROOT,
    LaunchedWorker,
    SubprocessLauncher,
    WorkerCommand,
    WorkerExit,
    worker_command,
    worker_environment,
)


class TestWorkerEnvironment:
    def test_only_the_allow_list_is_inherited(self) -> None:
        source = {"PATH": "/bin", "NODE_PATH": "/lib/node", "DATABASE_URL": "secret", "HOME": "/r"}
        assert worker_environment("p1", source=source) == {
            "PATH": "/bin",
            "NODE_PATH": "/lib/node",
            "PAPERCLIP_PLUGIN_ID": "p1",
            "NODE_ENV": "production",
            "TZ": "UTC",
        }

    def test_host_node_env_and_tz_are_kept_and_extras_win(self) -> None:
        source = {"NODE_ENV": "development", "TZ": "Europe/Paris"}
        env = worker_environment("p1", {"TZ": "Asia/Tokyo", "API": "x"}, source=source)
        assert env == {
            "PAPERCLIP_PLUGIN_ID": "p1",
            "NODE_ENV": "development",
            "TZ": "Asia/Tokyo",
            "API": "x",
        }


class TestWorkerCommand:
    def test_a_js_entrypoint_runs_under_node_at_its_real_path(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "dist").mkdir()
        real = tmp_path / "dist" / "worker.js"
        real.write_text("")
        (tmp_path / "linked.mjs").symlink_to(real)
        monkeypatch.delenv("SANDBOX_NODE", raising=False)
        command = worker_command("./linked.mjs", package_root=tmp_path, plugin_id="p1")
        node = shutil.which("node")  # the package declares no engines: the node on PATH
        assert command.argv == (node, str(NODE_BOOTSTRAP), str(real.resolve()))
        assert command.cwd == tmp_path
        assert command.env["PAPERCLIP_PLUGIN_ID"] == "p1"

    def test_a_python_file_runs_with_the_sandbox_importable(self, tmp_path: Path) -> None:
        (tmp_path / "worker.py").write_text("")
        command = worker_command("worker.py", package_root=tmp_path, plugin_id="p1")
        assert command.argv == (sys.executable, str((tmp_path / "worker.py").resolve()))
        assert command.env["PYTHONPATH"].split(os.pathsep) == [
            str(tmp_path.resolve()),
            str(SANDBOX_ROOT),
        ]
        assert command.cwd == tmp_path

    def test_a_python_module(self, tmp_path: Path) -> None:
        command = worker_command("python:acme.worker", package_root=tmp_path, plugin_id="p1")
        assert command.argv == (sys.executable, "-m", "acme.worker")

    @pytest.mark.parametrize(
        ("declared", "error", "message"),
        [
            ("./worker.ts", ValueError, 'Unsupported worker entrypoint "./worker.ts"'),
            ("python:acme/../x", ValueError, 'Invalid Python worker module "acme/../x"'),
            ("./missing.js", FileNotFoundError, "Worker entrypoint not found"),
        ],
    )
    def test_bad_declarations(
        self, tmp_path: Path, declared: str, error: type[Exception], message: str
    ) -> None:
        (tmp_path / "worker.ts").write_text("")
        with pytest.raises(error, match=message):
            worker_command(declared, package_root=tmp_path, plugin_id="p1")


def _launcher(tmp_path: Path, code: str) -> SubprocessLauncher:
    script = tmp_path / "child.py"
    script.write_text(code)
    return SubprocessLauncher(
        WorkerCommand((sys.executable, str(script)), worker_environment("p1"), tmp_path)
    )


async def _stdout(worker: LaunchedWorker) -> bytes:
    data = b""
    while chunk := await worker.transport.read():
        data += chunk
    return data


async def test_a_spawned_worker_sees_only_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    worker = await _launcher(tmp_path, code).launch()
    env = json.loads(await _stdout(worker))
    assert await worker.wait() == WorkerExit(0)
    assert "DATABASE_URL" not in env
    assert (env["PAPERCLIP_PLUGIN_ID"], env["TZ"], env["NODE_ENV"]) == ("p1", "UTC", "production")


async def test_exit_codes_and_signals(tmp_path: Path) -> None:
    worker = await _launcher(tmp_path, "import sys; sys.stderr.write('bye'); sys.exit(4)").launch()
    assert await worker.wait() == WorkerExit(4)
    assert await worker.read_stderr() == b"bye"
    killed = await _launcher(tmp_path, "import os, signal; os.kill(os.getpid(), 15)").launch()
    assert await killed.wait() == WorkerExit(None, "SIGTERM")
    killed.send_signal(signal.SIGKILL)  # after the end: nothing happens


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_kill_takes_the_workers_children_down(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    worker = await _launcher(tmp_path, code).launch()
    child_pid = int(await asyncio.wait_for(worker.transport.read(), 5))
    assert _alive(child_pid)
    worker.send_signal(signal.SIGKILL)
    assert await worker.wait() == WorkerExit(None, "SIGKILL")
    for _ in range(100):
        if not _alive(child_pid):
            break
        await asyncio.sleep(0.02)
    assert not _alive(child_pid)
