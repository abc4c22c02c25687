"""One plugin's worker: start and initialize it, call it, stop it, restart it after crashes.

Statuses follow upstream: ``stopped``, ``starting``, ``running``, ``stopping``, ``crashed``,
``backoff``. An unexpected exit fails every waiting call with -32000 ``Worker process exited
(code=<c>, signal=<s>)`` plus the end of the worker's stderr, then schedules a restart after
1 s * 2^(n-1) (±25 % jitter, at most 5 min) for the n-th consecutive crash. After more than 10
consecutive crashes the worker stays ``crashed`` and ``gave_up`` is true. The count starts over
after 10 minutes without a crash and after every successful start.

Decisions beyond upstream: a restart whose ``initialize`` fails counts as one more crash and
keeps the backoff going (upstream ends the chain there); ``stop`` from ``backoff`` cancels the
pending restart (upstream leaves the timer running); every timing is a ``WorkerTimings`` field.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import enum
import inspect
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.protocol import (
    FrameTooLarge,
    ProtocolError,
    WorkerLimits,
    WorkerStartError,
    WorkerUnavailable,
    read_lines,
)
from sandbox.worker_connection import HostHandler, NotificationCallback, WorkerConnection
from sandbox.worker_launch import LaunchedWorker, WorkerExit, WorkerLauncher

logger = logging.getLogger(__name__)

#: Characters of stderr kept for failure messages (upstream).
STDERR_TAIL_CHARS = 8_000
#: Longest stderr line passed on whole; longer ones are cut.
_MAX_STDERR_LINE = 64 * 1024

#: Receives each line a worker writes outside the protocol: ``("stderr", line)``, or
#: ``("stdout", line)`` for a stray stdout line such as a ``console.log``.
OutputCallback = Callable[[Literal["stdout", "stderr"], str], None]


class WorkerStatus(enum.StrEnum):
    """Where a worker is in its life."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    CRASHED = "crashed"
    BACKOFF = "backoff"


@dataclass(frozen=True, slots=True)
class WorkerTimings:
    """Every timeout and delay of a worker's life, in seconds (defaults are upstream's)."""

    initialize: float = 15.0
    call: float = 30.0
    max_call: float = 15 * 60.0
    notification_scope_ttl: float = 15 * 60.0
    shutdown: float = 10.0
    exit_grace: float = 0.5
    terminate: float = 5.0
    kill: float = 2.0
    #: How long to wait, after an exit, for the last output lines (answers, a traceback).
    output_drain: float = 1.0
    backoff_base: float = 1.0
    backoff_max: float = 5 * 60.0
    backoff_jitter: float = 0.25
    max_consecutive_crashes: int = 10
    crash_window: float = 10 * 60.0


def backoff_delay(consecutive_crashes: int, timings: WorkerTimings, rand: float) -> float:
    """Seconds before the restart that follows the n-th consecutive crash.

    ``rand`` in [0, 1) picks the jitter: 0 is -25 %, 0.5 none, 1 almost +25 %.
    """
    delay = timings.backoff_base * 2.0 ** (consecutive_crashes - 1)
    jitter = delay * timings.backoff_jitter * (rand * 2 - 1)
    return min(delay + jitter, timings.backoff_max)


@dataclass(frozen=True, slots=True)
class InitializeParams:
    """What the host sends in ``initialize``."""

    manifest: Mapping[str, Any]
    config: Mapping[str, Any] = field(default_factory=dict)
    database_namespace: str | None = None
    instance_id: str = "default"
    host_version: str = "0.0.0"

    def to_wire(self) -> dict[str, Any]:
        return {
            "manifest": dict(self.manifest),
            "config": dict(self.config),
            "instanceInfo": {"instanceId": self.instance_id, "hostVersion": self.host_version},
            "apiVersion": self.manifest.get("apiVersion", 1),
            "databaseNamespace": self.database_namespace,
        }


@dataclass(frozen=True, slots=True)
class WorkerStatusChanged:
    """The worker moved from ``previous`` to ``status``."""

    status: WorkerStatus
    previous: WorkerStatus


@dataclass(frozen=True, slots=True)
class WorkerCrashed:
    """The worker exited unexpectedly, or a restart failed to initialize."""

    reason: str
    exit: WorkerExit | None
    consecutive_crashes: int
    will_restart: bool
    restart_delay: float | None


