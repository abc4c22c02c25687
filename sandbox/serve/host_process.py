"""The long-running host behind ``sandbox serve``: one process that keeps plugins running.

It composes what the other modules do on their own: the plugin host (workers up, restarted on a
crash, events delivered), the HTTP server (scoped routes, bridges, health), the job scheduler, the
simulated agents with the liveness loop that recovers a dead host's runs, and the plugin watcher.
The host registers itself in ``sandbox_hosts`` so that CLI commands on the same database go
through it, and other hosts see when it dies.

Shutdown order matters so that nothing committed is lost and nothing is left half-written: stop
taking new work (HTTP, watcher, scheduler, simulator), let in-flight requests, jobs and runs
finish, then stop the workers (each gets ``shutdown``), flush the log buffers, and mark the host
stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn

from core.errors import HostError
from core.hosts import register_host
from core.plugin_registry import list_plugins
from core.records import PluginRecord
from db import Database
from db.types import utcnow
from sandbox.plugin_host import PluginActivationError, PluginHost
from sandbox.serve.agent_profiles import AgentProfiles
from sandbox.serve.agent_simulator import AgentSimulator
from sandbox.serve.hot_reload import PluginWatcher
from sandbox.serve.http import create_app
from sandbox.serve.job_scheduler import JobScheduler
from sandbox.serve.liveness import HostLiveness

#: Seconds between two looks at the plugins table (install, enable, disable from the CLI).
PLUGIN_POLL_INTERVAL = 2.0

#: What the host reports while it runs: an event name and its fields.
Report = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class ServeOptions:
    """What ``sandbox serve`` was asked for."""

    host: str = "127.0.0.1"
    port: int = 3100
    watch: bool = True
    agents: Literal["simulate", "off"] = "simulate"
    #: How simulated agents behave (``--agent-profiles``; built-in defaults otherwise).
    profiles: AgentProfiles = field(default_factory=AgentProfiles)
    seed: int = 0
    #: Seconds between two beats of this host; a host silent for ``dead_after`` is dead.
    beat_interval: float = 2.0
    dead_after: float = 10.0
    job_tick_interval: float = 30.0


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the host stops it in its shutdown order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServedHost:
    """Runs until ``stop()`` (or SIGINT/SIGTERM inside ``serve``)."""

    def __init__(self, db: Database, options: ServeOptions, report: Report) -> None:
        self.db = db
        self.options = options
        self.report = report
        self.plugins = PluginHost(db)
        self._stopping = asyncio.Event()
        self._server: _QuietServer | None = None
        self.url = ""
        self.host_id = ""

    async def serve(self) -> None:
        """Start everything, wait for a stop signal, and shut down in order."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop)
        try:
            await self._run()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    def stop(self) -> None:
        """Begin the shutdown (safe to call more than once)."""
        self._stopping.set()

    async def _run(self) -> None:
        listener = _listen(self.options.host, self.options.port)
        bound_host, bound_port = listener.getsockname()[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        registered = await register_host(
            self.db, hostname=socket.gethostname(), pid=os.getpid(), url=self.url, now=utcnow()
        )
        self.host_id = registered.id
        loaded = await self._load_plugins()
        self._server = _QuietServer(
            uvicorn.Config(
                create_app(self.plugins),
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=10,
            )
        )
        http = asyncio.create_task(self._server.serve(sockets=[listener]))
        liveness = HostLiveness(
            self.db,
            self.host_id,
            beat_interval=self.options.beat_interval,
            dead_after=self.options.dead_after,
            bus=self.plugins.bus,
        )
        liveness.start()
        scheduler = JobScheduler(
            self.plugins, clock=utcnow, tick_interval=self.options.job_tick_interval
        )
        scheduler.start()
        simulator: AgentSimulator | None = None
        if self.options.agents == "simulate":
            simulator = AgentSimulator(
                self.db,
                self.host_id,
                self.options.profiles,
                seed=self.options.seed,
                bus=self.plugins.bus,
            )
            simulator.start()
        following = asyncio.create_task(self._follow_plugins())
        watcher: PluginWatcher | None = None
        if self.options.watch:
            watcher = PluginWatcher(self.plugins)
            watcher.start()
        while not self._server.started and not http.done():
            await asyncio.sleep(0.01)
        if http.done():
            await http  # the server failed to start: raise its error
        self.report(
            "listening",
            {
                "url": self.url,
                "hostId": self.host_id,
                "plugins": loaded,
                "agents": self.options.agents,
                "watch": self.options.watch,
            },
        )
        await self._stopping.wait()
        self.report("stopping", {"url": self.url})
        self._server.should_exit = True
        if watcher is not None:
            await watcher.stop()
        await scheduler.stop()
        if simulator is not None:
            await simulator.stop()
        await http
        following.cancel()
        await self.plugins.close()
        await liveness.stop()  # marks the host stopped
        self.report("stopped", {"url": self.url})

    async def _follow_plugins(self) -> None:
        """Start plugins installed or enabled by another process (the CLI), stop those it
        disabled or uninstalled; what this host runs follows the database within a poll."""
        while True:
            await asyncio.sleep(PLUGIN_POLL_INTERVAL)
            ready = {r.id: r for r in await list_plugins(self.db) if r.status == "ready"}
            for plugin_id in self.plugins.running - ready.keys():
                await self.plugins.release(plugin_id)
                self.report("plugin_stopped", {"id": plugin_id})
            for plugin_id in ready.keys() - self.plugins.running:
                self.report("plugin_loaded", await self._load(ready[plugin_id]))

    async def _load_plugins(self) -> list[dict[str, Any]]:
        """Start the worker of every ready plugin; a plugin that fails is reported, not fatal."""
        return [
            await self._load(record)
            for record in await list_plugins(self.db)
            if record.status == "ready"
        ]

    async def _load(self, record: PluginRecord) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "pluginKey": record.plugin_key,
            "version": record.version,
            "id": record.id,
        }
        try:
            await self.plugins.activate(record.id)
            entry["status"] = "running"
        except (PluginActivationError, HostError) as error:
            entry["status"] = "error"
            entry["error"] = str(error)
        return entry


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket (port 0 picks a free port): the URL is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every kept-alive request waits ~40 ms for a delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise OSError(
            f"cannot listen on {host}:{port}: {error.strerror} (choose another with --port)"
        ) from None
    listener.listen(2048)
    listener.setblocking(False)
    return listener
