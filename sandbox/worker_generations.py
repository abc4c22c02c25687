"""The host's end of a worker process that serves one generation of a plugin's worker after
another (``sandbox.sdk.generations`` for Python, ``node_worker/generations.mjs`` for Node).

A ``WorkerGeneration`` is one such generation seen as a ``LaunchedWorker``: the host talks to
it, stops it with ``shutdown`` and watches it end exactly as it would a worker process. Its end
is the line ``END_OF_GENERATION`` on the process's stderr and then its stdout (nothing of it
reaches the host's log or the protocol); the process then waits, and the generation hands it
back (``on_end``) for a later ``WorkerGeneration.start`` with ``next_generation=True``. If the
process itself ends instead (a crash, a kill, or a generation that could not end cleanly), the
generation ends as that process did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable

from sandbox.sdk.generations import END_OF_GENERATION, NEXT_GENERATION
from sandbox.transport import Transport
from sandbox.worker_launch import LaunchedWorker, StartedAhead, WorkerExit


class EndOfGeneration:
    """Finds ``END_OF_GENERATION`` at the start of a line in a stream read chunk by chunk.

    ``feed`` returns the bytes before the marker (a line fragment that could be the start of the
    marker is held back until the next chunk) and whether the marker has come.
    """

    def __init__(self) -> None:
        self._held = b""
        self._line_start = True
        self.ended = False

    def feed(self, chunk: bytes) -> bytes:
        if self.ended:
            return b""
        data, self._held = self._held + chunk, b""
        if not chunk:  # the stream ended: nothing is held back any more
            return data
        found = data.find(END_OF_GENERATION)
        while found != -1:
            if (found == 0 and self._line_start) or data[found - 1 : found] == b"\n":
                self.ended = True
                return data[:found]
            found = data.find(END_OF_GENERATION, found + 1)
        fragment_start = data.rfind(b"\n") + 1
        if fragment_start or self._line_start:
            fragment = data[fragment_start:]
            if fragment and END_OF_GENERATION.startswith(fragment):
                self._held, data = fragment, data[:fragment_start]
        if data:
            self._line_start = data.endswith(b"\n")
        return data


async def _read_until_end(read: Callable[[], Awaitable[bytes]], end: EndOfGeneration) -> bytes:
    """The next chunk before the end of the generation; ``b""`` once it has come."""
    while not end.ended:
        chunk = await read()
        data = end.feed(chunk)
        if data or not chunk:
            return data
    return b""


class _GenerationTransport:
    """The process's protocol transport, ending (``b""``) where the generation ends."""

    def __init__(
        self, transport: Transport, end: EndOfGeneration, on_end: Callable[[], None]
    ) -> None:
        self._transport = transport
        self._end = end
        self._on_end = on_end

    async def read(self) -> bytes:
        data = await _read_until_end(self._transport.read, self._end)
        self._on_end()
        return data

    def write(self, data: bytes) -> None:
        if self._end.ended:
            raise BrokenPipeError("the worker generation has ended")
        self._transport.write(data)

    async def drain(self) -> None:
        await self._transport.drain()

    def close(self) -> None:
        self._transport.close()


class WorkerGeneration(LaunchedWorker):
    """One generation of a generations process (see the module docstring)."""

    def __init__(
        self,
        started: StartedAhead,
        worker: LaunchedWorker,
        on_end: Callable[[StartedAhead], None],
    ) -> None:
        self._started = started
        self._worker = worker
        self._on_end = on_end
        self._stdout_end = EndOfGeneration()
        self._stderr_end = EndOfGeneration()
        self._ended = asyncio.Event()
        self.transport = _GenerationTransport(worker.transport, self._stdout_end, self._check_end)
        self.pid = worker.pid

    @classmethod
    async def start(
        cls,
        started: StartedAhead,
        *,
        next_generation: bool,
        on_end: Callable[[StartedAhead], None],
    ) -> WorkerGeneration:
        """The next generation of ``started`` (its first: ``next_generation=False``).

        Raises:
            OSError: the process is gone.
        """
        if next_generation:
            assert started.process.stdin is not None
            os.write(started.process.stdin.fileno(), NEXT_GENERATION)
        return cls(started, await started.adopt(), on_end)

    async def read_stderr(self) -> bytes:
        data = await _read_until_end(self._worker.read_stderr, self._stderr_end)
        self._check_end()
        return data

    async def wait(self) -> WorkerExit:
        exited = asyncio.ensure_future(self._worker.wait())
        ended = asyncio.ensure_future(self._ended.wait())
        await asyncio.wait({exited, ended}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            ended.cancel()
            return exited.result()
        exited.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await exited
        await self._started.detach()
        self._on_end(self._started)
        return WorkerExit(0)

    def send_signal(self, sig: signal.Signals) -> None:
        if not self._ended.is_set():
            self._worker.send_signal(sig)

    def _check_end(self) -> None:
        if self._stdout_end.ended and self._stderr_end.ended:
            self._ended.set()
