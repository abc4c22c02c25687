"""One end of a JSON-RPC connection: the loop both the host and the Python SDK's worker run.

``JsonRpcPeer`` reads newline-delimited frames from a transport and sorts them: a response
resolves the call waiting for its id, a request is answered by the handler in a task of its own
(several run at once), a notification goes to a callback. It sends requests (each waiting with
its own timeout) and notifications, and on ``close`` fails every call still waiting.

Bounds, so that the other end cannot grow this one's memory or stall its loop: a line longer
than ``max_message_bytes`` or nested deeper than ``max_json_depth`` is refused; a message this
end would send over ``max_message_bytes`` is not sent (a call fails at once, an answer becomes
an error answer); and with ``max_in_flight_requests``, requests beyond that many being served
are answered with an error at once. A request's slot is freed once its answer is handed over,
so a peer that stops reading its answers soon has its further requests refused.

What differs between the two ends stays with them, passed in as callbacks: what a handler's
failure becomes on the wire, what to do with a line that is not a message (the host reports it
as the plugin's stray output, the worker answers upstream's parse error), how a broken output is
handled (the host drops the answer, the worker stops) and what is worth a log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.protocol._codes import DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_MESSAGE_BYTES, ErrorCode
from sandbox.protocol._errors import (
    FrameError,
    FrameTooLarge,
    RpcError,
    RpcTimeout,
    WorkerUnavailable,
)
from sandbox.protocol._framing import read_lines
from sandbox.protocol._messages import (
    Notification,
    Request,
    Response,
    classify,
    encode_message,
    error_message,
    notification_message,
    parse_message,
    request_message,
    result_message,
)
from sandbox.protocol.limits import ENVIRONMENT, megabytes

if TYPE_CHECKING:
    from sandbox.transport import Transport

logger = logging.getLogger(__name__)

#: Answers a request: returns its result, or raises (``error_for`` turns that into the answer).
RequestHandler = Callable[[Request], Awaitable[Any]]
#: The code and message of the error answer to a request whose handler raised.
ErrorMapper = Callable[[Request, Exception], tuple[int, str]]

#: Outbound ids wrap before JavaScript's ``Number.MAX_SAFE_INTEGER - 1``, like the published SDK.
MAX_REQUEST_ID = 2**53 - 2


@dataclass(slots=True)
class _PendingCall:
    method: str
    future: asyncio.Future[Response]


class JsonRpcPeer:
    """JSON-RPC 2.0 over one transport; see the module docstring.

    Args:
        transport: a process's pipes, or one end of an in-memory pair.
        handler: answers the other end's requests.
        error_for: maps a handler's exception (or an unencodable result) to the error answer.
        on_notification: receives the other end's notifications, in arrival order.
        on_unparseable: receives a line that is not a JSON-RPC 2.0 message, with the reason.
        on_oversized: receives the report of a line longer than ``max_message_bytes``.
        on_write_error: told when writing an answer (or a request of a call without ``drain``)
            finds the stream broken; the frame is dropped.
        on_dropped: told why a message was dropped: a response to no waiting call, or a
            message of no known kind (None: dropped silently).
        timeout_message: the ``RpcTimeout`` message; ``{method}`` and ``{milliseconds}`` are
            filled in.
        label: names this end in log lines and task names.
        max_message_bytes: longest accepted line; longer ones go to ``on_oversized``, and
            longer messages of this end are not sent.
        max_json_depth: deepest accepted nesting; deeper lines go to ``on_unparseable`` as
            ``FrameTooDeep``.
        max_in_flight_requests: requests of the other end served at once; more are answered
            -32603 at once (None: no limit).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        handler: RequestHandler,
        error_for: ErrorMapper,
        on_notification: Callable[[Notification], None],
        on_unparseable: Callable[[bytes, FrameError], None],
        on_oversized: Callable[[FrameTooLarge], None],
        on_write_error: Callable[[ConnectionError], None],
        on_dropped: Callable[[str], None] | None = None,
        timeout_message: str = 'RPC call "{method}" timed out after {milliseconds}ms',
        label: str = "peer",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        max_in_flight_requests: int | None = None,
    ) -> None:
        self._transport = transport
        self._handler = handler
        self._error_for = error_for
        self._on_notification = on_notification
        self._on_unparseable = on_unparseable
        self._on_oversized = on_oversized
        self._on_write_error = on_write_error
        self._on_dropped = on_dropped
        self._timeout_message = timeout_message
        self.label = label
        self.max_message_bytes = max_message_bytes
        self.max_json_depth = max_json_depth
        self.max_in_flight_requests = max_in_flight_requests
        self._serving: set[asyncio.Task[Any]] = set()
        self._pending: dict[int, _PendingCall] = {}
        self._last_id = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed_reason: str | None = None

    @property
    def closed(self) -> bool:
        return self._closed_reason is not None

    @property
    def pending_calls(self) -> int:
        """Calls waiting for their answer."""
        return len(self._pending)

    @property
    def tasks(self) -> tuple[asyncio.Task[Any], ...]:
        """Answers being worked on, and the tasks started with ``spawn``, still running."""
        return tuple(self._tasks)

    # -- reading --------------------------------------------------------------------------

    async def read(self) -> None:
        """Handle incoming lines until the stream ends (or breaks), then return."""
        try:
            async for frame in read_lines(self._transport.read, self.max_message_bytes):
                self._on_frame(frame)
        except (ConnectionError, OSError) as error:
            logger.debug("%s: input ended with %r", self.label, error)

    def _on_frame(self, frame: bytes | FrameTooLarge) -> None:
        # Nothing the other end writes may stop the reader.
        try:
            if isinstance(frame, FrameTooLarge):
                self._on_oversized(frame)
                return
            try:
                message = classify(parse_message(frame, max_depth=self.max_json_depth))
            except FrameError as error:
                self._on_unparseable(frame, error)
                return
            if isinstance(message, Response):
                self.resolve(message)
            elif isinstance(message, Request):
                self._serve(message)
            elif isinstance(message, Notification):
                self._on_notification(message)
            elif self._on_dropped is not None:
                self._on_dropped(f"dropped a message of unknown type: {frame!r:.200}")
        except Exception:
            logger.exception("%s: failed to handle an incoming message", self.label)

    def resolve(self, response: Response) -> None:
        """Hand a response to the call waiting for its id."""
        # Ids keep their JSON type: 1, 1.0, true and "1" are different ids to the other end.
        pending = self._pending.get(response.id) if type(response.id) is int else None
        if pending is None or pending.future.done():
            if self._on_dropped is not None:
                self._on_dropped(f"response for unknown request id {response.id!r}")
            return
        pending.future.set_result(response)

    def waiting_method(self, request_id: int) -> str | None:
        """The method of the call still waiting for ``request_id``, or None."""
        pending = self._pending.get(request_id)
        return pending.method if pending is not None and not pending.future.done() else None

    # -- answering ------------------------------------------------------------------------

    def _serve(self, request: Request) -> None:
        limit = self.max_in_flight_requests
        if limit is not None and len(self._serving) >= limit:
            self.answer_error(
                request.id,
                ErrorCode.INTERNAL_ERROR,
                f'Call "{request.method}" refused: {limit} calls are already being served,'
                f" the limit ({ENVIRONMENT['max_in_flight_requests']})",
            )
            return
        task = self.spawn(self._answer(request), name=f"{self.label} serve")
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    async def _answer(self, request: Request) -> None:
        try:
            result = await self._handler(request)
            data = encode_message(result_message(request.id, result))
        except Exception as error:
            code, message = self._error_for(request, error)
            data = encode_message(error_message(request.id, code, message))
        if len(data) - 1 > self.max_message_bytes:
            message = f'Response to "{request.method}" {self._over_limit(len(data) - 1)}'
            data = encode_message(error_message(request.id, ErrorCode.INTERNAL_ERROR, message))
        self.write(data)
        if self._closed_reason is None:
            try:  # hold the request's slot until the other end takes its answer
                await self._transport.drain()
            except ConnectionError as error:
                self._on_write_error(error)

    def _over_limit(self, size: int) -> str:
        return (
            f"is {megabytes(size)}, over the {megabytes(self.max_message_bytes)} limit"
            f" ({ENVIRONMENT['max_message_bytes']})"
        )

    def answer_error(self, request_id: Any, code: int, message: str) -> None:
        """Answer a request (``None``: a line that had no usable id) with an error."""
        self.write(encode_message(error_message(request_id, code, message)))

    def spawn(
        self, coroutine: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        """Run ``coroutine`` in a task kept until it ends (see ``tasks``)."""
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- sending --------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Any,
        *,
        timeout: float,
        envelope: Mapping[str, Any] | None = None,
        drain: bool = False,
    ) -> Any:
        """Send a request and return the other end's result.

        Args:
            envelope: top-level fields added to the request (the invocation).
            drain: wait until the request is handed over, and raise if it cannot be; else a
                broken stream goes to ``on_write_error`` and the call waits on.

        Raises:
            RpcError: the other end answered with an error (its code and message), or -32600
                at once when the request is over ``max_message_bytes``.
            RpcTimeout: no answer within ``timeout`` seconds.
            WorkerUnavailable: the peer is closed, or was closed while waiting.
            ConnectionError: with ``drain``, the request could not be sent.
        """
        if self._closed_reason is not None:
            raise WorkerUnavailable(self._closed_reason)
        self._last_id = self._last_id + 1 if self._last_id < MAX_REQUEST_ID else 1
        request_id = self._last_id
        data = encode_message(request_message(request_id, method, params, envelope))
        if len(data) - 1 > self.max_message_bytes:
            message = f'Request "{method}" {self._over_limit(len(data) - 1)}'
            raise RpcError(ErrorCode.INVALID_REQUEST, message)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _PendingCall(method, future)
        try:
            async with asyncio.timeout(timeout):
                if drain:
                    self._transport.write(data)
                    await self._transport.drain()
                else:
                    self.write(data)
                response = await future
        except TimeoutError:
            milliseconds = round(timeout * 1000)
            message = self._timeout_message.format(method=method, milliseconds=milliseconds)
            raise RpcTimeout(message) from None
        finally:
            del self._pending[request_id]
        if response.error is not None:
            raise response.error
        return response.result

    def notify(
        self, method: str, params: Any, *, envelope: Mapping[str, Any] | None = None
    ) -> None:
        """Send a notification (no ``id``, no answer); dropped once the peer is closed, and
        (with a warning) when it is over ``max_message_bytes``.

        Raises:
            ConnectionError: the stream is broken.
        """
        if self._closed_reason is not None:
            return
        data = encode_message(notification_message(method, params, envelope))
        if len(data) - 1 > self.max_message_bytes:
            logger.warning(
                "%s: notification %s not sent: it %s",
                self.label,
                method,
                self._over_limit(len(data) - 1),
            )
            return
        self._transport.write(data)

    def write(self, data: bytes) -> None:
        """Write an encoded frame nobody waits on; dropped once the peer is closed, and a
        broken stream goes to ``on_write_error``."""
        if self._closed_reason is not None:
            return
        try:
            self._transport.write(data)
        except ConnectionError as error:
            self._on_write_error(error)

    # -- closing --------------------------------------------------------------------------

    def close(self, reason: str) -> None:
        """Stop writing; calls still waiting, and later calls, fail with
        ``WorkerUnavailable(reason)``. The transport and the reader are the owner's to close."""
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(WorkerUnavailable(reason))
