"""Starting a worker contained: through ``setpriv`` and ``unshare`` into the jail prelude.

The process the host sees is ``unshare`` (``setpriv --pdeathsig KILL`` first, so it dies with
the host's thread that started it; its ``--kill-child`` then kills the jail, and with it the
whole PID namespace). The jail (PID 1 in the namespace) runs the worker; see ``jail``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from sandbox.containment.kernel import UNSHARE_OPTIONS, KernelSupport
from sandbox.containment.policy import ContainmentSettings, jail_spec
from sandbox.transport import Transport
from sandbox.worker_launch import (
    SANDBOX_ROOT,
    LaunchedWorker,
    StartedAhead,
    WorkerCommand,
    WorkerExit,
    WorkerLauncher,
    generations_command,
    popen_worker,
    spawn_worker,
)

#: Prefix of the private folders of contained workers (under the host's temporary folder).
PRIVATE_PREFIX = "sandbox-worker-"


#: The file of a private folder naming the process (``unshare``) whose worker uses it.
_OWNER_FILE = "owner.pid"


def sweep_private_folders() -> None:
    """Remove the private folders whose worker is gone without its host removing them (a host
    that was SIGKILLed cannot)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PRIVATE_PREFIX}*"):
        try:
            owner = int((folder / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # being made, or not ours to judge
        if not _running(owner):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether the process exists and has not ended (an unreaped zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


class _ContainedWorker(LaunchedWorker):
    """A contained worker: its folder goes when it ends; a jail exit ``128 + n`` is signal n."""

    def __init__(self, process: LaunchedWorker, private: Path) -> None:
        self._process = process
        self._private = private
        self.transport: Transport = process.transport
        self.pid = process.pid

    async def read_stderr(self) -> bytes:
        return await self._process.read_stderr()

    async def wait(self) -> WorkerExit:
        ended = await self._process.wait()
        await asyncio.to_thread(shutil.rmtree, self._private, True)
        if ended.code is not None and ended.code > 128:
            try:
                return WorkerExit(None, signal.Signals(ended.code - 128).name)
            except ValueError:
                pass
        return ended

    def send_signal(self, sig: signal.Signals) -> None:
        self._process.send_signal(sig)


class ContainedLauncher(WorkerLauncher):
    """Starts ``command`` inside the jail (the kernel must support it: see ``probe_kernel``).

    The worker's ``TMPDIR`` and ``HOME`` are its private folder, made for each start and removed
    when the worker ends (or, after a host was killed, by the next contained start).
    """

    def __init__(
        self, command: WorkerCommand, *, settings: ContainmentSettings, kernel: KernelSupport
    ) -> None:
        if not kernel.supported:
            raise ValueError(f"containment is not supported here: {kernel.missing}")
        self.command = command
        self.settings = settings
        self.kernel = kernel

    async def launch(self) -> LaunchedWorker:
        await asyncio.to_thread(sweep_private_folders)
        argv, env, private = self._prepare()
        try:
            process = await spawn_worker(argv, env=env, cwd=private)
            (private / _OWNER_FILE).write_text(str(process.pid))
        except BaseException:
            shutil.rmtree(private, ignore_errors=True)
            raise
        return _ContainedWorker(process, private)

    def start_ahead(self) -> StartedAhead:
        sweep_private_folders()
        argv, env, private = self._prepare()
        try:
            process = popen_worker(argv, env=env, cwd=private)
            (private / _OWNER_FILE).write_text(str(process.pid))
        except BaseException:
            shutil.rmtree(private, ignore_errors=True)
            raise
        return StartedAhead(
            process,
            finish=lambda worker: _ContainedWorker(worker, private),
            cleanup=lambda: shutil.rmtree(private, ignore_errors=True),
        )

    def for_generations(self) -> ContainedLauncher | None:
        command = generations_command(self.command)
        if command is None:
            return None
        return ContainedLauncher(command, settings=self.settings, kernel=self.kernel)

    def _prepare(self) -> tuple[tuple[str, ...], dict[str, str], Path]:
        """The prelude's command and environment for one start, and the private folder made
        for it (the caller removes it if the start fails)."""
        command = self.command
        private = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX)).resolve()
        try:
            (private / "root").mkdir()
            (private / "tmp").mkdir()
            env = dict(command.env) | {
                "TMPDIR": str(private / "tmp"),
                "HOME": str(private / "tmp"),
                # The memory limit counts address space; glibc reserves 64 MiB of it per
                # thread's arena (Node starts a dozen threads), so arenas are capped.
                "MALLOC_ARENA_MAX": "2",
            }
            if "PYTHONPATH" in env:
                env["PYTHONDONTWRITEBYTECODE"] = "1"  # the package folder is read-only
            spec = jail_spec(
                argv=command.argv,
                env=env,
                cwd=command.cwd or Path.cwd(),
                root=private / "root",
                private=private / "tmp",
                sdk_root=SANDBOX_ROOT,
                settings=self.settings,
                landlock_abi=self.kernel.landlock_abi,
            )
            argv = (
                "setpriv",
                "--pdeathsig",
                "KILL",
                "--",
                "unshare",
                *UNSHARE_OPTIONS,
                "--",
                sys.executable,
                "-P",  # neither the working folder nor site-packages on the prelude's path
                "-S",
                "-m",
                "sandbox.containment.jail",
                json.dumps(spec),
            )
            prelude_env = {
                "PATH": os.environ.get("PATH", os.defpath),
                "PYTHONPATH": str(SANDBOX_ROOT),
            }
        except BaseException:
            shutil.rmtree(private, ignore_errors=True)
            raise
        return argv, prelude_env, private
