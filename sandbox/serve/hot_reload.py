"""Hot reload (``sandbox serve --watch``): a saved plugin file reloads that plugin.

``PluginWatcher`` watches the package folders of the plugins installed from a local folder
(status ``ready``, and ``error`` so that fixing a broken save reloads it too) with watchfiles.
Changes are debounced per plugin, as upstream's dev watcher does: a reload starts once the
folder has been quiet for ``debounce`` seconds, so a burst of writes (an editor's save, a
build) causes one reload. Changes that arrive during a reload cause one more after it.
``node_modules``, ``__pycache__``, ``.git`` and editor temporary files are ignored.

Plugins installed or enabled later are picked up by ``refresh()``, which also runs every
``refresh_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from watchfiles import DefaultFilter, awatch

from core.plugin_registry import list_plugins
from sandbox.plugin_host import PluginHost, ReloadOutcome

logger = logging.getLogger(__name__)

#: Statuses whose plugins are watched.
WATCHED_STATUSES = ("ready", "error")
#: How long (ms) the watch thread waits before reporting "no change"; the first such report
#: tells ``refresh()`` that the folders are being watched.
_IDLE_REPORT_MS = 200
#: Seconds ``refresh()`` waits for a new watch to start.
_START_TIMEOUT = 10.0


class PluginFileFilter(DefaultFilter):
    """watchfiles' default filter (VCS, caches, ``node_modules``, vim/emacs/JetBrains temp
    files) plus more editor temporaries and SQLite files a plugin may keep beside its code."""

    ignore_entity_patterns: Sequence[str] = (
        *DefaultFilter.ignore_entity_patterns,
        r"^4913$",  # vim's write test
        r"^#.*#$",  # emacs auto-save
        r"\.kate-swp$",
        r"\.(tmp|temp|bak|orig)$",
        r"\.(db|sqlite|sqlite3)(-wal|-shm|-journal)?$",
    )


class PluginWatcher:
    """Reloads a plugin (``host.reload``) once per burst of changes to its package folder.

    Args:
        host: the running plugin host.
        debounce: seconds a plugin folder must stay quiet before the reload starts.
        refresh_interval: seconds between automatic ``refresh()``es (None: only on demand).
        on_reload: called with every reload's outcome.
    """

    def __init__(
        self,
        host: PluginHost,
        *,
        debounce: float = 0.5,
        refresh_interval: float | None = 2.0,
        on_reload: Callable[[ReloadOutcome], None] | None = None,
    ) -> None:
        self.host = host
        self.debounce = debounce
        self.refresh_interval = refresh_interval
        self.on_reload = on_reload
        #: The folders watched now, by plugin id.
        self.roots: dict[str, Path] = {}
        self._watch: asyncio.Task[None] | None = None
        self._stop_watch: asyncio.Event | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._refresh_lock = asyncio.Lock()
        self._due: dict[str, float] = {}  # plugin id -> when its reload may start
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._reloading: set[str] = set()

    def start(self) -> None:
        """Start watching (in the background; ``refresh()`` waits until the watch is live)."""
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_loop(), name="plugin watcher")

    async def stop(self) -> None:
        """Stop watching; pending reloads are dropped, one in progress is finished."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        await self._stop_watching()
        self._due.clear()
        for plugin_id, timer in list(self._timers.items()):
            if plugin_id not in self._reloading:
                timer.cancel()
        await asyncio.gather(*self._timers.values(), return_exceptions=True)
        self._timers.clear()

    async def refresh(self) -> None:
        """Watch the folders of the plugins watchable now; returns once the watch is live."""
        async with self._refresh_lock:
            roots = await self._watchable()
            if roots == self.roots and self._watch is not None and not self._watch.done():
                return
            await self._stop_watching()
            self.roots = roots
            if not roots:
                return
            ready = asyncio.Event()
            self._stop_watch = asyncio.Event()
            self._watch = asyncio.create_task(
                self._watch_loop(dict(roots), self._stop_watch, ready), name="plugin folders"
            )
            started = asyncio.create_task(ready.wait())
            await asyncio.wait(
                (started, self._watch), timeout=_START_TIMEOUT, return_when="FIRST_COMPLETED"
            )
            started.cancel()
            if self._watch.done():  # it could not watch (a folder gone): say why
                self._watch.result()
            if not ready.is_set():
                raise TimeoutError(f"the plugin folders were not watched in {_START_TIMEOUT}s")

    async def _watchable(self) -> dict[str, Path]:
        roots: dict[str, Path] = {}
        for plugin in await list_plugins(self.host.db):
            if plugin.status not in WATCHED_STATUSES or plugin.package_path is None:
                continue
            root = Path(plugin.package_path)
            # an npm install lives in node_modules: only local folders are someone's source
            if root.is_dir() and "node_modules" not in root.parts:
                roots[plugin.id] = root.resolve()
        return roots

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                logger.exception("could not refresh the watched plugin folders")
            if self.refresh_interval is None:
                return
            await asyncio.sleep(self.refresh_interval)

    async def _stop_watching(self) -> None:
        if self._watch is None:
            return
        assert self._stop_watch is not None
        self._stop_watch.set()
        try:
            await self._watch
        except Exception:
            logger.exception("the plugin folder watch failed")
        self._watch = self._stop_watch = None

    async def _watch_loop(
        self, roots: dict[str, Path], stop: asyncio.Event, ready: asyncio.Event
    ) -> None:
        changes_seen = awatch(
            *roots.values(),
            watch_filter=PluginFileFilter(),
            stop_event=stop,
            rust_timeout=_IDLE_REPORT_MS,
            yield_on_timeout=True,
        )
        async for changes in changes_seen:
            ready.set()
            for _, path in changes:
                for plugin_id, root in roots.items():
                    if Path(path).is_relative_to(root):
                        self._changed(plugin_id)

    def _changed(self, plugin_id: str) -> None:
        self._due[plugin_id] = asyncio.get_running_loop().time() + self.debounce
        if plugin_id not in self._timers:
            self._timers[plugin_id] = asyncio.create_task(
                self._reload_when_quiet(plugin_id), name=f"reload {plugin_id}"
            )

    async def _reload_when_quiet(self, plugin_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while plugin_id in self._due:
                delay = self._due[plugin_id] - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                    continue
                del self._due[plugin_id]
                self._reloading.add(plugin_id)
                try:
                    outcome = await self.host.reload(plugin_id)
                except Exception:
                    logger.exception("reloading plugin %s failed", plugin_id)
                else:
                    if self.on_reload is not None:
                        self.on_reload(outcome)
                finally:
                    self._reloading.discard(plugin_id)
        finally:
            self._timers.pop(plugin_id, None)


__all__ = ["WATCHED_STATUSES", "PluginFileFilter", "PluginWatcher"]
