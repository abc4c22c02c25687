"""Invocation scopes: which company a worker may touch while it serves a host call (2026.707.0).

The host mints ``paperclipInvocation {id, scope: {companyId}}`` on a host-to-worker message when
a company can be derived from it, and the published SDK tags every worker-to-host message issued
while serving it with ``paperclipInvocationId``. The runtime (``sandbox.invocation``) turns that
id into a ``CallContext``; ``check_invocation_scope`` is the company gate the worker bridge
applies after the capability check.
"""

from __future__ import annotations

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


def non_empty(value: Any) -> str | None:
    """A string with content, stripped; None for anything else."""
    return value.strip() if isinstance(value, str) and value.strip() else None


#: What a call names when it asks for every company (``companies.list``, a company state scope
#: without an id).
_ALL_COMPANIES = object()


def _requested_company(method: str, params: Any) -> str | object | None:
    """The company a worker call names: an id, ``_ALL_COMPANIES``, or None for none."""
    if method == "companies.list":
        return _ALL_COMPANIES
    if not isinstance(params, Mapping):
        return None
    company_id = non_empty(params.get("companyId"))
    if company_id:
        return company_id
    if params.get("scopeKind") == "company":
        return non_empty(params.get("scopeId")) or _ALL_COMPANIES
    if method == "events.subscribe" and isinstance(params.get("filter"), Mapping):
        return non_empty(params["filter"].get("companyId"))
    return None


def check_invocation_scope(
    plugin_id: str, plugin_key: str, method: str, params: Any, context: CallContext
) -> None:
    """Refuse a worker call that names a company outside its invocation (upstream's gate).

    Call it after the capability check. ``companies.list`` inside a scope is allowed; its
    results are to be filtered to ``context.invocation_scope.company_id`` by the caller.

    Args:
        plugin_id: the plugin record id, as upstream names it in the message.
        plugin_key: the plugin's key, appended to upstream's message.
        method: the worker-to-host method.
        params: the call's params.
        context: the call's ``CallContext``.

    Raises:
        InvocationScopeDenied: with upstream's message, then ``(plugin <key>)``.
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
        f'Plugin "{plugin_id}" is not allowed to perform "{method}": {reason} (plugin {plugin_key})'
    )
