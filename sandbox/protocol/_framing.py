"""Newline-delimited framing: one JSON message per line, no Content-Length header.

The decoder accepts bytes as they arrive (partial writes, several messages per chunk), tolerates
CRLF (parsing trims each line) and skips blank lines. A line longer than the maximum is never
buffered whole: its bytes are counted and dropped, and it comes out as a ``FrameTooLarge``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from sandbox.protocol._codes import DEFAULT_MAX_MESSAGE_BYTES
from sandbox.protocol._errors import FrameTooLarge

#: Bytes of an oversized line kept for diagnostics.
_HEAD_BYTES = 200
#: Longest a reader handles lines before it lets other tasks run.
_SLICE_SECONDS = 0.005


class LineDecoder:
    """Splits a byte stream into lines of at most ``max_line_bytes`` (newline excluded)."""

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._dropped: int | None = None  # size so far of an oversized line being skipped
        self._head = b""

    def feed(self, data: bytes) -> list[bytes | FrameTooLarge]:
        """The complete non-blank lines (or oversize reports) that ``data`` finishes."""
        lines: list[bytes | FrameTooLarge] = []
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            self._append(data[start:end])
            self._emit(lines)
            start = end + 1
        self._append(data[start:])
        return lines

    def flush(self) -> list[bytes | FrameTooLarge]:
        """At end of stream: the last line, even without its newline."""
        lines: list[bytes | FrameTooLarge] = []
        self._emit(lines)
        return lines

    def _append(self, chunk: bytes) -> None:
        if self._dropped is not None:
            self._dropped += len(chunk)
            if len(self._head) < _HEAD_BYTES:
                self._head += chunk[: _HEAD_BYTES - len(self._head)]
        elif len(self._buffer) + len(chunk) > self.max_line_bytes:
            self._head = bytes((self._buffer + chunk)[:_HEAD_BYTES])
            self._dropped = len(self._buffer) + len(chunk)
            self._buffer.clear()
        else:
            self._buffer += chunk

    def _emit(self, lines: list[bytes | FrameTooLarge]) -> None:
        if self._dropped is not None:
            report = FrameTooLarge(size=self._dropped, limit=self.max_line_bytes, head=self._head)
            lines.append(report)
            self._dropped, self._head = None, b""
        elif self._buffer.strip():
            lines.append(bytes(self._buffer))
        self._buffer.clear()


async def read_lines(
    read: Callable[[], Awaitable[bytes]], max_line_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> AsyncIterator[bytes | FrameTooLarge]:
    """The lines of a stream read chunk by chunk with ``read`` (``b""`` at its end).

    A chunk holds thousands of short lines, and ``read`` does not suspend while data is
    buffered: so that a flooding peer cannot hold the event loop, the reader lets other tasks
    run whenever handling its lines has taken ``_SLICE_SECONDS``.
    """
    loop = asyncio.get_running_loop()
    decoder = LineDecoder(max_line_bytes)
    resumed = loop.time()
    while chunk := await read():
        for line in decoder.feed(chunk):
            yield line
            if loop.time() - resumed > _SLICE_SECONDS:
                await asyncio.sleep(0)
                resumed = loop.time()
    for line in decoder.flush():
        yield line
