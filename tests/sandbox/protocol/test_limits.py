"""What the protocol bounds (sandbox/protocol/limits.py): JSON depth, message size both ways,
and the requests one end serves at once; each refusal names its limit and variable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.invocation_scope import CallContext
from sandbox.protocol import (
    ErrorCode,
    FrameError,
    FrameTooDeep,
    JsonRpcPeer,
    LineDecoder,
    Request,
    RpcError,
    WorkerLimits,
    parse_message,
)
from sandbox.protocol.limits import ENVIRONMENT
from sandbox.transport import MemoryTransport, memory_transport_pair
from sandbox.worker_connection import WorkerConnection
from tests.fixtures.protocol import wait_until


def _nested(depth: int) -> str:
    """A message whose ``params`` make the whole line ``depth`` levels deep."""
    return '{"jsonrpc":"2.0","method":"log","params":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_limits_come_from_the_environment() -> None:
    limits = WorkerLimits.from_env(
        {
            "SANDBOX_PLUGIN_MAX_MESSAGE_BYTES": "1000",
            "SANDBOX_PLUGIN_MAX_JSON_DEPTH": "8",
            "SANDBOX_PLUGIN_MAX_IN_FLIGHT_REQUESTS": "2",
            "SANDBOX_PLUGIN_MANIFEST_MAX_BYTES": "10",
        }
    )
    assert limits == WorkerLimits(
        max_message_bytes=1000, max_json_depth=8, max_in_flight_requests=2, max_manifest_bytes=10
    )
    assert WorkerLimits.from_env({}) == WorkerLimits()
    assert set(ENVIRONMENT) == set(WorkerLimits.model_fields)


class TestJsonDepth:
    def test_the_limit_is_inclusive(self) -> None:
        assert parse_message(_nested(256))["method"] == "log"
        with pytest.raises(FrameTooDeep) as raised:
            parse_message(_nested(257))
        assert raised.value.message == (
            "Message nests arrays and objects deeper than the limit of 256 levels"
            " (SANDBOX_PLUGIN_MAX_JSON_DEPTH)"
        )
        assert raised.value.head.startswith(b'{"jsonrpc":"2.0","method":"log"')

    @pytest.mark.parametrize("depth", [1_000, 100_000])
    def test_a_line_past_pythons_own_limit_is_refused_not_a_recursion_error(
        self, depth: int
    ) -> None:
        with pytest.raises(FrameTooDeep):
            parse_message(_nested(depth).encode())

    def test_brackets_inside_strings_do_not_count(self) -> None:
        text = "[" * 300 + '\\"]' + "{" * 300
        line = json.dumps({"jsonrpc": "2.0", "method": "log", "params": {"message": text}})
        assert parse_message(line, max_depth=2)["params"]["message"] == text

    def test_many_shallow_containers_pass(self) -> None:
        line = json.dumps({"jsonrpc": "2.0", "id": 1, "result": [[{"a": [1]}]] * 10_000})
        assert len(parse_message(line, max_depth=5)["result"]) == 10_000
        with pytest.raises(FrameTooDeep):
            parse_message(line, max_depth=4)

    def test_other_errors_keep_upstreams_messages(self) -> None:
        with pytest.raises(FrameError) as raised:
            parse_message("[" * 300 + "x")
        assert raised.value.message.startswith("Invalid JSON: [[[")


@pytest.fixture
async def peers() -> AsyncIterator[tuple[JsonRpcPeer, JsonRpcPeer, asyncio.Event]]:
    """A caller and a server that serves 3 requests at once, each until ``release`` is set;
    both refuse messages over 1,000 bytes."""
    release = asyncio.Event()

    async def handle(request: Request) -> Any:
        await release.wait()
        return "x" * request.params["size"]

    def peer(transport: MemoryTransport, **options: Any) -> JsonRpcPeer:
        return JsonRpcPeer(
            transport,
            handler=handle,
            error_for=lambda request, error: (ErrorCode.INTERNAL_ERROR, str(error)),
            on_notification=lambda notification: None,
            on_unparseable=lambda frame, error: None,
            on_oversized=lambda report: None,
            on_write_error=lambda error: None,
            max_message_bytes=1_000,
            **options,
        )

    left_end, right_end = memory_transport_pair()
    caller, server = peer(left_end), peer(right_end, max_in_flight_requests=3)
    readers = [asyncio.create_task(end.read()) for end in (caller, server)]
    yield caller, server, release
    for end, transport in ((caller, left_end), (server, right_end)):
        end.close("test over")
        transport.close()
    await asyncio.gather(*readers)


async def test_requests_past_the_in_flight_limit_are_refused_at_once(
    peers: tuple[JsonRpcPeer, JsonRpcPeer, asyncio.Event],
) -> None:
    caller, _, release = peers
    calls = [asyncio.create_task(caller.call("work", {"size": 1}, timeout=10)) for _ in range(5)]
    await wait_until(lambda: sum(call.done() for call in calls) == 2)
    refused = [call for call in calls if call.done()]
    for call in refused:
        with pytest.raises(RpcError) as raised:
            call.result()
        assert raised.value.code == ErrorCode.INTERNAL_ERROR
        assert raised.value.message == (
            'Call "work" refused: 3 calls are already being served, the limit'
            " (SANDBOX_PLUGIN_MAX_IN_FLIGHT_REQUESTS)"
        )
    release.set()
    assert [await call for call in calls if call not in refused] == ["x"] * 3
    assert await caller.call("work", {"size": 1}, timeout=5) == "x"  # the slots are free again


async def test_an_answer_over_the_limit_becomes_an_error_answer_at_once(
    peers: tuple[JsonRpcPeer, JsonRpcPeer, asyncio.Event],
) -> None:
    caller, _, release = peers
    release.set()
    with pytest.raises(RpcError) as raised:
        await caller.call("work", {"size": 5_000}, timeout=5)
    assert raised.value.code == ErrorCode.INTERNAL_ERROR
    assert raised.value.message == (
        'Response to "work" is 5036 bytes, over the 1000 bytes limit'
        " (SANDBOX_PLUGIN_MAX_MESSAGE_BYTES)"
    )


async def test_a_request_over_the_limit_is_not_sent(
    peers: tuple[JsonRpcPeer, JsonRpcPeer, asyncio.Event],
) -> None:
    caller, _, _ = peers
    with pytest.raises(RpcError) as raised:
        await caller.call("work", {"size": 1, "pad": "y" * 2_000}, timeout=5)
    assert raised.value.code == ErrorCode.INVALID_REQUEST
    assert raised.value.message.startswith('Request "work" is 20')
    assert raised.value.message.endswith(
        "bytes, over the 1000 bytes limit (SANDBOX_PLUGIN_MAX_MESSAGE_BYTES)"
    )
    assert caller.pending_calls == 0


# -- the host's end -----------------------------------------------------------------------


@pytest.fixture
async def connection() -> AsyncIterator[tuple[WorkerConnection, MemoryTransport, list[str]]]:
    stray: list[str] = []

    async def handle(method: str, params: dict[str, Any], context: CallContext) -> Any:
        return "ok"

    host_end, worker_end = memory_transport_pair()
    connection = WorkerConnection(
        host_end,
        handler=handle,
        on_stray_output=stray.append,
        limits=WorkerLimits(max_message_bytes=1_000_000, max_json_depth=16),
    )
    connection.start()
    yield connection, worker_end, stray
    await connection.close()


async def _answers(transport: MemoryTransport) -> list[dict[str, Any]]:
    decoder = LineDecoder()
    async with asyncio.timeout(5):
        while not (lines := decoder.feed(await transport.read())):
            pass
    return [json.loads(line) for line in lines]


async def test_a_too_deep_answer_fails_its_call_at_once(
    connection: tuple[WorkerConnection, MemoryTransport, list[str]],
) -> None:
    host, worker, _ = connection
    call = asyncio.create_task(host.call("getData", {}, timeout=30))
    (request,) = await _answers(worker)
    nested = "[" * 50_000 + "]" * 50_000
    worker.write(b'{"jsonrpc":"2.0","id":%d,"result":%s}\n' % (request["id"], nested.encode()))
    with pytest.raises(RpcError) as raised:
        async with asyncio.timeout(5):
            await call
    assert raised.value.code == ErrorCode.INTERNAL_ERROR
    assert raised.value.message == (
        'Response to "getData": Message nests arrays and objects deeper than the limit of 16'
        " levels (SANDBOX_PLUGIN_MAX_JSON_DEPTH)"
    )


async def test_a_too_deep_request_is_refused(
    connection: tuple[WorkerConnection, MemoryTransport, list[str]],
) -> None:
    _, worker, stray = connection
    params = "[" * 100_000 + "]" * 100_000
    worker.write(b'{"jsonrpc":"2.0","id":7,"method":"state.get","params":%s}\n' % params.encode())
    (answer,) = await _answers(worker)
    assert answer["id"] == 7 and answer["error"]["code"] == ErrorCode.INVALID_REQUEST
    assert "(SANDBOX_PLUGIN_MAX_JSON_DEPTH)" in answer["error"]["message"]
    assert stray == []


async def test_stray_output_is_reported_cut_to_a_log_line(
    connection: tuple[WorkerConnection, MemoryTransport, list[str]],
) -> None:
    _, worker, stray = connection
    worker.write(b"a" * 50_000 + b"\n" + b"b" * 3_000_000 + b"\n")
    await wait_until(lambda: len(stray) == 2)
    assert stray[0] == "a" * 10_000 + "… (a line of 50000 bytes)"
    assert stray[1] == (
        "b" * 200 + "… (a line of 3000000 bytes, over the 1.0 MB limit"
        " (SANDBOX_PLUGIN_MAX_MESSAGE_BYTES), dropped)"
    )
