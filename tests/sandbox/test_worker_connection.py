"""The host's end of a worker connection (sandbox/worker_connection.py), driven by a hand-played
worker on the other end of an in-memory pipe."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.errors import CapabilityDenied, InvocationScopeDenied, NotFound
from core.invocation_scope import CallContext
from core.worker_bridge import HostMethodNotFound
from sandbox.protocol import (
    ErrorCode,
    LineDecoder,
    RpcError,
    RpcTimeout,
    WorkerLimits,
    WorkerUnavailable,
)
from sandbox.transport import MemoryTransport, memory_transport_pair
from sandbox.worker_connection import WorkerConnection
from tests.fixtures.protocol import scope_of, wait_until


class Peer:
    """The worker side, played by the test: raw lines in, raw lines out."""

    def __init__(self, transport: MemoryTransport) -> None:
        self.transport = transport
        self.decoder = LineDecoder()
        self.buffered: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any] | bytes) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
        self.transport.write(data)

    async def receive(self) -> dict[str, Any]:
        async with asyncio.timeout(5):
            while not self.buffered:
                chunk = await self.transport.read()
                assert chunk, "the host closed the connection"
                self.buffered += [json.loads(line) for line in self.decoder.feed(chunk)]
        return self.buffered.pop(0)

    def request(self, request_id: Any, method: str, params: Any = None, **envelope: Any) -> None:
        message = {"jsonrpc": "2.0", "id": request_id, "method": method} | envelope
        self.send(message if params is None else message | {"params": params})

    def reply(self, request_id: Any, result: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "result": result})


class Host:
    """Records what the connection hands to the host, and answers with ``answers``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self.notifications: list[tuple[str, dict[str, Any], str | None]] = []
        self.stray: list[str] = []
        self.answers: dict[str, Any] = {}

    async def handle(self, method: str, params: dict[str, Any], context: CallContext) -> Any:
        self.calls.append((method, params, scope_of(context)))
        answer = self.answers.get(method, HostMethodNotFound())
        if isinstance(answer, BaseException):
            raise answer
        return await answer() if callable(answer) else answer

    def notify(self, method: str, params: dict[str, Any], context: CallContext) -> None:
        self.notifications.append((method, params, scope_of(context)))


@pytest.fixture
def host() -> Host:
    return Host()


@pytest.fixture
async def pair(host: Host) -> AsyncIterator[tuple[WorkerConnection, Peer]]:
    host_end, worker_end = memory_transport_pair()
    connection = WorkerConnection(
        host_end,
        handler=host.handle,
        on_notification=host.notify,
        on_stray_output=host.stray.append,
        label="p1",
        limits=WorkerLimits(max_message_bytes=300),
    )
    connection.start()
    yield connection, Peer(worker_end)
    await connection.close()


async def test_a_call_round_trip(pair: tuple[WorkerConnection, Peer]) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("health", {}))
    request = await peer.receive()
    assert request == {"jsonrpc": "2.0", "id": 1, "method": "health", "params": {}}
    peer.reply(1, {"status": "ok"})
    assert await call == {"status": "ok"}
    assert connection.pending_calls == 0


async def test_answers_may_come_out_of_order(pair: tuple[WorkerConnection, Peer]) -> None:
    connection, peer = pair
    first = asyncio.create_task(connection.call("getData", {"key": "slow"}))
    second = asyncio.create_task(connection.call("getData", {"key": "fast"}))
    ids = [(await peer.receive())["id"], (await peer.receive())["id"]]
    peer.reply(ids[1], "fast")
    assert await second == "fast"
    assert not first.done()
    peer.reply(ids[0], "slow")
    assert await first == "slow"


async def test_an_error_answer_raises_with_its_code(pair: tuple[WorkerConnection, Peer]) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("validateConfig", {"config": {}}))
    request = await peer.receive()
    error = {"code": -32004, "message": "validateConfig is not implemented by this plugin"}
    peer.send({"jsonrpc": "2.0", "id": request["id"], "error": error})
    with pytest.raises(RpcError) as raised:
        await call
    assert (raised.value.code, raised.value.message) == (error["code"], error["message"])


