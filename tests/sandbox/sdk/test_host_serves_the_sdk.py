"""The Python SDK and the real host's method table stay in step: every worker-to-host request a
``ctx`` client can send is one the host serves (core/worker_bridge/methods.py). A fake host that
answers more than the real one would hide a gap, so the real table is the reference."""

from __future__ import annotations

import inspect
from collections.abc import Coroutine
from typing import Any

import pytest

from core.worker_bridge import handled_methods
from sandbox.sdk import PluginContext
from sandbox.sdk._context import WorkerState

#: Notifications the host takes: log lines are stored, stream events have no viewer yet.
HOST_NOTIFICATIONS = {"log", "streams.open", "streams.emit", "streams.close"}


class _Recorded(Exception):
    """Raised once a request is recorded: what the client does with an answer is not tested."""


class Recorder:
    """A host channel that records what the clients send."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.notifications: list[str] = []

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self.requests.append(method)
        raise _Recorded

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.notifications.append(method)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        coroutine.close()


def _argument(annotation: str) -> Any:
    """A value of roughly the annotated type: the clients only pass them on."""
    if "Sequence" in annotation or "list" in annotation:
        return ["x"]
    if "dict" in annotation or "Mapping" in annotation:
        return {}
    if "bool" in annotation:
        return False
    if "int" in annotation or "float" in annotation:
        return 1
    return "x"


def _clients(ctx: PluginContext) -> list[tuple[str, Any]]:
    """Every client object reachable from ``ctx`` that talks to the host."""
    found = []
    pending = [(f"ctx.{name}", value) for name, value in vars(ctx).items()]
    while pending:
        name, value = pending.pop()
        if hasattr(value, "_host"):
            found.append((name, value))
            pending += [
                (f"{name}.{attr}", child)
                for attr, child in vars(value).items()
                if not attr.startswith("_")
            ]
    return found


async def test_every_request_a_client_can_send_is_served_by_the_host() -> None:
    host = Recorder()
    ctx = PluginContext(host=host, state=WorkerState())  # type: ignore[arg-type]
    clients = _clients(ctx)
    assert {name for name, _ in clients} >= {"ctx.issues", "ctx.issues.documents", "ctx.state"}
    silent = []
    for name, client in clients:
        for method_name, method in inspect.getmembers(client, inspect.ismethod):
            if method_name.startswith("_"):
                continue
            before = len(host.requests) + len(host.notifications)
            arguments = {
                parameter.name: _argument(str(parameter.annotation))
                for parameter in inspect.signature(method).parameters.values()
                if parameter.default is inspect.Parameter.empty
                and parameter.kind is not inspect.Parameter.VAR_KEYWORD
            }
            try:
                result = method(**arguments)
                if inspect.isawaitable(result):
                    await result
            except _Recorded:
                pass
            except Exception as error:  # a client that refuses the made-up arguments
                pytest.fail(f"{name}.{method_name} failed before sending anything: {error!r}")
            if len(host.requests) + len(host.notifications) == before:
                silent.append(f"{name}.{method_name}")
    # Methods that only register handlers locally send nothing; all others must send.
    assert all(
        method.endswith((".register", ".on")) or method.startswith("ctx.streams.")
        for method in silent
    ), silent
    assert host.requests, "no client sent anything: the test found no clients"
    assert set(host.requests) <= handled_methods(), set(host.requests) - handled_methods()
    assert set(host.notifications) <= HOST_NOTIFICATIONS
