"""Wire compatibility: the same host runs a plugin on the published SDK (2026.707.0, a real Node
subprocess) and its Python twin (subprocess and in-process), and they behave the same."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.protocol import ErrorCode, RpcError
from sandbox.worker_process import (
    WorkerCrashed,
    WorkerEvent,
    WorkerProcess,
    WorkerRestarted,
    WorkerStatus,
)
from tests.fixtures.protocol import wait_until
from tests.fixtures.workers import (
    PROBE_KINDS,
    PROBE_NAMESPACE,
    RecordingHost,
    manifest,
    probe_dir,
    probe_worker,
)

ALL_KINDS = pytest.mark.parametrize("kind", PROBE_KINDS, indirect=True)
SUBPROCESS_KINDS = pytest.mark.parametrize("kind", ["js", "python"], indirect=True)

SUBSCRIPTIONS = [
    {"eventPattern": "issue.created", "filter": None},
    {"eventPattern": "issue.*", "filter": {"companyId": "c-filtered"}},
    {"eventPattern": "agent.updated", "filter": None},
]


@pytest.fixture
async def worker(kind: str, host: RecordingHost) -> AsyncIterator[WorkerProcess]:
    process = probe_worker(kind, host)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def _subscriptions(host: RecordingHost) -> list[dict[str, Any]]:
    return [params for method, params, _ in host.calls if method == "events.subscribe"]


@ALL_KINDS
async def test_initialize_serves_the_calls_setup_makes(worker: WorkerProcess, host: RecordingHost):
    assert worker.status is WorkerStatus.RUNNING
    assert host.calls[0] == ("config.get", {}, None)
    await wait_until(lambda: len(_subscriptions(host)) == 3)
    assert _subscriptions(host) == SUBSCRIPTIONS
    assert (
        "log",
        {"level": "info", "message": "setup", "meta": {"configKeys": ["mode", "retries"]}},
        None,
    ) in host.notifications
    assert worker.supported_methods == ("health", "shutdown", "handleApiRequest")


@SUBPROCESS_KINDS
async def test_stray_output_is_reported_and_skipped(
    worker: WorkerProcess, host: RecordingHost, kind: str
):
    """A JS ``console.log`` reaches the host as a stray stdout line; the Python SDK moves
    ``print`` to stderr so the protocol stream stays clean."""
    stream = "stdout" if kind == "js" else "stderr"
    assert await worker.call("performAction", {"key": "print", "params": {}}) == "printed"
    await wait_until(lambda: (stream, "stray stdout line from an action") in host.output)
    assert (stream, "stray stdout line from setup") in host.output


@ALL_KINDS
async def test_get_data_merges_company_and_render_environment(worker: WorkerProcess):
    params = {"key": "echo", "params": {"companyId": "spoof", "x": 1}, "companyId": "c9"}
    result = await worker.call("getData", params | {"renderEnvironment": None})
    assert result == {"companyId": "c9", "x": 1, "renderEnvironment": None}


@ALL_KINDS
async def test_data_sees_initialize_params(worker: WorkerProcess, kind: str):
    result = await worker.call("getData", {"key": "identity", "params": {}})
    assert result == {"namespace": PROBE_NAMESPACE, "manifestId": manifest(probe_dir(kind))["id"]}


@ALL_KINDS
async def test_action_context_comes_from_actor_context(worker: WorkerProcess):
    actor = {"type": "robot", "userId": "  u1 ", "agentId": "", "companyId": "c1"}
    result = await worker.call(
        "performAction",
        {"key": "context", "params": {"companyId": "p", "x": 1}, "actorContext": actor},
    )
    assert result == {
        "params": {"companyId": "p", "x": 1},
        "context": {
            "actor": {
                "type": "system",
                "userId": "u1",
                "agentId": None,
                "runId": None,
                "companyId": "c1",
            },
            "companyId": "c1",
        },
    }


@ALL_KINDS
@pytest.mark.parametrize(
    ("method", "params", "code", "message"),
    [
        pytest.param(
            "performAction",
            {"key": "host-error", "params": {}},
            ErrorCode.CAPABILITY_DENIED,
            'Plugin "probe" is missing required capability "plugin.state.read" for method '
            '"state.get"',
            id="host-error-rethrown",
        ),
        pytest.param(
            "performAction",
            {"key": "throw", "params": {}},
            ErrorCode.WORKER_ERROR,
            "boom",
            id="throw",
        ),
        pytest.param(
            "performAction",
            {"key": "nope", "params": {}},
            ErrorCode.WORKER_ERROR,
            'No action handler registered for key "nope"',
            id="unknown-action",
        ),
        pytest.param(
            "getData",
            {"key": "nope", "params": {}},
            ErrorCode.WORKER_ERROR,
            'No data handler registered for key "nope"',
            id="unknown-data",
        ),
        pytest.param(
            "runJob",
            {"job": {"jobKey": "nope", "runId": "r", "trigger": "manual", "scheduledAt": None}},
            ErrorCode.WORKER_ERROR,
            'No handler registered for job "nope"',
            id="unknown-job",
        ),
        pytest.param(
            "executeTool",
            {"toolName": "nope", "parameters": {}, "runContext": {}},
            ErrorCode.WORKER_ERROR,
            'No tool handler registered for "nope"',
            id="unknown-tool",
        ),
        pytest.param(
            "validateConfig",
            {"config": {}},
            ErrorCode.METHOD_NOT_IMPLEMENTED,
            "validateConfig is not implemented by this plugin",
            id="missing-hook",
        ),
        pytest.param(
            "environmentProbe",
            {},
            ErrorCode.METHOD_NOT_IMPLEMENTED,
            "environmentProbe is not implemented by this plugin",
            id="missing-2026-hook",
        ),
        pytest.param(
            "nope", {}, ErrorCode.METHOD_NOT_FOUND, "Unknown method: nope", id="unknown-method"
        ),
        pytest.param(
            "initialize",
            {"manifest": {}, "config": {}},
            ErrorCode.WORKER_ERROR,
            "Worker already initialized",
            id="second-initialize",
        ),
    ],
)
async def test_errors_keep_upstream_codes_and_messages(
    worker: WorkerProcess, method: str, params: dict[str, Any], code: int, message: str
):
    with pytest.raises(RpcError) as raised:
        await worker.call(method, params)
    assert (raised.value.code, raised.value.message) == (code, message)


@ALL_KINDS
async def test_hooks_tools_and_jobs(worker: WorkerProcess, host: RecordingHost):
    assert await worker.health() == {"status": "ok", "message": "probe is healthy"}
    api = await worker.call(
        "handleApiRequest",
        {
            "routeKey": "summary",
            "method": "GET",
            "path": "/x",
            "params": {},
            "query": {},
            "body": None,
            "actor": {"actorType": "user", "actorId": "board"},
            "companyId": "c1",
            "headers": {},
        },
    )
    assert api == {"status": 201, "body": {"routeKey": "summary", "companyId": "c1"}}
    tool = await worker.call(
        "executeTool",
        {
            "toolName": "add",
            "parameters": {"a": 2, "b": 3},
            "runContext": {"agentId": "a1", "runId": "r1", "companyId": "c1", "projectId": "p1"},
        },
    )
    assert tool == {"content": "5", "data": {"agentId": "a1"}}
    job = {
        "jobKey": "tick",
        "runId": "run-7",
        "trigger": "manual",
        "scheduledAt": "2026-07-07T10:00:00Z",
    }
    assert await worker.call("runJob", {"job": job}) is None
    assert (
        "log",
        {"level": "info", "message": "tick", "meta": {"runId": "run-7", "trigger": "manual"}},
        None,
    ) in host.notifications


@ALL_KINDS
async def test_calls_made_inside_an_invocation_carry_its_scope(
    worker: WorkerProcess, host: RecordingHost
):
    await wait_until(lambda: len(_subscriptions(host)) == 3)
    before = len(host.calls)
    params = {"key": "host-calls", "params": {"companyId": "c1"}, "companyId": "c1"}
    await worker.call("performAction", params)
    scopes = {scope for _, _, scope in host.calls[before:]}
    assert scopes == {"c1"}


@ALL_KINDS
async def test_calls_in_both_directions_run_concurrently(
    worker: WorkerProcess, host: RecordingHost
):
    """Three 300 ms actions at once, while another action makes 38 host calls."""
    started = time.monotonic()
    sleeps = [
        worker.call("performAction", {"key": "sleep", "params": {"ms": 300}}) for _ in range(3)
    ]
    calls = worker.call("performAction", {"key": "host-calls", "params": {"companyId": "c1"}})
    results = await asyncio.gather(*sleeps, calls)
    assert results[:3] == [300, 300, 300] and results[3]["issueTitle"] == "Root"
    assert time.monotonic() - started < 0.8


@ALL_KINDS
async def test_events_run_inside_their_invocation(worker: WorkerProcess, host: RecordingHost):
    event = {
        "eventId": "e1",
        "eventType": "issue.created",
        "occurredAt": "2026-07-07T10:00:00.000Z",
        "companyId": "c2",
        "payload": {},
    }
    worker.notify("onEvent", {"event": event})
    await wait_until(lambda: ("state.get", _seen("c2"), "c2") in host.calls)
    assert (
        "log",
        {"level": "info", "message": "issue created", "meta": {"eventId": "e1"}},
        "c2",
    ) in host.notifications

    filtered = event | {"eventId": "e2", "eventType": "issue.updated", "companyId": "c-filtered"}
    worker.notify("onEvent", {"event": filtered})
    failing = event | {"eventId": "e3", "eventType": "agent.updated"}
    assert await worker.call("onEvent", {"event": failing}) is None
    await wait_until(lambda: "filtered" in host.log_messages())
    assert 'Event handler for "agent.updated" failed: handler broke' in host.log_messages()


def _seen(company_id: str) -> dict[str, Any]:
    return {"scopeKind": "company", "scopeId": company_id, "stateKey": "seen"}


@ALL_KINDS
async def test_stream_notifications_outside_the_scope_are_dropped(
    worker: WorkerProcess, host: RecordingHost
):
    in_scope = {"key": "stream", "params": {"companyId": "c1"}, "actorContext": {"companyId": "c1"}}
    assert await worker.call("performAction", in_scope) == "streamed"
    await wait_until(lambda: any(m == "streams.close" for m, _, _ in host.notifications))
    streams = [(m, p, s) for m, p, s in host.notifications if m.startswith("streams.")]
    assert streams == [
        ("streams.open", {"channel": "progress", "companyId": "c1"}, "c1"),
        ("streams.emit", {"channel": "progress", "companyId": "c1", "event": {"step": 1}}, "c1"),
        ("streams.close", {"channel": "progress", "companyId": "c1"}, "c1"),
    ]
    out_of_scope = in_scope | {"actorContext": {"companyId": "c2"}}
    assert await worker.call("performAction", out_of_scope) == "streamed"
    assert await worker.call("health", {})  # the notifications before it were handled
    assert len([m for m, _, _ in host.notifications if m.startswith("streams.")]) == 3


@ALL_KINDS
async def test_shutdown_runs_the_hook_and_stops_cleanly(kind: str, host: RecordingHost):
    events: list[WorkerEvent] = []
    process = probe_worker(kind, host, on_event=events.append)
    await process.start()
    await process.stop()
    assert process.status is WorkerStatus.STOPPED
    assert "shutting down" in host.log_messages()
    assert not [event for event in events if isinstance(event, WorkerCrashed)]


@SUBPROCESS_KINDS
async def test_a_crash_fails_the_call_and_the_worker_restarts(kind: str, host: RecordingHost):
    events: list[WorkerEvent] = []
    restarts: list[int] = []
    process = probe_worker(
        kind, host, on_event=events.append, on_restart=lambda: restarts.append(len(host.calls))
    )
    await process.start()
    first_pid = process.pid
    try:
        with pytest.raises(RpcError) as raised:
            await process.call("performAction", {"key": "crash", "params": {}})
        assert raised.value.code == ErrorCode.WORKER_UNAVAILABLE
        assert raised.value.message.startswith("Worker process exited (code=3, signal=null)")
        assert "\n\nWorker stderr:\n" in raised.value.message
        assert raised.value.message.endswith("\nabout to crash")
        await wait_until(lambda: any(isinstance(e, WorkerRestarted) for e in events))
        assert process.status is WorkerStatus.RUNNING and process.pid != first_pid
        crash = next(e for e in events if isinstance(e, WorkerCrashed))
        assert (crash.will_restart, crash.consecutive_crashes) == (True, 1)
        assert len(restarts) == 1
        await wait_until(lambda: len(_subscriptions(host)) == 6)  # the new worker's setup ran
        assert await process.call("health", {}) == {"status": "ok", "message": "probe is healthy"}
    finally:
        await process.stop()


async def _host_calls_transcript(kind: str) -> tuple[Any, list[Any]]:
    host = RecordingHost()
    process = probe_worker(kind, host)
    await process.start()
    try:
        await wait_until(lambda: len(_subscriptions(host)) == 3)
        before = len(host.calls)
        action = {"key": "host-calls", "params": {"companyId": "c1"}, "companyId": "c1"}
        result = await process.call("performAction", action)
        return result, host.calls[before:]
    finally:
        await process.stop()


@pytest.mark.usefixtures("js_probe_installed")
async def test_python_sdk_sends_what_the_published_sdk_sends():
    """Every ctx call of the probe, in order, with identical params, scopes and results."""
    js_result, js_calls = await _host_calls_transcript("js")
    assert len(js_calls) == 31
    for kind in ("python", "python-inprocess"):
        result, calls = await _host_calls_transcript(kind)
        assert calls == js_calls, kind
        assert result == js_result, kind
    assert js_result["issueTitle"] == "Root" and js_result["summaryCostCents"] == 1234
