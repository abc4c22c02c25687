"""Byte transports (sandbox/transport.py)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from sandbox.transport import StreamTransport, memory_transport_pair


async def test_memory_pair_carries_bytes_both_ways() -> None:
    host, worker = memory_transport_pair()
    host.write(b"ping\n")
    await host.drain()
    assert await worker.read() == b"ping\n"
    worker.write(b"pong\n")
    assert await host.read() == b"pong\n"


async def test_closing_one_end_ends_both_directions() -> None:
    host, worker = memory_transport_pair()
    worker.write(b"last words\n")
    worker.close()
    assert await host.read() == b"last words\n"
    assert await host.read() == b""
    with pytest.raises(BrokenPipeError):
        host.write(b"too late")
    with pytest.raises(BrokenPipeError):
        worker.write(b"too late")
    worker.close()  # idempotent


async def test_stream_transport_over_a_process() -> None:
    echo = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", echo, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout and process.stdin
    transport = StreamTransport(process.stdout, process.stdin)
    transport.write(b"hello\n")
    await transport.drain()
    transport.close()
    received = b""
    while chunk := await transport.read():
        received += chunk
    assert received == b"hello\n"
    assert await process.wait() == 0
    with pytest.raises(BrokenPipeError):
        transport.write(b"after close")