async def test_a_worker_that_never_answers_times_out(pair: tuple[WorkerConnection, Peer]) -> None:
    connection, peer = pair
    with pytest.raises(RpcTimeout) as raised:
        await connection.call("getData", {"key": "x"}, timeout=0.05)
    assert raised.value.code == ErrorCode.TIMEOUT
    assert raised.value.message == 'RPC call "getData" timed out after 50ms'
    request = await peer.receive()
    peer.reply(request["id"], "too late")  # ignored, and the connection lives on
    call = asyncio.create_task(connection.call("health", {}))
    peer.reply((await peer.receive())["id"], {"status": "ok"})
    assert await call == {"status": "ok"}


async def test_timeouts_are_capped(host: Host) -> None:
    host_end, _ = memory_transport_pair()
    connection = WorkerConnection(host_end, handler=host.handle, max_call_timeout=0.05)
    with pytest.raises(RpcTimeout, match="after 50ms"):
        await connection.call("health", {}, timeout=3600)


@pytest.mark.parametrize("wrong_id", ["1", 1.0, True], ids=["string", "float", "bool"])
async def test_answer_ids_must_keep_their_json_type(
    pair: tuple[WorkerConnection, Peer], wrong_id: Any
) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("health", {}))
    assert (await peer.receive())["id"] == 1
    peer.reply(wrong_id, "wrong")
    peer.reply(1, "right")
    assert await call == "right"


@pytest.mark.parametrize("request_id", [7, "req-5", 2**60, -3], ids=str)
async def test_worker_request_ids_are_echoed_unchanged(
    pair: tuple[WorkerConnection, Peer], host: Host, request_id: Any
) -> None:
    _, peer = pair
    host.answers["config.get"] = {"mode": "x"}
    peer.request(request_id, "config.get", {})
    assert await peer.receive() == {"jsonrpc": "2.0", "id": request_id, "result": {"mode": "x"}}


async def test_worker_calls_are_served_while_initialize_is_pending(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    """The two id spaces are independent: the worker's request 1 meets the host's request 1."""
    connection, peer = pair
    host.answers["config.get"] = {"a": 1}
    initialize = asyncio.create_task(connection.call("initialize", {"manifest": {}}))
    assert (await peer.receive())["id"] == 1
    peer.request(1, "config.get", {})
    assert await peer.receive() == {"jsonrpc": "2.0", "id": 1, "result": {"a": 1}}
    peer.reply(1, {"ok": True})
    assert await initialize == {"ok": True}


async def test_worker_calls_are_served_concurrently(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    _, peer = pair
    released = asyncio.Event()

    async def blocked() -> str:
        await released.wait()
        return "blocked"

    async def release() -> str:
        released.set()
        return "released"

    host.answers |= {"state.get": blocked, "state.set": release}
    peer.request(1, "state.get", {})
    peer.request(2, "state.set", {})
    answers = [await peer.receive(), await peer.receive()]
    assert [(a["id"], a["result"]) for a in answers] == [(2, "released"), (1, "blocked")]


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        pytest.param(
            HostMethodNotFound(),
            -32601,
            'Host does not handle method "issues.get"',
            id="not-handled",
        ),
        pytest.param(CapabilityDenied("no cap"), -32001, "no cap", id="capability"),
        pytest.param(InvocationScopeDenied("no scope"), -32005, "no scope", id="scope"),
        pytest.param(NotFound("Issue not found"), -32603, "Issue not found", id="host-error"),
        pytest.param(ValueError("bad value"), -32603, "bad value", id="unexpected"),
        pytest.param(KeyError(), -32603, "KeyError", id="no-message"),
        pytest.param(RpcError(-32003, "slow"), -32003, "slow", id="plugin-code-forwarded"),
        pytest.param(RpcError(-32700, "odd"), -32603, "odd", id="other-code-flattened"),
    ],
)
async def test_host_failures_map_to_json_rpc_errors(
    pair: tuple[WorkerConnection, Peer], host: Host, error: Exception, code: int, message: str
) -> None:
    _, peer = pair
    host.answers["issues.get"] = error
    peer.request("r", "issues.get", {"issueId": "i1", "companyId": "c1"})
    answer = await peer.receive()
    assert answer == {"jsonrpc": "2.0", "id": "r", "error": {"code": code, "message": message}}


