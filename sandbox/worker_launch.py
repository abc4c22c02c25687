"""How a worker is started: the command and environment of a plugin's worker process.

A manifest's ``entrypoints.worker`` names the worker, relative to the plugin's package root:

- ``*.js``, ``*.mjs``, ``*.cjs``: a Node worker, spawned as ``node <real path>`` (the published
  SDK only starts when the real path matches its module, so symlinks are resolved first);
- ``*.py``: a Python worker file, spawned as ``<python> <real path>``;
- ``python:<module>``: a Python worker module, spawned as ``<python> -m <module>``.

A Python worker module defines ``plugin = define_plugin(...)`` and ends with
``if __name__ == "__main__": run_worker(plugin)``. Every worker runs from its package root.

The host's environment is not inherited: the worker gets ``PATH`` and ``NODE_PATH`` (when set),
the worker protocol's ``SANDBOX_PLUGIN_*`` limits (when set, so both ends agree),
``PAPERCLIP_PLUGIN_ID``, ``NODE_ENV`` (default ``production``) and ``TZ`` (default ``UTC``);
Python workers also get ``PYTHONPATH`` (the package root, then the sandbox itself, so
``sandbox.sdk`` imports) and ``PYTHONIOENCODING=utf-8``. Extra variables passed by the caller
come last and win.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox.protocol.limits import WorkerLimits
from sandbox.transport import StreamTransport, Transport

NODE_SUFFIXES = (".js", ".mjs", ".cjs")
PYTHON_MODULE_PREFIX = "python:"
#: The directory holding the ``sandbox``, ``core`` and ``db`` packages.
SANDBOX_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class WorkerCommand:
    """A worker process to spawn."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path | None = None


