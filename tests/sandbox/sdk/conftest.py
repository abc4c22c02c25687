"""A plugin served by the SDK runtime over an in-memory pipe, with a host that records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from core.invocation_scope import CallContext
from sandbox.sdk import Plugin
from sandbox.sdk._runtime import WorkerRuntime
from sandbox.transport import memory_transport_pair
from sandbox.worker_connection import WorkerConnection
from tests.fixtures.protocol import scope_of


@dataclass
class SdkHost:
    """Answers worker calls from ``answers`` (None by default); exceptions there are raised."""

    answers: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    notifications: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)

    async def handle(self, method: str, params: dict[str, Any], context: CallContext) -> Any:
        self.calls.append((method, params, scope_of(context)))
        answer = self.answers.get(method)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def notify(self, method: str, params: dict[str, Any], context: CallContext) -> None:
        self.notifications.append((method, params, scope_of(context)))

    def logs(self) -> list[tuple[str, str]]:
        return [(p["level"], p["message"]) for m, p, _ in self.notifications if m == "log"]


@asynccontextmanager
async def served(
    plugin: Plugin, host: SdkHost | None = None, *, call_timeout: float = 30.0
) -> AsyncIterator[tuple[WorkerConnection, SdkHost]]:
    """``plugin`` behind a runtime, not yet initialized; closing the host end ends it."""
    host = host or SdkHost()
    host_end, worker_end = memory_transport_pair()
    runtime = WorkerRuntime(plugin, worker_end, call_timeout=call_timeout)
    serving = asyncio.create_task(runtime.serve())
    connection = WorkerConnection(host_end, handler=host.handle, on_notification=host.notify)
    connection.start()
    try:
        yield connection, host
    finally:
        await connection.close()
        async with asyncio.timeout(5):
            await serving


INITIALIZE = {"manifest": {"id": "sdk-test"}, "config": {"a": 1}, "databaseNamespace": None}