async def test_results_that_are_not_json_become_errors(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    _, peer = pair
    host.answers["config.get"] = {"when": object()}
    peer.request(1, "config.get", {})
    answer = await peer.receive()
    assert answer["error"] == {
        "code": -32603,
        "message": "Object of type object is not JSON serializable",
    }


async def test_params_must_be_an_object(pair: tuple[WorkerConnection, Peer], host: Host) -> None:
    _, peer = pair
    host.answers["config.get"] = {}
    peer.request(1, "config.get", [1, 2])
    peer.request(2, "config.get")  # no params at all: the handler gets {}
    assert (await peer.receive())["error"] == {
        "code": -32602,
        "message": 'Invalid params for "config.get": expected an object',
    }
    assert await peer.receive() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    assert host.calls == [("config.get", {}, None)]


async def test_stray_lines_are_reported_and_skipped(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("health", {}))
    request = await peer.receive()
    peer.send(b"console.log output\n")
    peer.send(b'{"jsonrpc":"1.0","id":1,"result":"wrong version"}\r\n')
    peer.send(b"[1,2]\n\n")
    peer.send(b'{"jsonrpc":"2.0","id":null,"method":"neither"}\n')
    peer.send(b'{"jsonrpc":"2.0","method":"unknown.notification","params":{}}\n')
    peer.reply(request["id"], "alive")
    assert await call == "alive"
    assert host.stray == [
        "console.log output",
        '{"jsonrpc":"1.0","id":1,"result":"wrong version"}',
        "[1,2]",
    ]
    assert host.notifications == []


async def test_notifications_both_ways(pair: tuple[WorkerConnection, Peer], host: Host) -> None:
    connection, peer = pair
    connection.notify("onEvent", {"event": {"eventType": "x"}})
    assert await peer.receive() == {
        "jsonrpc": "2.0",
        "method": "onEvent",
        "params": {"event": {"eventType": "x"}},
    }
    peer.send({"jsonrpc": "2.0", "method": "log", "params": {"level": "info", "message": "hi"}})
    await wait_until(lambda: len(host.notifications) == 1)
    assert host.notifications == [("log", {"level": "info", "message": "hi"}, None)]


async def test_a_failing_notification_callback_does_not_stop_the_reader(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    connection, peer = pair

    def broken(method: str, params: dict[str, Any], context: CallContext) -> None:
        raise RuntimeError("callback bug")

    connection._on_notification = broken
    peer.send({"jsonrpc": "2.0", "method": "log", "params": {"message": "x"}})
    call = asyncio.create_task(connection.call("health", {}))
    peer.reply((await peer.receive())["id"], "ok")
    assert await call == "ok"


async def test_invocation_scopes_of_worker_messages(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    connection, peer = pair
    host.answers["issues.get"] = None
    call = asyncio.create_task(connection.call("getData", {"key": "k", "companyId": "c1"}))
    request = await peer.receive()
    invocation = request["paperclipInvocation"]
    assert invocation["scope"] == {"companyId": "c1"} and len(invocation["id"]) == 36
    peer.request(1, "issues.get", {}, paperclipInvocationId=invocation["id"])
    peer.request(2, "issues.get", {}, paperclipInvocationId="made-up")
    peer.request(3, "issues.get", {})  # no id while an invocation is active: fail closed
    for _ in range(3):
        await peer.receive()
    peer.reply(request["id"], None)
    await call
    peer.request(4, "issues.get", {})  # nothing active any more
    await peer.receive()
    peer.request(5, "issues.get", {}, paperclipInvocationId=invocation["id"])  # settled: gone
    await peer.receive()
    assert [scope for _, _, scope in host.calls] == ["c1", "invalid", "invalid", None, "invalid"]


async def test_unscoped_calls_carry_no_invocation(pair: tuple[WorkerConnection, Peer]) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("runJob", {"job": {}}))
    request = await peer.receive()
    assert "paperclipInvocation" not in request
    peer.reply(request["id"], None)
    assert await call is None


async def test_a_notification_opens_an_invocation_for_its_handlers(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    connection, peer = pair
    connection.notify("onEvent", {"event": {"companyId": "c7"}})
    invocation = (await peer.receive())["paperclipInvocation"]
    peer.send(
        {
            "jsonrpc": "2.0",
            "method": "log",
            "params": {"message": "in event"},
            "paperclipInvocationId": invocation["id"],
        }
    )
    await wait_until(lambda: len(host.notifications) == 1)
    assert host.notifications[0][2] == "c7"


async def test_stream_notifications_are_gated_and_closed_with_the_connection(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("performAction", {"companyId": "c1"}))
    invocation_id = (await peer.receive())["paperclipInvocation"]["id"]

    def stream(method: str, channel: str, company: str, invocation: str | None) -> None:
        envelope = {"paperclipInvocationId": invocation} if invocation else {}
        params = {"channel": channel, "companyId": company}
        peer.send({"jsonrpc": "2.0", "method": method, "params": params} | envelope)

    stream("streams.open", "a", "c1", invocation_id)
    stream("streams.open", "b", "c2", invocation_id)  # outside the company: dropped
    stream("streams.open", "c", "c1", "unknown")  # invalid scope: dropped
    stream("streams.open", "d", "c1", invocation_id)
    stream("streams.close", "d", "c1", invocation_id)
    await wait_until(lambda: len(host.notifications) == 3)
    assert [(m, p["channel"]) for m, p, _ in host.notifications] == [
        ("streams.open", "a"),
        ("streams.open", "d"),
        ("streams.close", "d"),
    ]
    await connection.close(WorkerUnavailable("gone"))
    assert host.notifications[-1] == ("streams.close", {"channel": "a", "companyId": "c1"}, None)
    with pytest.raises(WorkerUnavailable, match="gone"):
        await call


async def test_an_oversized_answer_fails_its_call_at_once(
    pair: tuple[WorkerConnection, Peer],
) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("getData", {"key": "big"}))
    request = await peer.receive()
    answer = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "x" * 1000})
    peer.send(answer.encode() + b"\n")
    with pytest.raises(RpcError) as raised:
        await call
    assert raised.value.code == ErrorCode.INTERNAL_ERROR
    assert raised.value.message == (
        f'Response to "getData": Message of {len(answer)} bytes exceeds the limit of 300 bytes'
        " (SANDBOX_PLUGIN_MAX_MESSAGE_BYTES)"
    )


