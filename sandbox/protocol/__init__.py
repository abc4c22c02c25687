"""Paperclip's plugin worker protocol: JSON-RPC 2.0 over newline-delimited stdio.

The codec shared by the host side (``sandbox.worker_connection``) and the Python SDK's worker
runtime (``sandbox.sdk``): framing, parsing and classification, message builders, error codes,
the protocol's exception hierarchy and its limits (``WorkerLimits``); and ``JsonRpcPeer``, the
read loop, pending calls and answers both ends run on top of it.
"""

from sandbox.protocol._codes import (
    DEFAULT_MAX_IN_FLIGHT_REQUESTS,
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_MESSAGE_BYTES,
    HOST_TO_WORKER_OPTIONAL_METHODS,
    HOST_TO_WORKER_REQUIRED_METHODS,
    INVOCATION_FIELD,
    INVOCATION_ID_FIELD,
    JSONRPC_VERSION,
    PLUGIN_RPC_ERROR_CODES,
    ErrorCode,
)
from sandbox.protocol._errors import (
    FrameError,
    FrameTooDeep,
    FrameTooLarge,
    ProtocolError,
    RpcError,
    RpcTimeout,
    WorkerStartError,
    WorkerUnavailable,
)
from sandbox.protocol._framing import LineDecoder, read_lines
from sandbox.protocol._messages import (
    Message,
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
from sandbox.protocol._peer import JsonRpcPeer
from sandbox.protocol.limits import WorkerLimits

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT_REQUESTS",
    "DEFAULT_MAX_JSON_DEPTH",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "HOST_TO_WORKER_OPTIONAL_METHODS",
    "HOST_TO_WORKER_REQUIRED_METHODS",
    "INVOCATION_FIELD",
    "INVOCATION_ID_FIELD",
    "JSONRPC_VERSION",
    "PLUGIN_RPC_ERROR_CODES",
    "ErrorCode",
    "FrameError",
    "FrameTooDeep",
    "FrameTooLarge",
    "JsonRpcPeer",
    "LineDecoder",
    "Message",
    "Notification",
    "ProtocolError",
    "Request",
    "Response",
    "RpcError",
    "RpcTimeout",
    "WorkerLimits",
    "WorkerStartError",
    "WorkerUnavailable",
    "classify",
    "encode_message",
    "error_message",
    "notification_message",
    "parse_message",
    "read_lines",
    "request_message",
    "result_message",
]
