"""Round trip of a trivial ``performAction``: in-process, Python subprocess, and JS worker.

Runs the wire-probe plugins of ``fixtures/plugins`` (the JS one on the published SDK) through
``WorkerProcess`` and prints, per worker kind: the time to spawn and initialize, the latency of
sequential calls (median and 95th percentile), and the throughput with 16 calls in flight.

    .venv/bin/python benchmarks/worker_roundtrip.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from core.invocation_scope import CallContext
from sandbox.inprocess import InProcessLauncher, load_python_plugin
from sandbox.worker_launch import SubprocessLauncher, WorkerLauncher, worker_command
from sandbox.worker_process import InitializeParams, WorkerProcess

PLUGINS = Path(__file__).resolve().parent.parent / "fixtures" / "plugins"
ACTION = {"key": "context", "params": {"n": 1}, "actorContext": {"type": "user", "userId": "u1"}}
IN_FLIGHT = 16


async def host(method: str, params: dict[str, Any], context: CallContext) -> Any:
    """The probes call ``config.get`` and ``events.subscribe`` during setup."""
    return {} if method == "config.get" else None


def launcher(kind: str) -> WorkerLauncher:
    if kind == "js":
        root = PLUGINS / "wire-probe-js"
        if not (root / "node_modules").is_dir():
            subprocess.run(
                ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=root, check=True
            )
        return SubprocessLauncher(
            worker_command("./worker.mjs", package_root=root, plugin_id="bench")
        )
    root = PLUGINS / "wire-probe-python"
    if kind == "python-inprocess":
        return InProcessLauncher(load_python_plugin("./worker.py", package_root=root))
    return SubprocessLauncher(worker_command("./worker.py", package_root=root, plugin_id="bench"))


async def measure(kind: str, calls: int) -> dict[str, float]:
    worker = WorkerProcess(
        plugin_id="bench",
        launcher=launcher(kind),
        initialize=InitializeParams(manifest={"id": f"bench.{kind}"}),
        handler=host,
    )
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the probes print a stray line in setup
        await worker.start()
    start_ms = (time.perf_counter() - started) * 1000
    try:
        for _ in range(200):  # warm up (JIT, caches)
            await worker.call("performAction", ACTION)
        latencies = []
        for _ in range(calls):
            before = time.perf_counter()
            await worker.call("performAction", ACTION)
            latencies.append((time.perf_counter() - before) * 1e6)
        before = time.perf_counter()
        for _ in range(calls // IN_FLIGHT):
            await asyncio.gather(*(worker.call("performAction", ACTION) for _ in range(IN_FLIGHT)))
        concurrent = (calls // IN_FLIGHT) * IN_FLIGHT / (time.perf_counter() - before)
    finally:
        await worker.stop()
    latencies.sort()
    return {
        "start_ms": start_ms,
        "median_us": statistics.median(latencies),
        "p95_us": latencies[int(len(latencies) * 0.95)],
        "sequential_per_s": 1e6 / statistics.mean(latencies),
        "concurrent_per_s": concurrent,
    }


async def main(calls: int) -> None:
    print(
        f"performAction round trip, {calls} calls per kind "
        f"({IN_FLIGHT} in flight for the last column)"
    )
    print(f"{'worker':<18}{'start':>10}{'median':>11}{'p95':>11}{'seq/s':>9}{'conc/s':>9}")
    for kind in ("python-inprocess", "python", "js"):
        r = await measure(kind, calls)
        print(
            f"{kind:<18}{r['start_ms']:>8.0f}ms{r['median_us']:>9.0f}us{r['p95_us']:>9.0f}us"
            f"{r['sequential_per_s']:>9.0f}{r['concurrent_per_s']:>9.0f}"
        )


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # the JS probe's stray stdout line is reported as a warning
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(main(parser.parse_args().calls))