async def test_an_oversized_worker_request_is_refused(
    pair: tuple[WorkerConnection, Peer], host: Host
) -> None:
    connection, peer = pair
    peer.request(9, "state.set", {"value": "x" * 1000})
    answer = await peer.receive()
    assert answer["id"] == 9 and answer["error"]["code"] == ErrorCode.INVALID_REQUEST
    assert "exceeds the limit of 300 bytes" in answer["error"]["message"]
    peer.send(b"y" * 5000 + b"\n")  # oversized junk: only logged
    call = asyncio.create_task(connection.call("health", {}))
    peer.reply((await peer.receive())["id"], "still fine")
    assert await call == "still fine"
    assert host.calls == []


async def test_closing_fails_waiting_calls_and_refuses_new_ones(
    pair: tuple[WorkerConnection, Peer],
) -> None:
    connection, peer = pair
    call = asyncio.create_task(connection.call("health", {}))
    await peer.receive()
    await connection.close(WorkerUnavailable("Worker process exited (code=1, signal=null)"))
    with pytest.raises(WorkerUnavailable) as raised:
        await call
    assert raised.value.code == ErrorCode.WORKER_UNAVAILABLE
    assert raised.value.message == "Worker process exited (code=1, signal=null)"
    with pytest.raises(WorkerUnavailable, match="exited"):
        await connection.call("health", {})
    connection.notify("onEvent", {})  # dropped quietly
    assert connection.closed


async def test_a_send_to_a_closed_pipe_fails_the_call(host: Host) -> None:
    host_end, worker_end = memory_transport_pair()
    connection = WorkerConnection(host_end, handler=host.handle)
    connection.start()
    worker_end.close()
    with pytest.raises(WorkerUnavailable, match='Failed to send "health" to worker'):
        await connection.call("health", {})
    await connection.close()
