"""The worker end of the protocol: serves host requests with a plugin and calls the host.

Host requests are handled concurrently, each in its own task. A request or ``onEvent``
notification carrying ``paperclipInvocation`` runs inside that invocation (a context variable,
inherited by every task the handler starts), and each worker-to-host message sent from inside it
carries ``paperclipInvocationId``, as the published SDK's ``AsyncLocalStorage`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

from paperclip_records import unbuilt_record_types
from sandbox.protocol import (
    INVOCATION_FIELD,
    INVOCATION_ID_FIELD,
    ErrorCode,
    FrameError,
    JsonRpcPeer,
    Notification,
    Request,
    RpcError,
    WorkerUnavailable,
)
from sandbox.protocol.limits import WorkerLimits
from sandbox.sdk._dispatch import Dispatcher
from sandbox.sdk._plugin import Plugin
from sandbox.transport import Transport

#: The invocation the current task serves (its id), set from the host's envelope.
_invocation_id: ContextVar[str | None] = ContextVar("paperclip_invocation_id", default=None)


class WorkerRuntime:
    """Runs one plugin over one transport until the host shuts it down or closes the stream.

    Args:
        plugin: the plugin to serve.
        transport: the worker's stdio, or the worker end of an in-memory pair.
        call_timeout: seconds a worker-to-host call waits (30, not configurable upstream).
        limits: how long a line and how deep its JSON may be (the host passes its own
            ``SANDBOX_PLUGIN_*`` values in the worker's environment).
    """

    def __init__(
        self,
        plugin: Plugin,
        transport: Transport,
        *,
        call_timeout: float = 30.0,
        limits: WorkerLimits | None = None,
    ) -> None:
        limits = limits or WorkerLimits()
        self._transport = transport
        self.call_timeout = call_timeout
        self._dispatcher = Dispatcher(plugin, self)
        self._stopped = asyncio.Event()
        self._messages_seen = False
        self._peer = JsonRpcPeer(
            transport,
            handler=self._serve,
            error_for=_error_for,
            on_notification=self._on_notification,
            on_unparseable=lambda frame, error: self._reject(error),
            on_oversized=self._reject,
            on_write_error=self._on_broken_output,
            timeout_message='Worker→host call "{method}" timed out after {milliseconds}ms',
            label="plugin worker",
            max_message_bytes=limits.max_message_bytes,
            max_json_depth=limits.max_json_depth,
        )

    @property
    def max_message_bytes(self) -> int:
        """Longest accepted line."""
        return self._peer.max_message_bytes

    async def serve(self) -> None:
        """Serve until ``shutdown`` was answered or the host closed the stream."""
        reader = asyncio.create_task(self._read_loop(), name="plugin worker reader")
        builder = asyncio.create_task(self._build_records_while_idle(), name="record validators")
        try:
            await self._stopped.wait()
        finally:
            self._peer.close("Worker RPC host is shutting down")
            await asyncio.sleep(0)  # let handlers see that error before they are cancelled
            tasks = (reader, builder, *self._peer.tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(ConnectionError):
                await self._transport.drain()  # the answer to shutdown goes out before exit
            self._transport.close()

    # -- HostChannel: what ctx uses -------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """A worker-to-host request; raises ``RpcError`` with the host's code on failure."""
        if self._peer.closed:
            raise WorkerUnavailable(f'Cannot call "{method}" — worker RPC host is not running')
        return await self._peer.call(
            method, params, timeout=self.call_timeout, envelope=_envelope()
        )

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """A worker-to-host notification."""
        try:
            self._peer.notify(method, params, envelope=_envelope())
        except ConnectionError as error:
            self._on_broken_output(error)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` in the background; cancelled when the worker stops."""
        self._peer.spawn(coroutine)

    async def _build_records_while_idle(self) -> None:
        """Build the record validators a first use would build, one type per turn of the loop,
        until the first message comes: a worker started ahead (``sandbox.spare_workers``) has
        them built before it is used; one used at once builds the rest on first use, as before.
        """
        for record_type in unbuilt_record_types():
            await asyncio.sleep(0)  # a message that came is read first
            if self._messages_seen:
                return
            record_type.model_rebuild()

    # -- reading --------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            await self._peer.read()
        finally:
            # The host closed our input: exit, as the published SDK does.
            self._stopped.set()

    def _on_notification(self, notification: Notification) -> None:
        self._messages_seen = True
        if notification.method == "onEvent" and notification.params:
            self.spawn(self._serve_event(notification))

    def _reject(self, error: FrameError) -> None:
        """Answer a line that is not a message, as the published SDK does (``id: null``)."""
        self._peer.answer_error(None, ErrorCode.PARSE_ERROR, f"Parse error: {error.message}")

    async def _serve(self, request: Request) -> Any:
        self._messages_seen = True
        _enter_invocation(request.envelope)
        result = await self._dispatcher.dispatch(request.method, request.params)
        if request.method == "shutdown":
            # Its answer still goes out: the peer writes it before this task yields again.
            self._stopped.set()
        return result

    async def _serve_event(self, notification: Notification) -> None:
        _enter_invocation(notification.envelope)
        params = notification.params if isinstance(notification.params, dict) else {}
        try:
            await self._dispatcher.on_event(params)
        except Exception as error:
            message = f"Failed to handle event notification: {error}"
            self.notify("log", {"level": "error", "message": message})

    def _on_broken_output(self, error: ConnectionError) -> None:
        # Nobody is listening any more: stop, as a worker whose stdout broke would.
        self._stopped.set()


def _error_for(request: Request, error: Exception) -> tuple[int, str]:
    code = error.code if isinstance(error, RpcError) else ErrorCode.WORKER_ERROR
    return code, str(error) or type(error).__name__


def _envelope() -> dict[str, Any] | None:
    invocation_id = _invocation_id.get()
    return None if invocation_id is None else {INVOCATION_ID_FIELD: invocation_id}


def _enter_invocation(envelope: Any) -> None:
    """Run the rest of the current task inside the host's invocation, if the message has one."""
    invocation = envelope.get(INVOCATION_FIELD)
    if isinstance(invocation, dict) and isinstance(invocation.get("id"), str):
        _invocation_id.set(invocation["id"])
