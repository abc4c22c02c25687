"""The host's bookkeeping of invocation scopes for one worker connection (2026.707.0).

``derive_invocation_scope`` decides which host-to-worker messages open an invocation, and
``InvocationTable`` remembers the open ones, so the ``paperclipInvocationId`` a worker sends back
turns into the ``CallContext`` that ``core.invocation_scope.check_invocation_scope`` judges.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any

from core.invocation_scope import CallContext, InvocationScope, non_empty


def derive_invocation_scope(method: str, params: Any) -> InvocationScope | None:
    """The scope a host-to-worker message opens, or None when no company can be derived.

    Checked in upstream's order: ``params.companyId``; ``actorContext.companyId`` of
    ``performAction``; ``runContext.companyId`` of ``executeTool``; ``event.companyId`` of
    ``onEvent``.
    """
    if not isinstance(params, Mapping):
        return None
    company_id = non_empty(params.get("companyId"))
    nested = {"performAction": "actorContext", "executeTool": "runContext", "onEvent": "event"}
    if company_id is None and method in nested:
        inner = params.get(nested[method])
        company_id = non_empty(inner.get("companyId")) if isinstance(inner, Mapping) else None
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
        key = non_empty(invocation_id)
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
