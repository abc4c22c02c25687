"""The SDK's worker runtime (sandbox/sdk/_runtime.py): framing, errors, concurrency, invocation
propagation and the end of a worker."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest

from sandbox.protocol import ErrorCode, LineDecoder, RpcError, WorkerUnavailable
from sandbox.sdk import ActionContext, PluginContext, define_plugin
from sandbox.sdk._runtime import WorkerRuntime
from sandbox.transport import memory_transport_pair
from tests.fixtures.protocol import wait_until
from tests.sandbox.sdk.conftest import INITIALIZE, SdkHost, served


async def _raw_exchange(lines: list[bytes], expected: int) -> list[dict[str, Any]]:
    """Write raw lines to a runtime and read ``expected`` answers back."""
    host_end, worker_end = memory_transport_pair()
    runtime = WorkerRuntime(define_plugin(setup=lambda ctx: None), worker_end)
    serving = asyncio.create_task(runtime.serve())
    for line in lines:
        host_end.write(line)
    decoder, answers = LineDecoder(), []
    async with asyncio.timeout(5):
        while len(answers) < expected:
            answers += [json.loads(line) for line in decoder.feed(await host_end.read())]
    host_end.close()
    await serving
    return answers


async def test_lines_that_are_not_messages_get_upstream_parse_errors() -> None:
    answers = await _raw_exchange(
        [b"not json\n", b'{"jsonrpc":"1.0","id":1,"method":"health"}\n', b"\n", b"[]\r\n"], 3
    )
    assert [answer["error"] for answer in answers] == [
        {"code": -32700, "message": "Parse error: Invalid JSON: not json"},
        {
            "code": -32700,
            "message": "Parse error: Invalid or missing jsonrpc version "
            '(expected "2.0", got "1.0")',
        },
        {"code": -32700, "message": "Parse error: Message must be a JSON object"},
    ]
    assert {answer["id"] for answer in answers} == {None}


async def test_requests_are_answered_with_their_own_ids() -> None:
    answers = await _raw_exchange(
        [
            b'{"jsonrpc":"2.0","id":"req-5","method":"health","params":{}}\n'
            b'{"jsonrpc":"2.0","id":6,"method":"health"}\n'
        ],
        2,
    )
    assert sorted(answers, key=lambda a: str(a["id"])) == [
        {"jsonrpc": "2.0", "id": 6, "result": {"status": "ok"}},
        {"jsonrpc": "2.0", "id": "req-5", "result": {"status": "ok"}},
    ]


async def test_requests_before_initialize_are_dispatched() -> None:
    async with served(define_plugin(setup=lambda ctx: None)) as (connection, _):
        with pytest.raises(RpcError) as raised:
            await connection.call("getData", {"key": "x", "params": {}})
        assert raised.value.code == ErrorCode.WORKER_ERROR
        assert raised.value.message == 'No data handler registered for key "x"'


async def test_a_throwing_setup_fails_initialize_and_may_be_retried() -> None:
    attempts: list[int] = []

    def setup(ctx: PluginContext) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("setup broke")

    async with served(define_plugin(setup=setup)) as (connection, _):
        with pytest.raises(RpcError) as raised:
            await connection.call("initialize", INITIALIZE)
        assert (raised.value.code, raised.value.message) == (ErrorCode.WORKER_ERROR, "setup broke")
        assert await connection.call("initialize", INITIALIZE) == {
            "ok": True,
            "supportedMethods": [],
        }


async def test_host_requests_are_handled_concurrently() -> None:
    release = asyncio.Event()

    def setup(ctx: PluginContext) -> None:
        async def wait(params: dict[str, Any], context: ActionContext) -> str:
            await release.wait()
            return "waited"

        def go(params: dict[str, Any], context: ActionContext) -> str:
            release.set()
            return "released"

        ctx.actions.register("wait", wait)
        ctx.actions.register("go", go)

    async with served(define_plugin(setup=setup)) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        waiting = asyncio.create_task(connection.call("performAction", {"key": "wait"}))
        assert await connection.call("performAction", {"key": "go"}) == "released"
        assert await waiting == "waited"


async def test_tasks_started_by_a_handler_stay_in_its_invocation() -> None:
    def setup(ctx: PluginContext) -> None:
        async def fan_out(params: dict[str, Any], context: ActionContext) -> list[Any]:
            async def read(key: str) -> Any:
                await asyncio.sleep(0)
                return await ctx.state.get(scope_kind="instance", state_key=key)

            return await asyncio.gather(read("a"), read("b"))

        ctx.actions.register("fan-out", fan_out)

    host = SdkHost(answers={"state.get": 1})
    async with served(define_plugin(setup=setup), host) as (connection, _):
        await connection.call("initialize", INITIALIZE)
        await connection.call("performAction", {"key": "fan-out", "companyId": "c3"})
        await connection.call("performAction", {"key": "fan-out"})
    assert [scope for _, _, scope in host.calls] == ["c3", "c3", None, None]


async def test_a_host_call_times_out_on_the_worker_side() -> None:
    def setup(ctx: PluginContext) -> None:
        async def ask(params: dict[str, Any], context: ActionContext) -> Any:
            return await ctx.config.get()

        ctx.actions.register("ask", ask)

    class SlowHost(SdkHost):
        async def handle(self, method: str, params: dict[str, Any], context: Any) -> Any:
            if method == "config.get":
                await asyncio.sleep(1)
            return None

    async with served(define_plugin(setup=setup), SlowHost(), call_timeout=0.05) as (c, _):
        await c.call("initialize", INITIALIZE)
        with pytest.raises(RpcError) as raised:
            await c.call("performAction", {"key": "ask"})
    assert (raised.value.code, raised.value.message) == (
        ErrorCode.TIMEOUT,
        'Worker→host call "config.get" timed out after 50ms',
    )


async def test_shutdown_answers_then_ends_the_runtime() -> None:
    calls: list[str] = []
    plugin = define_plugin(setup=lambda ctx: None, on_shutdown=lambda: calls.append("hook"))
    host_end, worker_end = memory_transport_pair()
    runtime = WorkerRuntime(plugin, worker_end)
    serving = asyncio.create_task(runtime.serve())
    host_end.write(b'{"jsonrpc":"2.0","id":1,"method":"shutdown","params":{}}\n')
    async with asyncio.timeout(5):
        await serving
    assert calls == ["hook"]
    assert await host_end.read() == b'{"jsonrpc":"2.0","id":1,"result":null}\n'
    assert await host_end.read() == b""


async def test_closing_stdin_fails_waiting_host_calls_and_ends_the_runtime() -> None:
    outcome: list[BaseException] = []
    entered = asyncio.Event()

    def setup(ctx: PluginContext) -> None:
        async def ask(params: dict[str, Any], context: ActionContext) -> None:
            entered.set()
            try:
                await ctx.config.get()
            except WorkerUnavailable as error:
                outcome.append(error)
                raise

        ctx.actions.register("ask", ask)

    host_end, worker_end = memory_transport_pair()
    runtime = WorkerRuntime(define_plugin(setup=setup), worker_end)
    serving = asyncio.create_task(runtime.serve())
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INITIALIZE}
    host_end.write(json.dumps(initialize).encode() + b"\n")
    host_end.write(b'{"jsonrpc":"2.0","id":2,"method":"performAction","params":{"key":"ask"}}\n')
    await wait_until(entered.is_set)
    host_end.close()
    async with asyncio.timeout(5):
        await serving
    assert [error.message for error in outcome] == ["Worker RPC host is shutting down"]


_RECORD_VALIDATORS = """
import asyncio, json, sys
from paperclip_records import unbuilt_record_types
from sandbox.sdk import define_plugin
from sandbox.sdk._runtime import WorkerRuntime
from sandbox.transport import memory_transport_pair


