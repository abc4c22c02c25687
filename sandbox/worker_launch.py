"""How a worker is started: the command and environment of a plugin's worker process.

A manifest's ``entrypoints.worker`` names the worker, relative to the plugin's package root:

- ``*.js``, ``*.mjs``, ``*.cjs``: a Node worker, spawned as ``node <bootstrap> <real path>``
  (the published SDK only starts when the real path matches its module, so symlinks are resolved
  first; the bootstrap, ``sandbox/node_worker/bootstrap.mjs``, removes itself from the worker's
  ``process.argv`` and makes a handler's exception reported with its stack); ``node`` is the
  binary ``sandbox.node_runtime.find_node`` picks for the package (``SANDBOX_NODE``, then
  ``PATH``, checked against the ``engines.node`` the plugin and its SDK declare);
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
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sandbox.node_runtime import find_node
from sandbox.protocol.limits import WorkerLimits
from sandbox.transport import StreamTransport, Transport

NODE_SUFFIXES = (".js", ".mjs", ".cjs")
PYTHON_MODULE_PREFIX = "python:"
#: The directory holding the ``sandbox``, ``core`` and ``db`` packages.
SANDBOX_ROOT = Path(__file__).resolve().parent.parent
#: What runs every Node worker: it adds reports of handler failures with their stack.
NODE_BOOTSTRAP = Path(__file__).resolve().parent / "node_worker" / "bootstrap.mjs"


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
    node: str | None = None,
) -> WorkerCommand:
    """``node <bootstrap> <real path of entrypoint>``, run from the package root; ``node``
    defaults to the binary ``find_node`` picks for the package.

    Raises:
        NodeUnavailable: no node that the plugin's ``engines.node`` accepts.
    """
    node = node or find_node(package_root)
    argv = (node, str(NODE_BOOTSTRAP), os.path.realpath(entrypoint))
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
        NodeUnavailable: a JS worker, and no node that the plugin's ``engines.node`` accepts.
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


#: Set in a Node worker's environment to make the bootstrap serve generations.
NODE_GENERATIONS_VARIABLE = "SANDBOX_WORKER_GENERATIONS"


def generations_command(command: WorkerCommand) -> WorkerCommand | None:
    """``command`` as a process serving one generation of the worker after another: Node
    workers through their bootstrap (``node_worker/generations.mjs``), Python workers through
    ``python -m sandbox.sdk.generations``; None for any other command."""
    argv = command.argv
    if len(argv) == 3 and argv[1] == str(NODE_BOOTSTRAP):
        env = dict(command.env) | {NODE_GENERATIONS_VARIABLE: "1"}
        return WorkerCommand(argv, env, command.cwd)
    if "PYTHONPATH" in command.env and len(argv) >= 2:
        argv = (argv[0], "-m", "sandbox.sdk.generations", *argv[1:])
        return WorkerCommand(argv, command.env, command.cwd)
    return None


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

    def start_ahead(self) -> StartedAhead | None:
        """Start one worker now, outside any event loop, for a later ``StartedAhead.adopt``
        (``sandbox.spare_workers``); None when this launcher cannot.

        Raises:
            OSError: the worker could not be started.
        """
        return None

    def for_generations(self) -> WorkerLauncher | None:
        """This launcher starting the worker as a process that serves one generation of it
        after another (``sandbox.worker_generations``); None when it cannot."""
        return None


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

    def start_ahead(self) -> StartedAhead:
        command = self.command
        return StartedAhead(popen_worker(command.argv, env=command.env, cwd=command.cwd))

    def for_generations(self) -> SubprocessLauncher | None:
        command = generations_command(self.command)
        return None if command is None else SubprocessLauncher(command)


def popen_worker(
    argv: tuple[str, ...] | list[str], *, env: Mapping[str, str], cwd: Path | None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as ``spawn_worker`` does (piped stdio, a new session), without a loop."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )


class StartedAhead:
    """A worker process started before anyone talks to it, with no event loop involved.

    ``adopt`` connects its pipes and its exit to the running loop (any loop: a test's loop may
    not be the one of the test that started it), through duplicates of its pipes, so that
    ``detach`` can let go of a process that lives on (``sandbox.worker_generations``) and a
    later ``adopt`` take it again. ``finish`` wraps the adopted worker (a contained worker
    removes its private folder when it ends); ``cleanup`` runs when the process is discarded.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        finish: Callable[[LaunchedWorker], LaunchedWorker] | None = None,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        self.process = process
        self._finish = finish
        self._cleanup = cleanup
        self._adopted: _AdoptedSubprocess | None = None

    def running(self) -> bool:
        return self.process.poll() is None

    async def adopt(self) -> LaunchedWorker:
        worker = self._adopted = await _AdoptedSubprocess.attach(self.process)
        return self._finish(worker) if self._finish else worker

    async def detach(self) -> None:
        """Stop watching the adopted process and close the loop's ends of its pipes; the
        process keeps running."""
        if self._adopted is not None:
            await self._adopted.detach()
            self._adopted = None

    def discard(self) -> None:
        """Kill the process and its group, and remove what it was given."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        if self._cleanup is not None:
            self._cleanup()


def _duplicate(pipe: IO[bytes] | None, mode: str) -> IO[bytes]:
    """A new file object on a duplicate of ``pipe``'s descriptor."""
    assert pipe is not None
    return os.fdopen(os.dup(pipe.fileno()), mode, buffering=0)


