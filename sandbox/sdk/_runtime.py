"""The worker end of the protocol: serves host requests with a plugin and calls the host.

Host requests are handled concurrently, each in its own task. A request or ``onEvent``
notification carrying ``paperclipInvocation`` runs inside that invocation (a context variable,
inherited by every task the handler starts), and each worker-to-host message sent from inside it
carries ``paperclipInvocationId``, as the published SDK's ``AsyncLocalStorage`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

from sandbox.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    INVOCATION_FIELD,
    INVOCATION_ID_FIELD,
    ErrorCode,
    FrameError,
    FrameTooLarge,
    Notification,
    Request,
    Response,
    RpcError,
    RpcTimeout,
    WorkerUnavailable,
    classify,
    encode_message,
    error_message,
    notification_message,
    parse_message,
    read_lines,
    request_message,
    result_message,
)
from sandbox.sdk._dispatch import Dispatcher
from sandbox.sdk._plugin import Plugin
from sandbox.transport import Transport

logger = logging.getLogger(__name__)

#: The invocation the current task serves (its id), set from the host's envelope.
_invocation_id: ContextVar[str | None] = ContextVar("paperclip_invocation_id", default=None)

#: Outbound ids wrap before JavaScript's ``Number.MAX_SAFE_INTEGER - 1``, like the published SDK.
_MAX_ID = 2**53 - 2


class WorkerRuntime:
    """Runs one plugin over one transport until the host shuts it down or closes the stream.

    Args:
        plugin: the plugin to serve.
        transport: the worker's stdio, or the worker end of an in-memory pair.
        call_timeout: seconds a worker-to-host call waits (30, not configurable upstream).
        max_message_bytes: longest accepted line.
    """

    def __init__(
        self,
        plugin: Plugin,
        transport: Transport,
        *,
        call_timeout: float = 30.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self._transport = transport
        self.call_timeout = call_timeout
        self.max_message_bytes = max_message_bytes
        self._dispatcher = Dispatcher(plugin, self)
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._last_id = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = asyncio.Event()
        self._running = True

    async def serve(self) -> None:
        """Serve until ``shutdown`` was answered or the host closed the stream."""
        reader = asyncio.create_task(self._read_loop(), name="plugin worker reader")
        try:
            await self._stopped.wait()
        finally:
            self._running = False
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(WorkerUnavailable("Worker RPC host is shutting down"))
            await asyncio.sleep(0)  # let handlers see that error before they are cancelled
            for task in (reader, *self._tasks):
                task.cancel()
            await asyncio.gather(reader, *self._tasks, return_exceptions=True)
            with contextlib.suppress(ConnectionError):
                await self._transport.drain()  # the answer to shutdown goes out before exit
            self._transport.close()

    # -- HostChannel: what ctx uses -------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """A worker-to-host request; raises ``RpcError`` with the host's code on failure."""
        if not self._running:
            raise WorkerUnavailable(f'Cannot call "{method}" — worker RPC host is not running')
        self._last_id = self._last_id + 1 if self._last_id < _MAX_ID else 1
        request_id = self._last_id
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._write(encode_message(request_message(request_id, method, params, _envelope())))
            async with asyncio.timeout(self.call_timeout):
                response = await future
        except TimeoutError:
            milliseconds = round(self.call_timeout * 1000)
            raise RpcTimeout(
                f'Worker→host call "{method}" timed out after {milliseconds}ms'
            ) from None
        finally:
            self._pending.pop(request_id, None)
        if response.error is not None:
            raise response.error
        return response.result

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """A worker-to-host notification."""
        if self._running:
            self._write(encode_message(notification_message(method, params, _envelope())))

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` in the background; cancelled when the worker stops."""
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- reading --------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            async for frame in read_lines(self._transport.read, self.max_message_bytes):
                self._on_frame(frame)
        except (ConnectionError, OSError) as error:
            logger.debug("worker input ended with %r", error)
        finally:
            # The host closed our input: exit, as the published SDK does.
            self._stopped.set()

    def _on_frame(self, frame: bytes | FrameTooLarge) -> None:
        if isinstance(frame, FrameTooLarge):
            self._reject(frame)
            return
        try:
            message = classify(parse_message(frame))
        except FrameError as error:
            self._reject(error)
            return
        if isinstance(message, Response):
            future = self._pending.get(message.id) if type(message.id) is int else None
            if future is not None and not future.done():
                future.set_result(message)
        elif isinstance(message, Request):
            self.spawn(self._serve(message))
        elif isinstance(message, Notification) and message.method == "onEvent" and message.params:
            self.spawn(self._serve_event(message))

    def _reject(self, error: FrameError) -> None:
        """Answer a line that is not a message, as the published SDK does (``id: null``)."""
        reason = f"Parse error: {error.message}"
        self._write(encode_message(error_message(None, ErrorCode.PARSE_ERROR, reason)))

    async def _serve(self, request: Request) -> None:
        _enter_invocation(request.envelope)
        try:
            result = await self._dispatcher.dispatch(request.method, request.params)
            data = encode_message(result_message(request.id, result))
        except Exception as error:
            code = error.code if isinstance(error, RpcError) else ErrorCode.WORKER_ERROR
            message = str(error) or type(error).__name__
            self._write(encode_message(error_message(request.id, code, message)))
            return
        self._write(data)
        if request.method == "shutdown":
            self._stopped.set()

    async def _serve_event(self, notification: Notification) -> None:
        _enter_invocation(notification.envelope)
        params = notification.params if isinstance(notification.params, dict) else {}
        try:
            await self._dispatcher.on_event(params)
        except Exception as error:
            message = f"Failed to handle event notification: {error}"
            self.notify("log", {"level": "error", "message": message})

    def _write(self, data: bytes) -> None:
        if not self._running:
            return
        try:
            self._transport.write(data)
        except ConnectionError:
            # Nobody is listening any more: stop, as a worker whose stdout broke would.
            self._stopped.set()


def _envelope() -> dict[str, Any] | None:
    invocation_id = _invocation_id.get()
    return None if invocation_id is None else {INVOCATION_ID_FIELD: invocation_id}


def _enter_invocation(envelope: Any) -> None:
    """Run the rest of the current task inside the host's invocation, if the message has one."""
    invocation = envelope.get(INVOCATION_FIELD)
    if isinstance(invocation, dict) and isinstance(invocation.get("id"), str):
        _invocation_id.set(invocation["id"])
