"""The host's end of one worker's JSON-RPC connection.

It sends host-to-worker requests (each with its own timeout) and notifications, and serves
worker-to-host requests concurrently through one injected handler, also while ``initialize`` is
still pending: plugins call the host from ``setup``. Failures of that handler are mapped to
JSON-RPC errors in one place (``_error_for``). Lines on the worker's stdout that are not
protocol messages (a plugin's ``console.log``) are reported, cut to the length of a stored log
line, and skipped; nothing a worker writes can stop the reader. What a worker may send is
bounded by ``WorkerLimits`` (line size, JSON depth, calls served at once); a line refused for
its size or depth that is a request or an awaited answer fails that call at once.

The host's handler sees every worker call as ``handler(method, params, context)``; the
``CallContext`` carries the invocation scope (``core.invocation_scope``) for the company gate.

A worker's error answer carries only a message. When a handler raised, the worker first sends a
``log`` error with ``meta {errorType, stack}`` (our Python SDK does, and so does the published
JS SDK through the sandbox's preload, see ``sandbox/node_preload``); the connection remembers the
latest such report per invocation and raises the answer as ``PluginHandlerError``, which carries
the exception's type and trace.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.errors import HostError
from core.invocation_scope import CallContext
from core.plugin_logs import MAX_MESSAGE_CHARS
from core.worker_bridge import HostMethodNotFound
from sandbox.invocation import InvocationTable, derive_invocation_scope
from sandbox.protocol import (
    INVOCATION_FIELD,
    INVOCATION_ID_FIELD,
    PLUGIN_RPC_ERROR_CODES,
    ErrorCode,
    FrameError,
    FrameTooDeep,
    FrameTooLarge,
    JsonRpcPeer,
    Notification,
    Request,
    Response,
    RpcError,
    WorkerLimits,
    WorkerUnavailable,
)
from sandbox.protocol.limits import ENVIRONMENT, megabytes
from sandbox.transport import Transport

logger = logging.getLogger(__name__)

#: Serves one worker-to-host call: ``handler(method, params, context) -> result``.
HostHandler = Callable[[str, dict[str, Any], CallContext], Awaitable[Any]]
#: Receives a worker notification (``log``, ``streams.open|emit|close``) in arrival order.
NotificationCallback = Callable[[str, dict[str, Any], CallContext], None]
#: Receives a line of the worker's stdout that is not a protocol message.
StrayOutputCallback = Callable[[str], None]

#: Worker notifications the host acts on; anything else is logged and ignored (upstream).
HOST_NOTIFICATIONS = frozenset({"log", "streams.open", "streams.emit", "streams.close"})

#: Failure reports kept while waiting for the error answer they belong to.
_MAX_FAILURE_REPORTS = 64

#: What the host's log says once about a worker's stray stdout: how to log instead.
STRAY_OUTPUT_HINT = (
    "stdout carries the worker protocol; log with ctx.logger (Python: or print(...,"
    " file=sys.stderr); JS: console.error)"
)

#: The start of a message as both SDKs write it, to identify an oversized line by its id.
_MESSAGE_HEAD = re.compile(
    rb'^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(\d+)\s*,\s*"(method|result|error)"'
)


class PluginHandlerError(RpcError):
    """A plugin's handler raised: the worker's error answer (code and message), with the
    exception's type and the traceback (Python) or stack (JS) the worker logged with it."""

    def __init__(
        self, code: int, message: str, *, error_type: str, trace: str, data: Any = None
    ) -> None:
        super().__init__(code, message, data)
        self.error_type = error_type
        self.trace = trace

    def __str__(self) -> str:
        # What pytest and a traceback print: the type, then where the plugin raised it.
        return f"{self.error_type}: {self.message}\n\n{self.trace.rstrip()}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.error_type}: {self.message!r})"


@dataclass(frozen=True, slots=True)
class _FailureReport:
    """A worker's ``log`` error carrying ``meta.stack``; ``seq`` orders it among the others."""

    seq: int
    message: str
    error_type: str
    trace: str


