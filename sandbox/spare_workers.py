"""Workers started ahead of time, so that a test's install does not wait for a process to start.

Starting a worker is most of what installing a plugin costs a test: the jail, then an
interpreter (Python, or Node and the SDK) loading the worker's code. A host given
``SpareWorkers`` (the ``plugin_sandbox`` fixture shares one per session) launches each worker
through ``SpareWorkers.launcher``: a launch takes the oldest spare started earlier for the same
command, and starts the next one at once, while the current test runs. ``SPARES_PER_COMMAND``
are kept, so a spare has had the time of a whole test or more to load its code.

A spare is exactly a fresh start that began earlier: a new process (contained workers: a new
jail and private folder) that has loaded the worker's code and received nothing; ``initialize``,
and with it ``setup``, config, subscriptions and any state, come after it is taken. A spare is
only taken for the very same command (argv, environment, working folder, containment settings)
while the files of the package folder are unchanged since it started (``node_modules`` is not
looked at); otherwise it is discarded and the worker starts the usual way.

The command holds the plugin's id (``PAPERCLIP_PLUGIN_ID``), so a host with spares gives a new
plugin the id ``stable_plugin_id(key)``: the same in every test's fresh database.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sandbox.worker_launch import LaunchedWorker, StartedAhead, WorkerLauncher

#: Spares kept per command: each taken spare had at least one whole test's time to start.
SPARES_PER_COMMAND = 2
#: Folders of a package whose changes do not count (dependencies, caches).
_NOT_WATCHED = frozenset({"node_modules", "__pycache__", ".git"})
_PLUGIN_IDS = uuid.UUID("5b0c3f52-86a5-4d39-9a57-1bde0e0b6a77")

_Key = tuple[object, ...]


def stable_plugin_id(plugin_key: str) -> str:
    """The record id a host with spare workers gives a newly installed plugin."""
    return str(uuid.uuid5(_PLUGIN_IDS, plugin_key))


def package_state(root: Path | None) -> tuple[tuple[str, int, int], ...]:
    """What the files of a package folder look like now (paths, sizes, modification times;
    ``node_modules`` and caches left out)."""
    if root is None:
        return ()
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in _NOT_WATCHED]
        for name in files:
            path = os.path.join(folder, name)
            stat = os.stat(path)
            found.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


class _Spare:
    def __init__(self, started: StartedAhead, package: tuple[tuple[str, int, int], ...]) -> None:
        self.started = started
        self.package = package


class SpareWorkers:
    """Spare workers for each command that has been launched; ``close`` ends them."""

    def __init__(self) -> None:
        self._spares: dict[_Key, list[_Spare]] = {}

    def launcher(self, launcher: WorkerLauncher) -> WorkerLauncher:
        """``launcher``, taking spares for its command and starting the next one."""
        command = getattr(launcher, "command", None)
        if command is None:
            return launcher
        settings = getattr(launcher, "settings", None)
        key = (
            type(launcher).__qualname__,
            command.argv,
            tuple(sorted(command.env.items())),
            command.cwd,
            repr(settings),
        )
        return _SpareLauncher(self, launcher, key, command.cwd)

    def close(self) -> None:
        """End every spare (nothing ever talked to them)."""
        spares, self._spares = self._spares, {}
        for kept in spares.values():
            for spare in kept:
                spare.started.discard()

    def _take(self, key: _Key, package: tuple[tuple[str, int, int], ...]) -> StartedAhead | None:
        kept = self._spares.setdefault(key, [])
        while kept:
            spare = kept.pop(0)
            if spare.package == package and spare.started.running():
                return spare.started
            spare.started.discard()  # stale code, or it died
        return None

    def _prepare(
        self, key: _Key, launcher: WorkerLauncher, package: tuple[tuple[str, int, int], ...]
    ) -> None:
        kept = self._spares.setdefault(key, [])
        while len(kept) < SPARES_PER_COMMAND:
            try:
                started = launcher.start_ahead()
            except OSError:
                return  # the usual start will say why
            if started is None:
                return
            kept.append(_Spare(started, package))


class _SpareLauncher(WorkerLauncher):
    def __init__(
        self, pool: SpareWorkers, launcher: WorkerLauncher, key: _Key, root: Path | None
    ) -> None:
        self._pool = pool
        self._launcher = launcher
        self._key = key
        self._root = root

    async def launch(self) -> LaunchedWorker:
        package = package_state(self._root)
        spare = self._pool._take(self._key, package)
        worker: LaunchedWorker | None = None
        if spare is not None:
            try:
                worker = await spare.adopt()
            except OSError:
                spare.discard()
        if worker is None:
            worker = await self._launcher.launch()
        self._pool._prepare(self._key, self._launcher, package)
        return worker