@dataclass(frozen=True, slots=True)
class WorkerRestarted:
    """A restarted worker is running again (upstream's ``plugin.worker.restarted``)."""

    pid: int | None


WorkerEvent = WorkerStatusChanged | WorkerCrashed | WorkerRestarted


@dataclass(frozen=True, slots=True)
class WorkerDiagnostics:
    """A snapshot of a worker for status displays."""

    plugin_id: str
    status: WorkerStatus
    pid: int | None
    uptime: float | None
    consecutive_crashes: int
    total_crashes: int
    pending_calls: int
    gave_up: bool
    next_restart_in: float | None
    supported_methods: tuple[str, ...]


@dataclass(eq=False)
class _Run:
    """One launched worker and the tasks watching it."""

    launched: LaunchedWorker
    connection: WorkerConnection
    ready: bool = False
    intentional: bool = False
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    stderr_done: asyncio.Event = field(default_factory=asyncio.Event)
    stderr_task: asyncio.Task[None] | None = None
    supervisor: asyncio.Task[None] | None = None


def _js(value: object) -> str:
    return "null" if value is None else str(value)


def with_stderr(message: str, stderr_tail: str) -> str:
    """A failure message with the worker's last stderr appended (once), as upstream does."""
    excerpt = stderr_tail.strip()
    if not excerpt or excerpt in message:
        return message
    return f"{message}\n\nWorker stderr:\n{excerpt}"


