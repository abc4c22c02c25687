"""Errors of the worker protocol layer.

Transport failures (broken pipes, exits), bad frames and JSON-RPC error objects are all mapped
into this one hierarchy where they occur; nothing foreign leaks to callers::

    ProtocolError
     ├── FrameError             a line that is not a JSON-RPC 2.0 message
     │    ├── FrameTooLarge     a line longer than the configured maximum
     │    └── FrameTooDeep      a line whose JSON nests deeper than the configured maximum
     ├── RpcError               a call failed with a JSON-RPC error object (code, message, data)
     │    ├── RpcTimeout        -32003: no answer in time
     │    └── WorkerUnavailable -32000: not running, exited, or shutting down
     └── WorkerStartError       the worker could not be spawned or initialized
"""

from __future__ import annotations

from typing import Any

from sandbox.protocol._codes import ErrorCode
from sandbox.protocol.limits import ENVIRONMENT


class ProtocolError(Exception):
    """Base of every error the worker protocol layer raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FrameError(ProtocolError):
    """A line that is not a JSON-RPC 2.0 message (the message is upstream's parse error)."""


class FrameTooLarge(FrameError):
    """A line longer than the configured maximum; its bytes were discarded, not buffered."""

    def __init__(self, *, size: int, limit: int, head: bytes) -> None:
        super().__init__(
            f"Message of {size} bytes exceeds the limit of {limit} bytes"
            f" ({ENVIRONMENT['max_message_bytes']})"
        )
        self.size = size
        self.limit = limit
        #: The first bytes of the line, for diagnostics and to find the message's id.
        self.head = head


class FrameTooDeep(FrameError):
    """A line whose arrays and objects nest deeper than the configured maximum."""

    def __init__(self, *, limit: int, head: bytes) -> None:
        super().__init__(
            f"Message nests arrays and objects deeper than the limit of {limit} levels"
            f" ({ENVIRONMENT['max_json_depth']})"
        )
        self.limit = limit
        #: The first bytes of the line, to find the message's id.
        self.head = head


class RpcError(ProtocolError):
    """A call failed with a JSON-RPC error object; ``code`` says why (see ``ErrorCode``)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r})"


class RpcTimeout(RpcError):
    """The peer did not answer a call in time."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.TIMEOUT, message)


class WorkerUnavailable(RpcError):
    """The worker is not running, has exited, or is shutting down."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.WORKER_UNAVAILABLE, message)


class WorkerStartError(ProtocolError):
    """The worker process could not be spawned, or its ``initialize`` failed."""