class WorkerConnection:
    """JSON-RPC with one worker over a transport; see the module docstring.

    Args:
        transport: the worker's stdio, or one end of an in-memory pair.
        handler: serves worker-to-host requests; raise ``HostMethodNotFound`` for a method it
            does not serve, and ``core.errors.HostError`` for refusals.
        on_notification: receives ``log`` and ``streams.*`` notifications, in order; stream
            notifications outside the invocation's company are dropped before it.
        on_stray_output: receives stdout lines that are not protocol messages.
        label: names the worker in log lines (the plugin id).
        call_timeout: default seconds a host-to-worker call waits for its answer.
        max_call_timeout: upper bound of any call's timeout.
        notification_scope_ttl: seconds an invocation opened by a notification stays valid.
        limits: line size, JSON depth and calls served at once (default: from the
            environment, ``WorkerLimits.from_env``).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        handler: HostHandler,
        on_notification: NotificationCallback | None = None,
        on_stray_output: StrayOutputCallback | None = None,
        label: str = "worker",
        call_timeout: float = 30.0,
        max_call_timeout: float = 15 * 60.0,
        notification_scope_ttl: float = 15 * 60.0,
        limits: WorkerLimits | None = None,
    ) -> None:
        self._transport = transport
        self._handler = handler
        self._on_notification = on_notification
        self._on_stray_output = on_stray_output
        self.label = label
        self.call_timeout = call_timeout
        self.max_call_timeout = max_call_timeout
        self.limits = limits or WorkerLimits.from_env()
        self._invocations = InvocationTable(notification_ttl=notification_scope_ttl)
        self._peer = JsonRpcPeer(
            transport,
            handler=self._serve,
            error_for=self._error_for,
            on_notification=self._on_worker_notification,
            on_unparseable=self._on_stray,
            on_oversized=self._on_oversized,
            on_write_error=self._on_answer_dropped,
            on_dropped=lambda reason: logger.warning("%s: %s", self.label, reason),
            label=label,
            max_message_bytes=self.limits.max_message_bytes,
            max_json_depth=self.limits.max_json_depth,
            max_in_flight_requests=self.limits.max_in_flight_requests,
        )
        self._open_streams: dict[str, str] = {}
        # By the invocation id the report carried (None: none), newest last.
        self._failure_reports: dict[str | None, _FailureReport] = {}
        self._reports_seen = 0
        self._warned_stray = False
        self._reader: asyncio.Task[None] | None = None
        self._output_closed = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._peer.closed

    @property
    def pending_calls(self) -> int:
        """Host-to-worker calls waiting for an answer."""
        return self._peer.pending_calls

    def start(self) -> None:
        """Start reading the worker's output."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_loop(), name=f"{self.label} reader")

    async def wait_output_closed(self) -> None:
        """Return once the worker's output has ended and every line in it was handled."""
        await self._output_closed.wait()

    # -- host to worker -------------------------------------------------------------------

    async def call(self, method: str, params: Any, *, timeout: float | None = None) -> Any:
        """Send a request and return the worker's result.

        Raises:
            PluginHandlerError: a handler raised, and the worker reported its type and trace.
            RpcError: the worker answered with an error (its code and message).
            RpcTimeout: no answer within ``timeout`` seconds (default ``call_timeout``).
            WorkerUnavailable: the connection is closed, or closed while waiting.
        """
        seconds = min(self.call_timeout if timeout is None else timeout, self.max_call_timeout)
        envelope, invocation_id = None, None
        scope = derive_invocation_scope(method, params)
        if scope is not None:
            invocation = self._invocations.open(scope)
            envelope, invocation_id = {INVOCATION_FIELD: invocation}, invocation["id"]
        sent_after = self._reports_seen
        try:
            return await self._peer.call(
                method, params, timeout=seconds, envelope=envelope, drain=True
            )
        except ConnectionError as error:
            raise WorkerUnavailable(f'Failed to send "{method}" to worker: {error}') from None
        except RpcError as error:
            report = self._failure_report(error, invocation_id, sent_after)
            if report is None:
                raise
            raise PluginHandlerError(
                error.code,
                error.message,
                error_type=report.error_type,
                trace=report.trace,
                data=error.data,
            ) from None
        finally:
            if invocation_id is not None:
                self._invocations.close(invocation_id)

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (no ``id``, no answer); dropped once the connection is closed."""
        if self._peer.closed:
            return
        envelope, invocation_id = None, None
        scope = derive_invocation_scope(method, params)
        if scope is not None:
            invocation = self._invocations.open(scope, notification=True)
            envelope, invocation_id = {INVOCATION_FIELD: invocation}, invocation["id"]
        try:
            self._peer.notify(method, params, envelope=envelope)
        except ConnectionError as error:
            logger.warning("%s: could not send notification %s: %s", self.label, method, error)
            if invocation_id is not None:
                self._invocations.close(invocation_id)

    def _failure_report(
        self, error: RpcError, invocation_id: str | None, sent_after: int
    ) -> _FailureReport | None:
        """The worker's report of the exception behind ``error``: it arrived after the call
        was sent, in the same invocation, and names the same message."""
        if type(error) is not RpcError:  # a timeout or an exit: no handler answered
            return None
        for key in dict.fromkeys((invocation_id, None)):
            report = self._failure_reports.get(key)
            if report is not None and report.seq > sent_after and error.message in report.message:
                del self._failure_reports[key]
                return report
        return None

    def _remember_failure(self, params: dict[str, Any], invocation_id: Any) -> None:
        meta = params.get("meta")
        if params.get("level") != "error" or not isinstance(meta, dict):
            return
        trace, message = meta.get("stack"), params.get("message")
        if not isinstance(trace, str) or not isinstance(message, str):
            return
        error_type = meta.get("errorType")
        self._reports_seen += 1
        key = invocation_id if isinstance(invocation_id, str) else None
        self._failure_reports.pop(key, None)  # newest last
        self._failure_reports[key] = _FailureReport(
            self._reports_seen,
            message,
            error_type if isinstance(error_type, str) and error_type else "Error",
            trace,
        )
        if len(self._failure_reports) > _MAX_FAILURE_REPORTS:
            del self._failure_reports[next(iter(self._failure_reports))]

    # -- reading --------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            await self._peer.read()
        finally:
            self._output_closed.set()

    def _on_stray(self, frame: bytes, error: FrameError) -> None:
        if isinstance(error, FrameTooDeep):
            self._refuse(error.message, error.head)
            return
        line = frame[: MAX_MESSAGE_CHARS * 4].decode(errors="replace").rstrip()
        if len(line) > MAX_MESSAGE_CHARS:
            line = f"{line[:MAX_MESSAGE_CHARS]}… (a line of {len(frame)} bytes)"
        # The plugin's logs keep every line (rate limited); the host's own log warns once.
        level = logging.DEBUG if self._warned_stray else logging.WARNING
        self._warned_stray = True
        logger.log(
            level,
            "%s: unparseable message from worker: %.200s (%s)",
            self.label,
            line,
            STRAY_OUTPUT_HINT,
        )
        if self._on_stray_output is not None:
            self._on_stray_output(line)

    def _on_oversized(self, report: FrameTooLarge) -> None:
        if self._refuse(report.message, report.head) or self._on_stray_output is None:
            return
        self._on_stray_output(
            f"{report.head.decode(errors='replace')}… (a line of {report.size} bytes, over the"
            f" {megabytes(report.limit)} limit ({ENVIRONMENT['max_message_bytes']}), dropped)"
        )

    def _refuse(self, reason: str, head: bytes) -> bool:
        """Fail the call a refused line belongs to, found by its id; False when it is none."""
        logger.error("%s: dropped a message from the worker: %s", self.label, reason)
        match = _MESSAGE_HEAD.match(head)
        if match is None:
            return False
        message_id, kind = int(match.group(1)), match.group(2)
        if kind == b"method":
            # Answer the worker's call now rather than leave it to its 30 s timeout.
            self._peer.answer_error(message_id, ErrorCode.INVALID_REQUEST, reason)
            return True
        method = self._peer.waiting_method(message_id)
        if method is not None:
            failure = RpcError(ErrorCode.INTERNAL_ERROR, f'Response to "{method}": {reason}')
            self._peer.resolve(Response(message_id, None, failure))
        return True

    def _on_answer_dropped(self, error: ConnectionError) -> None:
        logger.debug("%s: the worker is gone; an answer was dropped", self.label)

    # -- worker to host -------------------------------------------------------------------

    async def _serve(self, request: Request) -> Any:
        context = self._invocations.context_for(request.envelope.get(INVOCATION_ID_FIELD))
        params = request.params
        if params is None:
            params = {}
        elif not isinstance(params, dict):
            raise _InvalidParams(f'Invalid params for "{request.method}": expected an object')
        return await self._handler(request.method, params, context)

    def _error_for(self, request: Request, error: Exception) -> tuple[int, str]:
        """The one place where host handler failures become JSON-RPC errors."""
        method = request.method
        if isinstance(error, HostMethodNotFound):
            return ErrorCode.METHOD_NOT_FOUND, f'Host does not handle method "{method}"'
        if isinstance(error, _InvalidParams):
            return ErrorCode.INVALID_PARAMS, str(error)
        if isinstance(error, HostError):
            code = error.rpc_code if error.rpc_code in PLUGIN_RPC_ERROR_CODES else None
            return code or ErrorCode.INTERNAL_ERROR, error.message
        if isinstance(error, RpcError) and error.code in PLUGIN_RPC_ERROR_CODES:
            return error.code, error.message
        logger.error("%s: host handler for %s failed", self.label, method, exc_info=error)
        return ErrorCode.INTERNAL_ERROR, str(error) or type(error).__name__

    def _on_worker_notification(self, notification: Notification) -> None:
        method = notification.method
        if method not in HOST_NOTIFICATIONS:
            logger.info("%s: ignored notification %r from worker", self.label, method)
            return
        params = notification.params if isinstance(notification.params, dict) else {}
        invocation_id = notification.envelope.get(INVOCATION_ID_FIELD)
        if method == "log":
            self._remember_failure(params, invocation_id)
        context = self._invocations.context_for(invocation_id)
        if method.startswith("streams.") and not self._track_stream(method, params, context):
            return
        self._deliver(method, params, context)

    def _track_stream(self, method: str, params: dict[str, Any], context: CallContext) -> bool:
        company_id = "" if params.get("companyId") is None else str(params["companyId"])
        if context.invalid_invocation_scope:
            logger.warning("%s: dropping %s with an invalid invocation scope", self.label, method)
            return False
        scope = context.invocation_scope
        if scope is not None and company_id != scope.company_id:
            logger.warning(
                "%s: dropping %s for company %r outside the invocation's company %r",
                self.label,
                method,
                company_id,
                scope.company_id,
            )
            return False
        channel = "" if params.get("channel") is None else str(params["channel"])
        if method == "streams.open" and channel:
            self._open_streams[channel] = company_id
        elif method == "streams.close":
            self._open_streams.pop(channel, None)
        return True

    def _deliver(self, method: str, params: dict[str, Any], context: CallContext) -> None:
        if self._on_notification is None:
            return
        try:
            self._on_notification(method, params, context)
        except Exception:
            logger.exception("%s: notification callback failed for %s", self.label, method)

    # -- closing --------------------------------------------------------------------------

    async def close(self, error: WorkerUnavailable | None = None) -> None:
        """Close the connection; waiting calls fail with ``error``'s message.

        Open stream channels get a synthetic ``streams.close`` so their subscribers are not
        left hanging. Host handlers still running finish on their own; their answers are
        dropped rather than their work cut off halfway.
        """
        if self._peer.closed:
            return
        self._peer.close(error.message if error else "Worker connection closed")
        self._invocations.clear()
        for channel, company_id in list(self._open_streams.items()):
            self._deliver(
                "streams.close", {"channel": channel, "companyId": company_id}, CallContext()
            )
        self._open_streams.clear()
        self._transport.close()
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._output_closed.set()


class _InvalidParams(Exception):
    """A worker request whose params are not a JSON object."""
