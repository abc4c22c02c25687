"""Invocation scopes (core/invocation_scope.py and sandbox/invocation.py)."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import InvocationScopeDenied
from core.invocation_scope import CallContext, InvocationScope, check_invocation_scope
from sandbox.invocation import InvocationTable, derive_invocation_scope
from tests.fixtures.protocol import wait_until


class TestDeriveInvocationScope:
    @pytest.mark.parametrize(
        ("method", "params", "company"),
        [
            pytest.param("getData", {"companyId": " c1 "}, "c1", id="top-level"),
            pytest.param(
                "performAction",
                {"companyId": "c1", "actorContext": {"companyId": "c2"}},
                "c1",
                id="top-level-first",
            ),
            pytest.param("performAction", {"actorContext": {"companyId": "c2"}}, "c2", id="actor"),
            pytest.param("executeTool", {"runContext": {"companyId": "c3"}}, "c3", id="tool"),
            pytest.param("onEvent", {"event": {"companyId": "c4"}}, "c4", id="event"),
            pytest.param("getData", {"actorContext": {"companyId": "c2"}}, None, id="wrong-method"),
            pytest.param("getData", {"companyId": "  "}, None, id="blank"),
            pytest.param("getData", {"companyId": 7}, None, id="not-a-string"),
            pytest.param("health", {}, None, id="none"),
            pytest.param("onEvent", {"event": "x"}, None, id="malformed"),
        ],
    )
    def test_upstream_order(self, method: str, params: Any, company: str | None) -> None:
        expected = InvocationScope(company) if company else None
        assert derive_invocation_scope(method, params) == expected


class TestInvocationTable:
    def test_known_unknown_and_missing_ids(self) -> None:
        table = InvocationTable(notification_ttl=60)
        assert table.context_for(None) == CallContext()
        invocation = table.open(InvocationScope("c1"))
        assert invocation["scope"] == {"companyId": "c1"}
        assert table.context_for(invocation["id"]) == CallContext(
            invocation_scope=InvocationScope("c1")
        )
        assert table.context_for(f" {invocation['id']} ").invocation_scope == InvocationScope("c1")
        invalid = CallContext(invalid_invocation_scope=True)
        assert table.context_for("inv-unknown") == invalid
        assert table.context_for(None) == invalid  # fail closed while an invocation is active
        assert table.context_for("") == invalid
        table.close(invocation["id"])
        assert table.context_for(None) == CallContext()
        assert table.context_for(invocation["id"]) == invalid

    async def test_notification_invocations_expire(self) -> None:
        table = InvocationTable(notification_ttl=0.05)
        invocation = table.open(InvocationScope("c1"), notification=True)
        assert len(table) == 1
        await wait_until(lambda: len(table) == 0)
        assert table.context_for(invocation["id"]).invalid_invocation_scope


SCOPED = CallContext(invocation_scope=InvocationScope("c1"))
INVALID = CallContext(invalid_invocation_scope=True)
PREFIX = 'Plugin "p1" is not allowed to perform'


class TestCheckInvocationScope:
    @pytest.mark.parametrize(
        ("method", "params", "context"),
        [
            pytest.param("issues.get", {"companyId": "c1"}, SCOPED, id="same-company"),
            pytest.param("issues.get", {"companyId": "c2"}, CallContext(), id="no-scope"),
            pytest.param("config.get", {}, INVALID, id="no-company-named"),
            pytest.param("companies.list", {}, SCOPED, id="list-filtered-later"),
            pytest.param(
                "state.get", {"scopeKind": "company", "scopeId": "c1"}, SCOPED, id="state"
            ),
            pytest.param("events.subscribe", {"filter": {"companyId": "c1"}}, SCOPED, id="filter"),
            pytest.param("state.get", {"scopeKind": "instance"}, SCOPED, id="instance-state"),
        ],
    )
    def test_allowed(self, method: str, params: Any, context: CallContext) -> None:
        check_invocation_scope("p1", "acme.p1", method, params, context)

    @pytest.mark.parametrize(
        ("method", "params", "context", "reason"),
        [
            pytest.param(
                "issues.get",
                {"companyId": "c2"},
                SCOPED,
                'requested company "c2" but the current invocation is scoped to company "c1"',
                id="other-company",
            ),
            pytest.param(
                "issues.get",
                {"companyId": "c1"},
                INVALID,
                "the worker referenced a missing, expired, or unknown invocation scope",
                id="invalid-scope",
            ),
            pytest.param(
                "companies.list",
                {},
                INVALID,
                "the worker referenced a missing, expired, or unknown invocation scope",
                id="list-invalid",
            ),
            pytest.param(
                "state.get",
                {"scopeKind": "company"},
                SCOPED,
                'the current invocation is scoped to company "c1"',
                id="all-companies",
            ),
            pytest.param(
                "state.set",
                {"scopeKind": "company", "scopeId": "c9"},
                SCOPED,
                'requested company "c9" but the current invocation is scoped to company "c1"',
                id="company-state",
            ),
            pytest.param(
                "events.subscribe",
                {"eventPattern": "x", "filter": {"companyId": "c2"}},
                SCOPED,
                'requested company "c2" but the current invocation is scoped to company "c1"',
                id="subscribe-filter",
            ),
        ],
    )
    def test_denied(self, method: str, params: Any, context: CallContext, reason: str) -> None:
        with pytest.raises(InvocationScopeDenied) as raised:
            check_invocation_scope("p1", "acme.p1", method, params, context)
        assert raised.value.message == f'{PREFIX} "{method}": {reason} (plugin acme.p1)'
        assert raised.value.rpc_code == -32005