async def main(message_waiting):
    host_end, worker_end = memory_transport_pair()
    runtime = WorkerRuntime(define_plugin(setup=lambda ctx: None), worker_end)
    before = len(unbuilt_record_types())
    if message_waiting:
        host_end.write(b'{"jsonrpc":"2.0","id":1,"method":"health"}\\n')
    serving = asyncio.create_task(runtime.serve())
    async with asyncio.timeout(60):
        if message_waiting:
            await host_end.read()  # its answer
        else:
            while unbuilt_record_types():
                await asyncio.sleep(0.01)
    after = len(unbuilt_record_types())
    host_end.close()
    await serving
    print(json.dumps([before, after]))


asyncio.run(main(sys.argv[1] == "waiting"))
"""


@pytest.mark.parametrize("start", ["idle", "waiting"])
def test_a_worker_builds_record_validators_only_while_no_message_has_come(start: str) -> None:
    """A worker started ahead builds them before its first action; one given a message at once
    leaves them to their first use (a fresh interpreter: nothing built before)."""
    done = subprocess.run(
        [sys.executable, "-c", _RECORD_VALIDATORS, start],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, after = json.loads(done.stdout)
    assert before > 30
    if start == "idle":
        assert after == 0
    else:
        assert after >= before - 1  # at most the one being built when the message came
