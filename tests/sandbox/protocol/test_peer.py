"""The JSON-RPC peer both ends run (sandbox/protocol/_peer.py), two of them over an in-memory
pipe: calls and answers, notifications, error answers, timeouts, closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sandbox.protocol import (
    ErrorCode,
    FrameError,
    FrameTooLarge,
    JsonRpcPeer,
    Notification,
    Request,
    Response,
    RpcError,
    RpcTimeout,
    WorkerUnavailable,
)
from sandbox.transport import MemoryTransport, memory_transport_pair
from tests.fixtures.protocol import wait_until


@dataclass
class End:
    """One peer and what reached it."""

    peer: JsonRpcPeer
    transport: MemoryTransport
    handler: Callable[[Request], Awaitable[Any]] | None = None
    notifications: list[tuple[str, Any]] = field(default_factory=list)
    unparseable: list[tuple[bytes, str]] = field(default_factory=list)
    oversized: list[FrameTooLarge] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    write_errors: list[ConnectionError] = field(default_factory=list)


def _end(transport: MemoryTransport, **options: Any) -> End:
    end: End

    async def handle(request: Request) -> Any:
        if end.handler is None:
            raise RpcError(ErrorCode.METHOD_NOT_FOUND, f"no {request.method}")
        return await end.handler(request)

    def error_for(request: Request, error: Exception) -> tuple[int, str]:
        code = error.code if isinstance(error, RpcError) else ErrorCode.INTERNAL_ERROR
        return code, str(error)

    def notified(notification: Notification) -> None:
        end.notifications.append((notification.method, notification.params))

    def unparseable(frame: bytes, error: FrameError) -> None:
        end.unparseable.append((frame, error.message))

    peer = JsonRpcPeer(
        transport,
        handler=handle,
        error_for=error_for,
        on_notification=notified,
        on_unparseable=unparseable,
        on_oversized=lambda report: end.oversized.append(report),
        on_write_error=lambda error: end.write_errors.append(error),
        on_dropped=lambda reason: end.dropped.append(reason),
        **options,
    )
    end = End(peer, transport)
    return end


@pytest.fixture
async def ends() -> AsyncIterator[tuple[End, End]]:
    """Two connected peers, both reading."""
    left_end, right_end = memory_transport_pair()
    left, right = _end(left_end, label="left"), _end(right_end, label="right")
    readers = [asyncio.create_task(end.peer.read()) for end in (left, right)]
    yield left, right
    for end in (left, right):
        end.peer.close("test over")
        end.transport.close()
    await asyncio.gather(*readers)


async def test_a_call_returns_the_other_ends_result(ends: tuple[End, End]) -> None:
    left, right = ends

    async def echo(request: Request) -> Any:
        return {"method": request.method, "params": request.params}

    right.handler = echo
    assert await left.peer.call("ping", {"n": 1}, timeout=5) == {
        "method": "ping",
        "params": {"n": 1},
    }
    assert left.peer.pending_calls == 0


async def test_requests_are_answered_concurrently_in_their_own_tasks(
    ends: tuple[End, End],
) -> None:
    left, right = ends
    release = asyncio.Event()

    async def slow_or_fast(request: Request) -> Any:
        if request.method == "slow":
            await release.wait()
        return request.method

    right.handler = slow_or_fast
    slow = asyncio.create_task(left.peer.call("slow", {}, timeout=5))
    assert await left.peer.call("fast", {}, timeout=5) == "fast"
    await wait_until(lambda: len(right.peer.tasks) == 1)  # the slow answer, still at work
    release.set()
    assert await slow == "slow"


async def test_a_failing_handler_is_answered_with_the_mapped_error(
    ends: tuple[End, End],
) -> None:
    left, right = ends

    async def refuse(request: Request) -> Any:
        if request.method == "denied":
            raise RpcError(ErrorCode.CAPABILITY_DENIED, "not allowed")
        raise ValueError("broken")

    right.handler = refuse
    with pytest.raises(RpcError) as denied:
        await left.peer.call("denied", {}, timeout=5)
    assert (denied.value.code, denied.value.message) == (ErrorCode.CAPABILITY_DENIED, "not allowed")
    with pytest.raises(RpcError) as broken:
        await left.peer.call("other", {}, timeout=5)
    assert (broken.value.code, broken.value.message) == (ErrorCode.INTERNAL_ERROR, "broken")


async def test_an_unencodable_result_is_answered_as_a_failure(ends: tuple[End, End]) -> None:
    left, right = ends

    async def unencodable(request: Request) -> Any:
        return float("nan")

    right.handler = unencodable
    with pytest.raises(RpcError) as raised:
        await left.peer.call("nan", {}, timeout=5)
    assert raised.value.code == ErrorCode.INTERNAL_ERROR


async def test_notifications_and_envelopes_arrive_in_order(ends: tuple[End, End]) -> None:
    left, right = ends
    left.peer.notify("first", {"n": 1})
    left.peer.notify("second", [2], envelope={"paperclipInvocationId": "inv-1"})
    await wait_until(lambda: len(right.notifications) == 2)
    assert right.notifications == [("first", {"n": 1}), ("second", [2])]


async def test_a_call_without_an_answer_times_out_with_the_configured_message() -> None:
    mine, theirs = memory_transport_pair()
    end = _end(mine, timeout_message='call "{method}" gave up after {milliseconds}ms')
    with pytest.raises(RpcTimeout) as raised:
        await end.peer.call("slow", {}, timeout=0.05)
    assert raised.value.code == ErrorCode.TIMEOUT
    assert raised.value.message == 'call "slow" gave up after 50ms'
    assert end.peer.pending_calls == 0
    theirs.close()


async def test_closing_fails_waiting_and_later_calls() -> None:
    mine, theirs = memory_transport_pair()
    end = _end(mine)
    waiting = asyncio.create_task(end.peer.call("never", {}, timeout=5))
    await wait_until(lambda: end.peer.pending_calls == 1)
    end.peer.close("going away")
    with pytest.raises(WorkerUnavailable, match="^going away$"):
        await waiting
    with pytest.raises(WorkerUnavailable, match="^going away$"):
        await end.peer.call("later", {}, timeout=5)
    assert end.peer.closed and end.peer.pending_calls == 0
    end.peer.notify("dropped", {})  # dropped, not written
    theirs.close()
    written = b"".join([chunk async for chunk in _chunks(theirs)])
    assert written == b'{"jsonrpc":"2.0","id":1,"method":"never","params":{}}\n'


async def _chunks(transport: MemoryTransport) -> AsyncIterator[bytes]:
    while chunk := await transport.read():
        yield chunk


async def test_lines_that_are_not_messages_go_to_their_callbacks() -> None:
    mine, theirs = memory_transport_pair()
    end = _end(mine, max_message_bytes=64)
    reader = asyncio.create_task(end.peer.read())
    theirs.write(b"not json\n")
    theirs.write(b'{"jsonrpc":"2.0","id":null,"method":"x"}\n')  # a request must have an id
    theirs.write(b'{"jsonrpc":"2.0","id":7,"result":1}\n')  # nobody waits for 7
    long_line = b'{"jsonrpc":"2.0","method":"note","params":"' + b"x" * 100 + b'"}'
    theirs.write(long_line + b"\n")
    theirs.close()
    await reader
    assert end.unparseable == [(b"not json", "Invalid JSON: not json")]
    assert end.dropped == [
        "dropped a message of unknown type: "
        + repr(b'{"jsonrpc":"2.0","id":null,"method":"x"}')[:200],
        "response for unknown request id 7",
    ]
    assert [report.size for report in end.oversized] == [len(long_line)]
    assert end.notifications == []


async def test_a_waiting_call_can_be_resolved_by_its_owner() -> None:
    mine, theirs = memory_transport_pair()
    end = _end(mine)
    call = asyncio.create_task(end.peer.call("big", {}, timeout=5))
    await wait_until(lambda: end.peer.waiting_method(1) == "big")
    # What the host does with an oversized answer: fail the call that waited for it.
    end.peer.resolve(Response(1, None, RpcError(ErrorCode.INTERNAL_ERROR, "too big")))
    with pytest.raises(RpcError, match="^too big$"):
        await call
    assert end.peer.waiting_method(1) is None
    theirs.close()


async def test_answers_to_a_broken_stream_go_to_on_write_error() -> None:
    mine, theirs = memory_transport_pair()
    end = _end(mine)
    theirs.close()
    end.peer.answer_error(None, ErrorCode.PARSE_ERROR, "Parse error: x")
    assert len(end.write_errors) == 1
    with pytest.raises(ConnectionError):
        end.peer.notify("log", {})
    with pytest.raises(ConnectionError):
        await end.peer.call("ping", {}, timeout=5, drain=True)
    assert end.peer.pending_calls == 0
