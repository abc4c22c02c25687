"""Byte transports that carry the worker protocol: a process's pipes, or an in-memory pair.

Both ends of a connection only read chunks, write bytes and close; framing is the codec's job.
The in-memory pair moves the same bytes a pipe would, so an in-process worker goes through the
full serialize/parse round trip.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

#: Bytes asked for per read; messages larger than this arrive over several reads.
READ_CHUNK_BYTES = 256 * 1024


class Transport(Protocol):
    """One end of a bidirectional byte stream."""

    async def read(self) -> bytes:
        """The next chunk of incoming bytes; ``b""`` once the peer has closed its side."""
        ...

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer.

        Raises:
            ConnectionError: the stream is closed (a broken pipe, an exited process).
        """
        ...

    async def drain(self) -> None:
        """Wait until queued bytes have been handed over.

        Raises:
            ConnectionError: the stream broke while waiting.
        """
        ...

    def close(self) -> None:
        """Close this end; the peer reads end of stream. Idempotent."""
        ...


class StreamTransport:
    """A transport over asyncio streams, such as a subprocess's stdout and stdin."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self) -> bytes:
        return await self._reader.read(READ_CHUNK_BYTES)

    def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise BrokenPipeError("the stream is closed")
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()


class MemoryTransport:
    """One end of an in-memory pipe pair (see ``memory_transport_pair``)."""

    def __init__(self) -> None:
        self._inbound = asyncio.StreamReader()
        self._peer: MemoryTransport | None = None
        self._closed = False

    async def read(self) -> bytes:
        return await self._inbound.read(READ_CHUNK_BYTES)

    def write(self, data: bytes) -> None:
        peer = self._peer
        if self._closed or peer is None or peer._closed:
            raise BrokenPipeError("the in-memory pipe is closed")
        peer._inbound.feed_data(data)

    async def drain(self) -> None:
        # Let the reading side run, as a pipe's flow control would.
        await asyncio.sleep(0)

    def close(self) -> None:
        """Close both directions, like a process whose pipes are gone."""
        if self._closed:
            return
        self._closed = True
        self._inbound.feed_eof()
        if self._peer is not None and not self._peer._closed:
            self._peer._inbound.feed_eof()


def memory_transport_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected transports: what one writes, the other reads (host end, worker end)."""
    host, worker = MemoryTransport(), MemoryTransport()
    host._peer, worker._peer = worker, host
    return host, worker
