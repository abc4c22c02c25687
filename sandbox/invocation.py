"""Invocation scopes: which company a worker may touch while it serves a host call (2026.707.0).

The host mints ``paperclipInvocation {id, scope: {companyId}}`` on a host-to-worker message when
a company can be derived from it. The published SDK then tags every worker-to-host message
issued while serving it with ``paperclipInvocationId``. Looking that id up gives the
``CallContext`` of the worker's message; ``check_invocation_scope`` is the company gate the host
handlers apply after the capability check.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import InvocationScopeDenied


@dataclass(frozen=True, slots=True)
class InvocationScope:
    """The company the current invocation is authorized for."""

    company_id: str


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the host knows about the invocation behind one worker-to-host message.

    Exactly one of three cases: a known invocation (``invocation_scope`` set), an invalid one
    (``invalid_invocation_scope``: an unknown or expired id, or no id while an invocation is
    active, which fails closed), or none at all (both unset: setup, jobs, webhooks).
    """

    invocation_scope: InvocationScope | None = None
    invalid_invocation_scope: bool = False


def _non_empty(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def derive_invocation_scope(method: str, params: Any) -> InvocationScope | None:
    """The scope a host-to-worker message opens, or None when no company can be derived.

    Checked in upstream's order: ``params.companyId``; ``actorContext.companyId`` of
    ``performAction``; ``runContext.companyId`` of ``executeTool``; ``event.companyId`` of
    ``onEvent``.
    """
    if not isinstance(params, Mapping):
        return None
    company_id = _non_empty(params.get("companyId"))
    nested = {"performAction": "actorContext", "executeTool": "runContext", "onEvent": "event"}
    if company_id is None and method in nested:
        inner = params.get(nested[method])
        company_id = _non_empty(inner.get("companyId")) if isinstance(inner, Mapping) else None
    return InvocationScope(company_id) if company_id else None


class InvocationTable:
    """The host's active invocations for one worker connection.

    A request's invocation lives until the request settles; a notification's expires after
    ``notification_ttl`` seconds (upstream: the 15-minute maximum call timeout).
    """

    def __init__(self, *, notification_ttl: float) -> None:
        self.notification_ttl = notification_ttl
        self._active: dict[str, InvocationScope] = {}
        # Notification invocations in expiry order (one TTL for all: insertion order).
        self._expiries: deque[tuple[float, str]] = deque()

    def open(self, scope: InvocationScope, *, notification: bool = False) -> dict[str, Any]:
        """Register a new invocation; returns the ``paperclipInvocation`` envelope value."""
        invocation_id = str(uuid.uuid4())
        self._active[invocation_id] = scope
        if notification:
            self._expiries.append((time.monotonic() + self.notification_ttl, invocation_id))
        return {"id": invocation_id, "scope": {"companyId": scope.company_id}}

    def close(self, invocation_id: str) -> None:
        self._active.pop(invocation_id, None)

    def clear(self) -> None:
        self._active.clear()
        self._expiries.clear()

    def __len__(self) -> int:
        self._expire()
        return len(self._active)

    def context_for(self, invocation_id: Any) -> CallContext:
        """The context of a worker message carrying ``paperclipInvocationId`` (None if absent)."""
        self._expire()
        key = _non_empty(invocation_id)
        if key is None:
            return CallContext(invalid_invocation_scope=True) if self._active else CallContext()
        scope = self._active.get(key)
        if scope is None:
            return CallContext(invalid_invocation_scope=True)
        return CallContext(invocation_scope=scope)

    def _expire(self) -> None:
        now = time.monotonic()
        while self._expiries and self._expiries[0][0] <= now:
            self._active.pop(self._expiries.popleft()[1], None)


#: What a call names when it asks for every company (``companies.list``, a company state scope
#: without an id).
_ALL_COMPANIES = object()


def _requested_company(method: str, params: Any) -> str | object | None:
    """The company a worker call names: an id, ``_ALL_COMPANIES``, or None for none."""
    if method == "companies.list":
        return _ALL_COMPANIES
    if not isinstance(params, Mapping):
        return None
    company_id = _non_empty(params.get("companyId"))
    if company_id:
        return company_id
    if params.get("scopeKind") == "company":
        return _non_empty(params.get("scopeId")) or _ALL_COMPANIES
    if method == "events.subscribe" and isinstance(params.get("filter"), Mapping):
        return _non_empty(params["filter"].get("companyId"))
    return None


def check_invocation_scope(plugin_id: str, method: str, params: Any, context: CallContext) -> None:
    """Refuse a worker call that names a company outside its invocation (upstream's gate).

    Call it after the capability check. ``companies.list`` inside a scope is allowed; its
    results are to be filtered to ``context.invocation_scope.company_id`` by the caller.

    Args:
        plugin_id: the plugin record id, as upstream names it in the message.
        method: the worker-to-host method.
        params: the call's params.
        context: the call's ``CallContext``.

    Raises:
        InvocationScopeDenied: with upstream's message.
    """
    requested = _requested_company(method, params)
    if requested is None:
        return
    if context.invalid_invocation_scope:
        reason = "the worker referenced a missing, expired, or unknown invocation scope"
    elif context.invocation_scope is None:
        return
    else:
        allowed = context.invocation_scope.company_id
        if requested is _ALL_COMPANIES:
            if method == "companies.list":
                return
            reason = f'the current invocation is scoped to company "{allowed}"'
        elif requested != allowed:
            reason = (
                f'requested company "{requested}" but the current invocation is scoped to '
                f'company "{allowed}"'
            )
        else:
            return
    raise InvocationScopeDenied(
        f'Plugin "{plugin_id}" is not allowed to perform "{method}": {reason}'
    )
