"""Worker processes kept between tests, so that a test's install does not wait for one to start.

Starting a worker is most of what installing a plugin costs a test: the jail, then an
interpreter (Python, or Node and the SDK) loading the worker's code. A host given
``SpareWorkers`` (the ``plugin_sandbox`` fixture shares one per session) starts each worker as
a process that serves one *generation* of it after another (``sandbox.worker_generations``):
when a test's host stops the worker, the generation ends and the process waits; the next
launch of the very same command (argv, environment, working folder, containment settings)
starts its next generation instead of a new process.

What a generation shares with the one before, and why a test still sees a fresh worker:

- Python: the process imported the SDK once and forks each generation from that state, so a
  generation is a new process that runs the worker's file from the start; nothing the previous
  test's worker did in memory, in threads or in child processes reaches it.
- Node: the process loaded the packages under ``node_modules`` (the SDK) once; each generation
  evaluates the worker's file anew and gets a new RPC host from the SDK. A generation that
  leaves something running (a timer, a socket, a server) ends the process instead of being
  reused, and so does a worker file that imports files of its own or CommonJS modules of its
  own (those would be shared). Changes to the process's globals stay.
- Both: ``initialize``, and with it ``setup``, config, event subscriptions and any state, come
  after the generation started, from the new test's host and database; a contained worker's
  private temporary folder is emptied between generations.

The command holds the plugin's id (``PAPERCLIP_PLUGIN_ID``), so a host with spare workers
gives a new plugin the id ``stable_plugin_id(key)``: the same in every test's fresh database.
"""

from __future__ import annotations

import uuid

from sandbox.worker_generations import WorkerGeneration
from sandbox.worker_launch import LaunchedWorker, StartedAhead, WorkerLauncher

_PLUGIN_IDS = uuid.UUID("5b0c3f52-86a5-4d39-9a57-1bde0e0b6a77")

_Key = tuple[object, ...]


def stable_plugin_id(plugin_key: str) -> str:
    """The record id a host with spare workers gives a newly installed plugin."""
    return str(uuid.uuid5(_PLUGIN_IDS, plugin_key))


class SpareWorkers:
    """The idle worker processes of each command; ``close`` ends them."""

    def __init__(self) -> None:
        self._idle: dict[_Key, list[StartedAhead]] = {}
        self._closed = False

    def launcher(self, launcher: WorkerLauncher) -> WorkerLauncher:
        """``launcher``, starting generations in idle processes of its command (or a new one)."""
        generations = launcher.for_generations()
        command = getattr(generations, "command", None)
        if generations is None or command is None:
            return launcher
        key = (
            type(generations).__qualname__,
            command.argv,
            tuple(sorted(command.env.items())),
            command.cwd,
            repr(getattr(generations, "settings", None)),
        )
        return _GenerationLauncher(self, generations, key)

    def close(self) -> None:
        """End every idle process."""
        self._closed = True
        idle, self._idle = self._idle, {}
        for processes in idle.values():
            for process in processes:
                process.discard()

    def _take(self, key: _Key) -> StartedAhead | None:
        idle = self._idle.get(key, [])
        while idle:
            process = idle.pop()
            if process.running():
                return process
            process.discard()
        return None

    def _keep(self, key: _Key, process: StartedAhead) -> None:
        if self._closed:
            process.discard()
        else:
            self._idle.setdefault(key, []).append(process)


class _GenerationLauncher(WorkerLauncher):
    def __init__(self, pool: SpareWorkers, launcher: WorkerLauncher, key: _Key) -> None:
        self._pool = pool
        self._launcher = launcher
        self._key = key

    async def launch(self) -> LaunchedWorker:
        def keep(process: StartedAhead) -> None:
            self._pool._keep(self._key, process)

        idle = self._pool._take(self._key)
        if idle is not None:
            try:
                return await WorkerGeneration.start(idle, next_generation=True, on_end=keep)
            except OSError:
                idle.discard()
        started = self._launcher.start_ahead()
        if started is None:
            return await self._launcher.launch()
        return await WorkerGeneration.start(started, next_generation=False, on_end=keep)
