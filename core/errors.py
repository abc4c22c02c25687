"""Errors the host raises, each with a kind that the edges map to HTTP and JSON-RPC.

Messages are upstream's, verbatim, because plugins match on them. Core never raises HTTP or
JSON-RPC errors itself; the worker bridge and the HTTP server translate ``kind`` (and
``rpc_code`` where upstream defines a plugin RPC code)::

    HostError
     ├── InvalidInput          400  a parameter is missing or malformed
     ├── Forbidden             403  the plugin may not do this
     │    ├── CapabilityDenied        JSON-RPC -32001
     │    └── InvocationScopeDenied   JSON-RPC -32005
     ├── NotFound              404  missing, or belongs to another company
     ├── Conflict              409  the current state forbids the change
     └── Unprocessable         422  the request contradicts the data's rules
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorKind(enum.StrEnum):
    """What went wrong, independent of transport."""

    INVALID_INPUT = "invalid_input"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNPROCESSABLE = "unprocessable"


#: HTTP status per kind.
HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_INPUT: 400,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNPROCESSABLE: 422,
}


class HostError(Exception):
    """A host operation refused or failed; nothing was written."""

    kind: ErrorKind = ErrorKind.INVALID_INPUT
    #: The JSON-RPC error code upstream gives this error, if it has its own.
    rpc_code: int | None = None

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Structured context (ids, current state) for callers that want more than the message.
        self.details = details or {}

    @property
    def status(self) -> int:
        """The HTTP status of this error."""
        return HTTP_STATUS[self.kind]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidInput(HostError):
    """A parameter is missing, of the wrong type, or not an allowed value."""

    kind = ErrorKind.INVALID_INPUT


class Forbidden(HostError):
    """The plugin is not allowed to do this."""

    kind = ErrorKind.FORBIDDEN


class CapabilityDenied(Forbidden):
    """The plugin's manifest lacks the capability a method requires."""

    rpc_code = -32001


class InvocationScopeDenied(Forbidden):
    """A worker call names a company outside the invocation that caused it."""

    rpc_code = -32005


class NotFound(HostError):
    """The record does not exist, or belongs to another company (indistinguishable on purpose)."""

    kind = ErrorKind.NOT_FOUND


class Conflict(HostError):
    """The record's current state forbids the change (ownership, revisions, status)."""

    kind = ErrorKind.CONFLICT


class Unprocessable(HostError):
    """The request is well-formed but breaks a rule of the data (cycles, assignees, companies)."""

    kind = ErrorKind.UNPROCESSABLE
