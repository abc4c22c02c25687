"""JSON-RPC 2.0 messages as the published plugin SDK writes and reads them.

Parsing and classification follow upstream exactly: the parse step checks JSON, object-ness and
``"jsonrpc": "2.0"`` (upstream's messages), then a message is, in this order, a response (an
``id`` key and ``result`` or ``error``), a request (a string ``method`` and an ``id`` that is
present and not null) or a notification (a string ``method`` and no ``id`` key at all).
Anything else is not a message either side acts on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.protocol._codes import JSONRPC_VERSION, ErrorCode
from sandbox.protocol._errors import FrameError, RpcError

#: Upstream quotes at most this many characters of an unparseable line.
_QUOTED_CHARS = 200


@dataclass(frozen=True, slots=True)
class Request:
    """A call that expects a response carrying the same ``id``."""

    id: Any
    method: str
    params: Any
    envelope: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Notification:
    """A fire-and-forget message: no ``id`` key, no response."""

    method: str
    params: Any
    envelope: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Response:
    """The answer to a request: ``error`` is set when the call failed, else ``result`` holds."""

    id: Any
    result: Any
    error: RpcError | None


Message = Request | Notification | Response


def _reject_constant(name: str) -> Any:
    # JavaScript's JSON.parse rejects NaN and Infinity; so do we.
    raise ValueError(f"{name} is not JSON")


def parse_message(line: bytes | str) -> dict[str, Any]:
    """Parse one line into a JSON-RPC 2.0 envelope.

    Raises:
        FrameError: with upstream's message ("Empty message", "Invalid JSON: …", "Message must
            be a JSON object", "Invalid or missing jsonrpc version …").
    """
    if isinstance(line, bytes):
        try:
            text = line.decode().strip()
        except UnicodeDecodeError:
            shown = line.decode(errors="replace").strip()[:_QUOTED_CHARS]
            raise FrameError(f"Invalid JSON: {shown}") from None
    else:
        text = line.strip()
    if not text:
        raise FrameError("Empty message")
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise FrameError(f"Invalid JSON: {text[:_QUOTED_CHARS]}") from None
    if not isinstance(parsed, dict):
        raise FrameError("Message must be a JSON object")
    version = parsed.get("jsonrpc")
    if version != JSONRPC_VERSION:
        shown = "undefined" if "jsonrpc" not in parsed else json.dumps(version)
        raise FrameError(
            f'Invalid or missing jsonrpc version (expected "{JSONRPC_VERSION}", got {shown})'
        )
    return parsed


def _error_from_object(error: Any) -> RpcError:
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        if isinstance(code, int) and not isinstance(code, bool) and isinstance(message, str):
            return RpcError(code, message, error.get("data"))
    return RpcError(ErrorCode.UNKNOWN, f"Malformed JSON-RPC error object: {json.dumps(error)}")


def classify(message: Mapping[str, Any]) -> Message | None:
    """The kind of a parsed envelope, or None when it is none of the three (to be dropped)."""
    if "id" in message and ("result" in message or "error" in message):
        error = message.get("error")
        if error is None and "result" not in message:
            return Response(message["id"], None, _error_from_object(error))
        failure = None if error is None else _error_from_object(error)
        return Response(message["id"], message.get("result"), failure)
    method = message.get("method")
    if not isinstance(method, str):
        return None
    if message.get("id") is not None:
        return Request(message["id"], method, message.get("params"), message)
    if "id" not in message:
        return Notification(method, message.get("params"), message)
    return None


def request_message(
    id: Any, method: str, params: Any, envelope: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A request; ``envelope`` adds top-level fields such as the invocation."""
    return {"jsonrpc": JSONRPC_VERSION, "id": id, "method": method, "params": params} | dict(
        envelope or {}
    )


def notification_message(
    method: str, params: Any, envelope: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A notification: it has no ``id`` key at all (``"id": null`` would be dropped)."""
    return {"jsonrpc": JSONRPC_VERSION, "method": method, "params": params} | dict(envelope or {})


def result_message(id: Any, result: Any) -> dict[str, Any]:
    """A success response; a handler that returned nothing is answered ``"result": null``."""
    return {"jsonrpc": JSONRPC_VERSION, "id": id, "result": result}


def error_message(id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    """An error response; ``data`` is included only when given."""
    error: dict[str, Any] = {"code": int(code), "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": JSONRPC_VERSION, "id": id, "error": error}


def _to_json(value: Any) -> Any:
    to_wire = getattr(value, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_message(message: Mapping[str, Any]) -> bytes:
    """One compact JSON line ending in ``\\n``; objects with ``to_wire()`` (records) serialize
    as their wire form.

    Raises:
        TypeError, ValueError: when the message holds something that is not JSON (NaN included,
            which JavaScript cannot parse).
    """
    text = json.dumps(message, separators=(",", ":"), allow_nan=False, default=_to_json)
    return text.encode() + b"\n"
