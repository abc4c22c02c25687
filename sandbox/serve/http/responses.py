"""JSON answers and request bodies shared by every route of the HTTP server.

Every answer the server writes is JSON, errors included: ``{"error": message}`` for refusals
(upstream's shape), ``{code, message, details?}`` for bridge failures. A request body the host
cannot read is the caller's fault, so it is a 400 with a one-line reason, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

#: Upstream's host-wide JSON body parser limit (Express ``json({limit: "10mb"})``).
MAX_BODY_BYTES = 10 * 1024 * 1024


class BadRequestBody(Exception):
    """The request body is too large, not UTF-8, malformed JSON, or not an object or array."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Upstream's error shape: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer; 204 has no body at all."""
    if status == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def is_json_content(content_type: str | None) -> bool:
    """Whether the media type (parameters such as charset ignored) is ``application/json``,
    the only type upstream's body parser reads."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def read_json_body(request: Request) -> Any:
    """The parsed JSON body, as upstream's host-wide parser gives it to routes.

    None when the content type is not JSON (the body is not read, as upstream) or the body is
    empty. The parser is strict as Express's: only an object or an array is a body.

    Upstream's parser errors (malformed JSON, over 10 MB) fall through to its error handler and
    become 500 "Internal server error". We deliberately answer 400 with the reason instead: a
    bad body is the caller's mistake, and the server never answers 500 for bad input.

    Raises:
        BadRequestBody: with a one-line message.
    """
    if not is_json_content(request.headers.get("content-type")):
        return None
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequestBody(_too_large())
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequestBody(_too_large())
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestBody("Request body is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise BadRequestBody(
            f"Malformed JSON in request body: {error.msg} (line {error.lineno}, "
            f"column {error.colno})"
        ) from None
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        raise BadRequestBody(f"Malformed JSON in request body: {error}") from None
    if not isinstance(value, dict | list):
        raise BadRequestBody("JSON request body must be an object or an array")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_large() -> str:
    return f"Request body is larger than the limit of {MAX_BODY_BYTES} bytes"
