"""``run_worker``: serve a plugin over the process's stdin and stdout, as the host spawns it."""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from sandbox.protocol.limits import WorkerLimits
from sandbox.sdk._plugin import Plugin
from sandbox.sdk._runtime import WorkerRuntime
from sandbox.transport import StreamTransport

#: Set by ``sandbox.sdk.generations`` in a worker generation's process: called by
#: ``run_worker`` before it touches stdin, stdout or stderr. A generation forked ahead of its
#: test waits there for the test to start.
before_serving: Callable[[], None] | None = None


def run_worker(plugin: Plugin) -> NoReturn:
    """Serve ``plugin`` until the host shuts it down or closes stdin, then exit the process.

    Call it from the worker module's ``if __name__ == "__main__":`` block. The protocol keeps
    the real stdout for itself; ``print`` and anything else written to file descriptor 1 goes to
    stderr instead, where the host captures it line by line.
    """
    with asyncio.Runner() as runner:
        runner.get_loop()  # made before the wait of a generation forked ahead
        if before_serving is not None:
            before_serving()
        sys.stdout.flush()
        protocol_fd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        runner.run(_serve_stdio(plugin, protocol_fd))
    sys.exit(0)


async def _serve_stdio(plugin: Plugin, protocol_fd: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pipe = os.fdopen(protocol_fd, "wb", buffering=0)
    write_transport, write_protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, pipe
    )
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
    runtime = WorkerRuntime(plugin, StreamTransport(reader, writer), limits=WorkerLimits.from_env())

    def report(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # A background task the plugin started failed with nobody awaiting it: tell the host
        # (the published SDK's "Unhandled rejection") and keep serving.
        error = context.get("exception")
        message = str(error) if error is not None else context.get("message", "")
        stack = "".join(traceback.format_exception(error)) if error is not None else None
        runtime.notify(
            "log",
            {
                "level": "error",
                "message": f"Unhandled exception: {message}",
                "meta": {"stack": stack},
            },
        )
        loop.default_exception_handler(context)

    loop.set_exception_handler(report)
    await runtime.serve()