class WorkerProcess:
    """One plugin's worker, subprocess or in-process, through its whole life.

    Args:
        plugin_id: the plugin record id (named in error messages, ``PAPERCLIP_PLUGIN_ID``).
        launcher: starts the worker (``SubprocessLauncher`` or ``InProcessLauncher``).
        initialize: the ``initialize`` params, reused for every restart.
        handler: serves worker-to-host calls (see ``WorkerConnection``).
        on_notification: receives ``log`` and ``streams.*`` notifications.
        on_output: receives stderr lines and stray stdout lines.
        on_event: receives status changes, crashes and restarts.
        on_restart: awaited before a restarted worker is spawned (after a crash, or
            ``restart()``), e.g. to drop the event subscriptions of the previous worker.
        timings: every timeout and delay.
        limits: what the worker may send (see ``WorkerConnection``; default: from the
            environment).
    """

    def __init__(
        self,
        *,
        plugin_id: str,
        launcher: WorkerLauncher,
        initialize: InitializeParams,
        handler: HostHandler,
        on_notification: NotificationCallback | None = None,
        on_output: OutputCallback | None = None,
        on_event: Callable[[WorkerEvent], None] | None = None,
        on_restart: Callable[[], Awaitable[None] | None] | None = None,
        timings: WorkerTimings = WorkerTimings(),
        limits: WorkerLimits | None = None,
    ) -> None:
        self.plugin_id = plugin_id
        self.launcher = launcher
        self.timings = timings
        self.limits = limits or WorkerLimits.from_env()
        self._initialize = initialize
        self._handler = handler
        self._on_notification = on_notification
        self._on_output = on_output
        self._on_event = on_event
        self._on_restart = on_restart
        key = initialize.manifest.get("id")
        #: How our own log lines name the plugin: its key (the manifest id) when it has one.
        self.name = key if isinstance(key, str) and key else plugin_id
        #: Appended to upstream's messages, which name only the record id.
        self._key_suffix = f" (plugin {self.name})" if self.name != plugin_id else ""
        self._status = WorkerStatus.STOPPED
        self._lifecycle = asyncio.Lock()
        self._run: _Run | None = None
        self._restart_task: asyncio.Task[None] | None = None
        self._next_restart_at: float | None = None
        self._started_at: float | None = None
        self._supported_methods: tuple[str, ...] = ()
        self._stderr_lines: collections.deque[str] = collections.deque()
        self._stderr_chars = 0
        self._consecutive_crashes = 0
        self._total_crashes = 0
        self._last_crash_at: float | None = None
        self._gave_up = False

    # -- state ----------------------------------------------------------------------------

    @property
    def status(self) -> WorkerStatus:
        return self._status

    @property
    def gave_up(self) -> bool:
        """True once the crash limit was exceeded: no restart will follow until ``start()``."""
        return self._gave_up

    @property
    def pid(self) -> int | None:
        return self._run.launched.pid if self._run is not None else None

    @property
    def supported_methods(self) -> tuple[str, ...]:
        """The optional methods the worker reported in ``initialize`` (advisory)."""
        return self._supported_methods

    @property
    def stderr_tail(self) -> str:
        """The last 8,000 characters the current or last worker wrote to stderr."""
        return "\n".join(self._stderr_lines)[-STDERR_TAIL_CHARS:]

    def diagnostics(self) -> WorkerDiagnostics:
        now = time.monotonic()
        running = self._status is WorkerStatus.RUNNING and self._started_at is not None
        return WorkerDiagnostics(
            plugin_id=self.plugin_id,
            status=self._status,
            pid=self.pid,
            uptime=now - self._started_at if running and self._started_at else None,
            consecutive_crashes=self._consecutive_crashes,
            total_crashes=self._total_crashes,
            pending_calls=self._run.connection.pending_calls if self._run else 0,
            gave_up=self._gave_up,
            next_restart_in=None
            if self._next_restart_at is None
            else max(0.0, self._next_restart_at - now),
            supported_methods=self._supported_methods,
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the worker and complete ``initialize``; returns once it is running.

        Raises:
            WorkerStartError: it is already started, could not be spawned, or ``initialize``
                failed, timed out or answered ``ok: false`` (``Worker initialize failed for
                "<id>": <reason>``); the worker is then ``crashed`` and not restarted.
        """
        async with self._lifecycle:
            if self._status not in (WorkerStatus.STOPPED, WorkerStatus.CRASHED):
                raise WorkerStartError(
                    f'Worker for plugin "{self.plugin_id}" is already {self._status}'
                    f"{self._key_suffix}"
                )
            self._gave_up = False
            await self._start_attempt(restart=False)

    async def stop(self, *, graceful: bool = True, within: float | None = None) -> None:
        """Stop the worker and cancel any pending restart.

        The worker gets ``shutdown`` (raced against its exit for ``timings.shutdown``), then a
        short grace, then SIGTERM, then SIGKILL; ``graceful=False`` sends SIGKILL at once.
        ``within`` bounds the wait for ``shutdown`` and the exit, then sends SIGKILL (a test's
        end). A ``start()`` in progress is finished first; a restart in progress is cut short.
        """
        self._cancel_restart()
        async with self._lifecycle:
            self._cancel_restart()
            run = self._run
            if run is not None and not run.exited.is_set():
                self._set_status(WorkerStatus.STOPPING)
                if run.intentional:  # already being killed (a cancelled restart)
                    await self._wait_exit(run, self.timings.kill)
                elif graceful:
                    run.intentional = True
                    await self._shut_down(run, within)
                else:
                    await self._kill(run)
            self._run = None
            self._set_status(WorkerStatus.STOPPED)

    async def restart(self) -> None:
        """Stop the worker, run ``on_restart``, and start it again."""
        await self.stop()
        async with self._lifecycle:
            if self._status is not WorkerStatus.STOPPED:
                return
            self._gave_up = False
            await self._run_restart_hook()
            await self._start_attempt(restart=True)

    async def update_config(self, config: Mapping[str, Any]) -> None:
        """Use ``config`` for future (re)starts and tell a running worker (``configChanged``)."""
        self._initialize = dataclasses.replace(self._initialize, config=dict(config))
        if self._status is WorkerStatus.RUNNING:
            await self.call("configChanged", {"config": dict(config)})

    # -- talking to the worker ------------------------------------------------------------

    async def call(self, method: str, params: Any, *, timeout: float | None = None) -> Any:
        """Call a host-to-worker method and return its result.

        Raises:
            WorkerUnavailable: the worker is not running or starting, or exits while waiting.
            RpcTimeout: no answer within ``timeout`` seconds (default ``timings.call``).
            RpcError: the worker answered with an error.
        """
        run = self._run
        if run is None or self._status not in (WorkerStatus.RUNNING, WorkerStatus.STARTING):
            raise WorkerUnavailable(
                f'Cannot call "{method}" — worker for "{self.plugin_id}" is {self._status}'
                f"{self._key_suffix}"
            )
        return await run.connection.call(method, params, timeout=timeout)

    async def health(self) -> Any:
        """The worker's ``health`` answer: ``{"status": "ok"|"degraded"|"error", ...}``."""
        return await self.call("health", {})

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (such as ``onEvent``); dropped unless the worker is running."""
        if self._run is not None and self._status is WorkerStatus.RUNNING:
            self._run.connection.notify(method, params)

    # -- internals ------------------------------------------------------------------------

    async def _start_attempt(self, *, restart: bool) -> None:
        self._set_status(WorkerStatus.STARTING)
        self._stderr_lines.clear()
        self._stderr_chars = 0
        try:
            launched = await self.launcher.launch()
        except OSError as error:
            self._set_status(WorkerStatus.CRASHED)
            raise WorkerStartError(f"Worker process failed to start: {error}") from error
        connection = WorkerConnection(
            launched.transport,
            handler=self._handler,
            on_notification=self._on_notification,
            on_stray_output=lambda line: self._output("stdout", line),
            label=self.name,
            call_timeout=self.timings.call,
            max_call_timeout=self.timings.max_call,
            notification_scope_ttl=self.timings.notification_scope_ttl,
            limits=self.limits,
        )
        run = self._run = _Run(launched, connection)
        connection.start()
        run.stderr_task = asyncio.create_task(
            self._pump_stderr(run), name=f"{self.plugin_id} stderr"
        )
        run.supervisor = asyncio.create_task(
            self._supervise(run), name=f"{self.plugin_id} supervisor"
        )
        try:
            result = await connection.call(
                "initialize", self._initialize.to_wire(), timeout=self.timings.initialize
            )
            if not isinstance(result, dict) or not result.get("ok"):
                raise WorkerStartError("Worker initialize returned ok=false")
        except asyncio.CancelledError:
            run.intentional = True
            launched.send_signal(signal.SIGKILL)
            raise
        except Exception as error:
            await self._kill(run)
            self._set_status(WorkerStatus.CRASHED)
            if not isinstance(error, ProtocolError):
                raise  # e.g. initialize params that are not JSON: the caller's bug
            # The key ends the headline, before any stderr excerpt the reason carries.
            reason, newline, excerpt = error.message.partition("\n")
            message = (
                f'Worker initialize failed for "{self.plugin_id}": {reason}{self._key_suffix}'
                f"{newline}{excerpt}"
            )
            raise WorkerStartError(with_stderr(message, self.stderr_tail)) from None
        run.ready = True
        self._supported_methods = tuple(result.get("supportedMethods") or ())
        self._consecutive_crashes = 0
        self._started_at = time.monotonic()
        self._set_status(WorkerStatus.RUNNING)
        if restart:
            self._emit(WorkerRestarted(launched.pid))

    async def _supervise(self, run: _Run) -> None:
        exit = await run.launched.wait()
        # Let the last lines in (an answer written just before exiting, a traceback).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timings.output_drain):
                await run.connection.wait_output_closed()
                await run.stderr_done.wait()
        reason = with_stderr(
            f"Worker process exited (code={_js(exit.code)}, signal={_js(exit.signal)})",
            self.stderr_tail,
        )
        await run.connection.close(WorkerUnavailable(reason))
        if run.stderr_task is not None:
            run.stderr_task.cancel()  # a grandchild may still hold stderr open
        run.exited.set()
        if run.intentional or not run.ready or self._run is not run:
            return
        logger.error("plugin %s: worker crashed: %s", self.name, reason)
        self._on_crash(reason, exit)

    def _on_crash(self, reason: str, exit: WorkerExit | None) -> None:
        now = time.monotonic()
        if (
            self._last_crash_at is not None
            and now - self._last_crash_at > self.timings.crash_window
        ):
            self._consecutive_crashes = 0
        self._consecutive_crashes += 1
        self._total_crashes += 1
        self._last_crash_at = now
        will_restart = self._consecutive_crashes <= self.timings.max_consecutive_crashes
        delay = backoff_delay(self._consecutive_crashes, self.timings, random.random())
        self._set_status(WorkerStatus.CRASHED)
        self._emit(
            WorkerCrashed(
                reason,
                exit,
                self._consecutive_crashes,
                will_restart,
                delay if will_restart else None,
            )
        )
        if not will_restart:
            self._gave_up = True
            logger.error(
                "plugin %s: %d consecutive crashes, not restarting",
                self.name,
                self._consecutive_crashes,
            )
            return
        self._next_restart_at = now + delay
        self._set_status(WorkerStatus.BACKOFF)
        self._restart_task = asyncio.create_task(
            self._restart_after(delay), name=f"{self.plugin_id} restart"
        )

    async def _restart_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._lifecycle:
            if self._status is not WorkerStatus.BACKOFF:
                return
            self._next_restart_at = None
            await self._run_restart_hook()
            try:
                await self._start_attempt(restart=True)
            except WorkerStartError as error:
                logger.error("plugin %s: restart failed: %s", self.name, error.message)
                self._on_crash(error.message, None)

    def _cancel_restart(self) -> None:
        if self._restart_task is not None and not self._restart_task.done():
            self._restart_task.cancel()
        self._restart_task = None
        self._next_restart_at = None

    async def _run_restart_hook(self) -> None:
        if self._on_restart is None:
            return
        try:
            restarted = self._on_restart()
            if inspect.isawaitable(restarted):
                await restarted
        except Exception:
            logger.exception("plugin %s: on_restart hook failed", self.name)

    async def _shut_down(self, run: _Run, within: float | None = None) -> None:
        timings = self.timings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (within if within is not None else timings.shutdown)
        seconds = min(timings.shutdown, deadline - loop.time())
        shutdown = asyncio.create_task(run.connection.call("shutdown", {}, timeout=seconds))
        exited = asyncio.create_task(run.exited.wait())
        await asyncio.wait({shutdown, exited}, timeout=seconds, return_when="FIRST_COMPLETED")
        for task in (shutdown, exited):
            task.cancel()
        await asyncio.gather(shutdown, exited, return_exceptions=True)
        if within is not None:
            await self._wait_exit(run, max(deadline - loop.time(), 0.0))
            if not run.exited.is_set():
                await self._kill(run)
            return
        await self._wait_exit(run, timings.exit_grace)
        for sig, wait in ((signal.SIGTERM, timings.terminate), (signal.SIGKILL, timings.kill)):
            if run.exited.is_set():
                return
            logger.warning("plugin %s: worker still running, sending %s", self.name, sig.name)
            run.launched.send_signal(sig)
            await self._wait_exit(run, wait)
        if not run.exited.is_set():
            logger.error("plugin %s: worker still alive after SIGKILL", self.name)

    async def _kill(self, run: _Run) -> None:
        run.intentional = True
        run.launched.send_signal(signal.SIGKILL)
        await self._wait_exit(run, self.timings.kill)

    @staticmethod
    async def _wait_exit(run: _Run, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await run.exited.wait()

    async def _pump_stderr(self, run: _Run) -> None:
        try:
            async for frame in read_lines(run.launched.read_stderr, _MAX_STDERR_LINE):
                self._stderr_line(frame)
        except (ConnectionError, OSError):
            pass
        finally:
            run.stderr_done.set()

    def _stderr_line(self, frame: bytes | FrameTooLarge) -> None:
        if isinstance(frame, FrameTooLarge):
            line = frame.head.decode(errors="replace") + f"… ({frame.size} bytes)"
        else:
            line = frame.decode(errors="replace").rstrip()
        # Lines, not one string: a flood of lines must not copy the whole tail each time.
        self._stderr_lines.append(line)
        self._stderr_chars += len(line) + 1
        while self._stderr_chars - len(self._stderr_lines[0]) - 1 > STDERR_TAIL_CHARS:
            self._stderr_chars -= len(self._stderr_lines.popleft()) + 1
        logger.info("plugin %s: [plugin stderr] %s", self.name, line)
        self._output("stderr", line)

    def _output(self, stream: Literal["stdout", "stderr"], line: str) -> None:
        if self._on_output is None:
            return
        try:
            self._on_output(stream, line)
        except Exception:
            logger.exception("plugin %s: output callback failed", self.name)

    def _set_status(self, status: WorkerStatus) -> None:
        previous, self._status = self._status, status
        if previous is not status:
            self._emit(WorkerStatusChanged(status, previous))

    def _emit(self, event: WorkerEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            logger.exception("plugin %s: event callback failed", self.name)
