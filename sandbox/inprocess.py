"""The in-process runner: a Python plugin served inside the host's event loop.

The plugin runs through the same SDK dispatch as in its own process, over an in-memory pipe
that carries the same newline-delimited JSON: every message is serialized and parsed, so
in-process tests see exactly what the wire would carry. ``WorkerProcess`` drives it like a
subprocess (initialize, calls, shutdown, crash and restart); only isolation differs: plugin
code shares the host's loop, so blocking code stalls the host, and module state survives a
restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import signal
import sys
import traceback
from pathlib import Path

from sandbox.protocol.limits import WorkerLimits
from sandbox.sdk import Plugin, WorkerRuntime
from sandbox.transport import MemoryTransport, memory_transport_pair
from sandbox.worker_launch import PYTHON_MODULE_PREFIX, LaunchedWorker, WorkerExit, WorkerLauncher


class _InProcessWorker(LaunchedWorker):
    def __init__(self, host_end: MemoryTransport, runtime: WorkerRuntime) -> None:
        self.transport = host_end
        self._stderr = asyncio.StreamReader()
        self._signal: str | None = None
        self._task = asyncio.create_task(self._run(runtime), name="in-process plugin worker")

    async def _run(self, runtime: WorkerRuntime) -> int:
        try:
            await runtime.serve()
            return 0
        except Exception:
            # What a crashing process would print on its way out.
            self._stderr.feed_data(traceback.format_exc().encode())
            return 1
        finally:
            self._stderr.feed_eof()

    async def read_stderr(self) -> bytes:
        return await self._stderr.read(64 * 1024)

    async def wait(self) -> WorkerExit:
        await asyncio.wait({self._task})
        if self._task.cancelled():
            return WorkerExit(None, self._signal)
        return WorkerExit(self._task.result())

    def send_signal(self, sig: signal.Signals) -> None:
        if not self._task.done():
            self._signal = sig.name
            self._task.cancel()


class InProcessLauncher(WorkerLauncher):
    """Launches ``plugin`` in-process; pass it to ``WorkerProcess`` instead of a subprocess.

    Args:
        plugin: the plugin definition (see ``load_python_plugin`` to find it from a manifest).
        call_timeout: seconds a worker-to-host call waits.
        limits: how long a line and how deep its JSON the worker end accepts.
    """

    def __init__(
        self,
        plugin: Plugin,
        *,
        call_timeout: float = 30.0,
        limits: WorkerLimits | None = None,
    ) -> None:
        self.plugin = plugin
        self.call_timeout = call_timeout
        self.limits = limits

    async def launch(self) -> LaunchedWorker:
        host_end, worker_end = memory_transport_pair()
        runtime = WorkerRuntime(
            self.plugin,
            worker_end,
            call_timeout=self.call_timeout,
            limits=self.limits,
        )
        return _InProcessWorker(host_end, runtime)


def load_python_plugin(declared: str, *, package_root: Path) -> Plugin:
    """Import a Python worker (a manifest's ``entrypoints.worker``) and return its ``plugin``.

    A file is imported under a private module name, so its ``run_worker`` guard does not fire;
    a ``python:<module>`` must be importable as is.

    Raises:
        ImportError: the module cannot be imported.
        TypeError: the module has no module-level ``plugin = define_plugin(...)``.
    """
    if declared.startswith(PYTHON_MODULE_PREFIX):
        module = importlib.import_module(declared.removeprefix(PYTHON_MODULE_PREFIX))
    else:
        path = (package_root / declared).resolve()
        name = "paperclip_plugin_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"Cannot import the Python worker at {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    plugin = getattr(module, "plugin", None)
    if not isinstance(plugin, Plugin):
        raise TypeError(f'Python worker "{declared}" defines no plugin = define_plugin(...)')
    return plugin