def worker_environment(
    plugin_id: str,
    extra: Mapping[str, str] | None = None,
    *,
    source: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """The environment of a worker: upstream's allow-list, then ``extra``."""
    passed = ("PATH", "NODE_PATH", *WorkerLimits.ENVIRONMENT.values())
    env = {name: source[name] for name in passed if name in source}
    env |= {
        "PAPERCLIP_PLUGIN_ID": plugin_id,
        "NODE_ENV": source.get("NODE_ENV", "production"),
        "TZ": source.get("TZ", "UTC"),
    }
    return env | dict(extra or {})


def node_worker_command(
    entrypoint: Path,
    *,
    plugin_id: str,
    package_root: Path,
    env: Mapping[str, str] | None = None,
    node: str = "node",
) -> WorkerCommand:
    """``node <real path of entrypoint>``, run from the package root."""
    argv = (node, os.path.realpath(entrypoint))
    return WorkerCommand(argv, worker_environment(plugin_id, env), package_root)


def python_worker_command(
    target: Path | str,
    *,
    plugin_id: str,
    package_root: Path,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
) -> WorkerCommand:
    """``<python> <real path>`` for a file, or ``<python> -m <module>`` for a module name."""
    if isinstance(target, Path):
        argv: tuple[str, ...] = (python, os.path.realpath(target))
    else:
        argv = (python, "-m", target)
    python_path = os.pathsep.join(dict.fromkeys([str(package_root.resolve()), str(SANDBOX_ROOT)]))
    python_env = {"PYTHONPATH": python_path, "PYTHONIOENCODING": "utf-8"} | dict(env or {})
    return WorkerCommand(argv, worker_environment(plugin_id, python_env), package_root)


def worker_command(
    declared: str,
    *,
    package_root: Path,
    plugin_id: str,
    env: Mapping[str, str] | None = None,
) -> WorkerCommand:
    """The command for a manifest's ``entrypoints.worker`` (see the module docstring).

    Raises:
        ValueError: the declaration is neither a JS or Python file nor ``python:<module>``.
        FileNotFoundError: the declared file does not exist.
    """
    if declared.startswith(PYTHON_MODULE_PREFIX):
        module = declared.removeprefix(PYTHON_MODULE_PREFIX)
        if not all(part.isidentifier() for part in module.split(".")):
            raise ValueError(f'Invalid Python worker module "{module}"')
        return python_worker_command(
            module, plugin_id=plugin_id, package_root=package_root, env=env
        )
    path = (package_root / declared).resolve()
    if path.suffix not in (*NODE_SUFFIXES, ".py"):
        raise ValueError(
            f'Unsupported worker entrypoint "{declared}": expected a .js, .mjs, .cjs or .py file, '
            f"or {PYTHON_MODULE_PREFIX}<module>"
        )
    if not path.is_file():
        raise FileNotFoundError(f"Worker entrypoint not found: {path}")
    if path.suffix == ".py":
        return python_worker_command(path, plugin_id=plugin_id, package_root=package_root, env=env)
    return node_worker_command(path, plugin_id=plugin_id, package_root=package_root, env=env)


@dataclass(frozen=True, slots=True)
class WorkerExit:
    """How a worker ended: an exit code, or the signal that killed it."""

    code: int | None
    signal: str | None = None


class LaunchedWorker(abc.ABC):
    """A started worker: its protocol transport, its stderr, and control over its life."""

    transport: Transport
    pid: int | None = None

    @abc.abstractmethod
    async def read_stderr(self) -> bytes:
        """The next chunk of the worker's diagnostics; ``b""`` at the end."""

    @abc.abstractmethod
    async def wait(self) -> WorkerExit:
        """Wait for the worker to end and say how it ended."""

    @abc.abstractmethod
    def send_signal(self, sig: signal.Signals) -> None:
        """Ask the worker to end (``SIGTERM``) or end it (``SIGKILL``); no-op once it ended."""


class WorkerLauncher(abc.ABC):
    """Starts workers; ``WorkerProcess`` calls it for the first start and every restart."""

    @abc.abstractmethod
    async def launch(self) -> LaunchedWorker:
        """Start one worker.

        Raises:
            OSError: the worker could not be started (missing executable, permissions).
        """


#: Seconds the last output of an exited worker may take to arrive when its children still hold
#: its pipes; then the host closes them.
EXIT_OUTPUT_GRACE = 0.2


class _ExitWatch(asyncio.subprocess.SubprocessStreamProtocol):
    """Knows when the process ends, whether or not something else still holds its pipes.

    (``Process.wait`` on Python 3.11 also waits for the pipes to close.)
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


class WorkerSubprocess(LaunchedWorker):
    """A worker process with piped stdio, leading its own process group.

    Its exit is its end: ``wait`` returns when the process exits, kills what is left of its
    process group, and closes its pipes if a descendant still holds them after
    ``EXIT_OUTPUT_GRACE``.
    """

    def __init__(
        self,
        transport: asyncio.SubprocessTransport,
        protocol: _ExitWatch,
        process: asyncio.subprocess.Process,
    ) -> None:
        assert process.stdin and process.stdout and process.stderr
        self._subprocess = transport
        self._watch = protocol
        self._process = process
        self._stderr = process.stderr
        self.transport = StreamTransport(process.stdout, process.stdin)
        self.pid = process.pid

    async def read_stderr(self) -> bytes:
        return await self._stderr.read(64 * 1024)

    async def wait(self) -> WorkerExit:
        await asyncio.shield(self._watch.exited)
        code = self._subprocess.get_returncode()
        assert code is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        try:
            async with asyncio.timeout(EXIT_OUTPUT_GRACE):
                await self._process.wait()
        except TimeoutError:
            pass  # a descendant that left the group holds the pipes
        finally:
            self._subprocess.close()
        if code < 0:
            return WorkerExit(None, signal.Signals(-code).name)
        return WorkerExit(code)

    def send_signal(self, sig: signal.Signals) -> None:
        if self._subprocess.get_returncode() is not None:
            return
        # The worker leads its own process group: take its children down with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, sig)


async def spawn_worker(
    argv: tuple[str, ...] | list[str], *, env: Mapping[str, str], cwd: Path | None
) -> WorkerSubprocess:
    """Start ``argv`` with piped stdio in a new session (see ``SubprocessLauncher``)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitWatch(loop),
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    return WorkerSubprocess(
        transport, protocol, asyncio.subprocess.Process(transport, protocol, loop)
    )


class SubprocessLauncher(WorkerLauncher):
    """Spawns a ``WorkerCommand`` with piped stdio, in a new session.

    The new session keeps a terminal's Ctrl-C away from workers (the host stops them in
    order) and lets a kill reach the worker's own children. A worker whose host dies sees its
    stdin close and exits. The worker runs uncontained: a child that calls ``setsid`` escapes
    its process group (``sandbox.containment`` contains workers).
    """

    def __init__(self, command: WorkerCommand) -> None:
        self.command = command

    async def launch(self) -> LaunchedWorker:
        command = self.command
        return await spawn_worker(command.argv, env=command.env, cwd=command.cwd)