class _PipeEnd(asyncio.StreamReaderProtocol):
    """A read pipe's protocol that knows when the pipe closed."""

    def __init__(self, reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(reader, loop=loop)
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.closed.done():
            self.closed.set_result(None)


class _AdoptedSubprocess(LaunchedWorker):
    """A ``StartedAhead`` process on the running loop: its exit is known through a pidfd, and
    it ends as ``WorkerSubprocess`` does (its group killed, its pipes closed after a grace)."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        stdout: _PipeEnd,
        stderr: _PipeEnd,
        stderr_reader: asyncio.StreamReader,
        transports: list[asyncio.BaseTransport],
        transport: StreamTransport,
        exited: asyncio.Future[None],
        pidfd: int,
    ) -> None:
        self._pidfd = pidfd
        self._process = process
        self._pipes = (stdout, stderr)
        self._stderr = stderr_reader
        self._transports = transports
        self._exited = exited
        self.transport = transport
        self.pid = process.pid

    @classmethod
    async def attach(cls, process: subprocess.Popen[bytes]) -> _AdoptedSubprocess:
        assert process.stdin and process.stdout and process.stderr
        loop = asyncio.get_running_loop()
        readers = [asyncio.StreamReader(limit=2**16, loop=loop) for _ in range(2)]
        ends = [_PipeEnd(reader, loop) for reader in readers]
        out, _ = await loop.connect_read_pipe(lambda: ends[0], _duplicate(process.stdout, "rb"))
        err, _ = await loop.connect_read_pipe(lambda: ends[1], _duplicate(process.stderr, "rb"))
        into, protocol = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(loop=loop), _duplicate(process.stdin, "wb")
        )
        writer = asyncio.StreamWriter(into, protocol, None, loop)
        exited: asyncio.Future[None] = loop.create_future()
        pidfd = os.pidfd_open(process.pid)

        def on_exit() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            process.wait()  # it has ended: this reaps it
            exited.set_result(None)

        loop.add_reader(pidfd, on_exit)
        transport = StreamTransport(readers[0], writer)
        ends_and_streams = (ends[0], ends[1], readers[1], [out, err, into], transport)
        return cls(process, *ends_and_streams, exited, pidfd)

    async def detach(self) -> None:
        if not self._exited.done():
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._exited.cancel()
        for transport in self._transports:
            transport.close()
        await asyncio.sleep(0)  # the transports close their duplicates on the next turn

    async def read_stderr(self) -> bytes:
        return await self._stderr.read(64 * 1024)

    async def wait(self) -> WorkerExit:
        await asyncio.shield(self._exited)
        code = self._process.returncode
        assert code is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        try:
            async with asyncio.timeout(EXIT_OUTPUT_GRACE):
                await asyncio.gather(*(pipe.closed for pipe in self._pipes))
        except TimeoutError:
            pass  # a descendant that left the group holds the pipes
        finally:
            for transport in self._transports:
                transport.close()
        if code < 0:
            return WorkerExit(None, signal.Signals(-code).name)
        return WorkerExit(code)

    def send_signal(self, sig: signal.Signals) -> None:
        if self._process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, sig)
