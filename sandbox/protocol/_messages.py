"""JSON-RPC 2.0 messages as the published plugin SDK writes and reads them.

Parsing and classification follow upstream exactly: the parse step checks JSON, object-ness and
``"jsonrpc": "2.0"`` (upstream's messages), then a message is, in this order, a response (an
``id`` key and ``result`` or ``error``), a request (a string ``method`` and an ``id`` that is
present and not null) or a notification (a string ``method`` and no ``id`` key at all).
Anything else is not a message either side acts on.

Beyond upstream, a line whose arrays and objects nest deeper than a limit is refused
(``FrameTooDeep``): host code that walks values recursively must never meet a
``RecursionError``.
"""

from __future__ import annotations

import contextlib
import gc
import json
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from sandbox.protocol._codes import DEFAULT_MAX_JSON_DEPTH, JSONRPC_VERSION, ErrorCode
from sandbox.protocol._errors import FrameError, FrameTooDeep, RpcError

#: Upstream quotes at most this many characters of an unparseable line.
_QUOTED_CHARS = 200
#: Bytes of a refused line kept to find its id.
_HEAD_BYTES = 200
#: Brackets outside strings as signed steps: 1 opens, -1 (0xff) closes; all else is deleted.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
#: Steps whose depth is bounded by counting alone, before any is summed one by one.
_DEPTH_WINDOW = 256


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
    raise ValueError(f"{name} is not JSON")


#: JavaScript's JSON.parse rejects NaN and Infinity; so do we.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
#: Lines this long are parsed with the cyclic collector paused (see ``_collector_paused``).
_PAUSE_COLLECTOR_CHARS = 64 * 1024


def parse_message(line: bytes | str, *, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> dict[str, Any]:
    """Parse one line into a JSON-RPC 2.0 envelope.

    Raises:
        FrameTooDeep: its arrays and objects nest deeper than ``max_depth`` levels.
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
        text, line = line.strip(), line.encode()
    if not text:
        raise FrameError("Empty message")
    try:
        if len(text) < _PAUSE_COLLECTOR_CHARS:
            parsed = _DECODER.decode(text)
        else:
            with _collector_paused():
                parsed = _DECODER.decode(text)
    except RecursionError:
        raise FrameTooDeep(limit=max_depth, head=line.lstrip()[:_HEAD_BYTES]) from None
    except ValueError:
        raise FrameError(f"Invalid JSON: {text[:_QUOTED_CHARS]}") from None
    if _nests_deeper(line, max_depth):
        raise FrameTooDeep(limit=max_depth, head=line.lstrip()[:_HEAD_BYTES])
    if not isinstance(parsed, dict):
        raise FrameError("Message must be a JSON object")
    version = parsed.get("jsonrpc")
    if version != JSONRPC_VERSION:
        shown = "undefined" if "jsonrpc" not in parsed else json.dumps(version)
        raise FrameError(
            f'Invalid or missing jsonrpc version (expected "{JSONRPC_VERSION}", got {shown})'
        )
    return parsed


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsed JSON holds no reference cycles, yet the millions of containers a big line makes
    trigger the cyclic collector over and over: parsing small arrays ran 10 times slower."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _nests_deeper(data: bytes, limit: int) -> bool:
    """Whether the arrays and objects of valid JSON ``data`` nest deeper than ``limit``.

    Runs over bytes at C speed: escapes and strings are cut out, the brackets left become
    steps of +1 and -1, and only a window that counting cannot clear is summed step by step.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    steps = b"".join(data.split(b'"')[::2]).translate(_STEPS, _NOT_BRACKETS)
    depth = 0
    for start in range(0, len(steps), _DEPTH_WINDOW):
        window = steps[start : start + _DEPTH_WINDOW]
        opens = window.count(1)
        if depth + opens > limit and max(accumulate(array("b", window), initial=depth)) > limit:
            return True
        depth += 2 * opens - len(window)
    return False


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
            which JavaScript cannot parse) or nests too deeply to encode.
    """
    try:
        text = json.dumps(message, separators=(",", ":"), allow_nan=False, default=_to_json)
    except RecursionError:
        raise ValueError("The message nests too deeply to be encoded as JSON") from None
    return text.encode() + b"\n"
