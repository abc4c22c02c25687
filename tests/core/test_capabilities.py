"""The capability gate answers with upstream's message."""

from __future__ import annotations

import pytest

from core.capabilities import (
    METHOD_CAPABILITIES,
    PLUGIN_CAPABILITIES,
    require_capability,
    required_capability,
)
from core.errors import CapabilityDenied


def test_capability_list_matches_upstream_counts() -> None:
    assert len(PLUGIN_CAPABILITIES) == len(set(PLUGIN_CAPABILITIES)) == 79
    assert PLUGIN_CAPABILITIES[:3] == ("companies.read", "projects.read", "project.workspaces.read")
    assert set(METHOD_CAPABILITIES.values()) <= set(PLUGIN_CAPABILITIES)


def test_the_2026_916_1_capabilities_sit_where_upstream_lists_them() -> None:
    """zod's enum message lists the capabilities in this order, so the order is part of it."""
    assert PLUGIN_CAPABILITIES[7:12] == (
        "issue.comments.read",
        "issue.interactions.read",
        "issue.attachments.read",
        "approvals.read",
        "issue.documents.read",
    )
    assert PLUGIN_CAPABILITIES[30:36] == (
        "issue.comments.create",
        "issue.comments.create_human_attributed",
        "issue.interactions.create",
        "issue.interactions.respond",
        "approvals.respond",
        "issue.documents.write",
    )


@pytest.mark.parametrize(
    ("method", "capability"),
    [
        ("issues.listInteractions", "issue.interactions.read"),
        ("issues.respondInteraction", "issue.interactions.respond"),
        ("issues.listAttachments", "issue.attachments.read"),
        ("issues.getAttachmentContent", "issue.attachments.read"),
        ("approvals.list", "approvals.read"),
        ("approvals.get", "approvals.read"),
        ("approvals.decide", "approvals.respond"),
        ("span.record", "environment.drivers.register"),
    ],
)
def test_the_methods_added_by_2026_916_1_are_gated(method: str, capability: str) -> None:
    assert required_capability(method) == capability
    with pytest.raises(CapabilityDenied) as raised:
        require_capability("p", "acme.p", ["issues.read"], method)
    assert raised.value.message == (
        f'Plugin "p" is missing required capability "{capability}" for method "{method}" '
        "(plugin acme.p)"
    )
    require_capability("p", "acme.p", [capability], method)


def test_denial_names_plugin_record_capability_method_and_key() -> None:
    with pytest.raises(CapabilityDenied) as raised:
        require_capability(
            "11111111-1111-4111-8111-111111111111", "acme.tracker", ["issues.read"], "db.execute"
        )
    assert str(raised.value) == (
        'Plugin "11111111-1111-4111-8111-111111111111" is missing required capability '
        '"database.namespace.write" for method "db.execute" (plugin acme.tracker)'
    )
    assert raised.value.rpc_code == -32001
    assert raised.value.status == 403


@pytest.mark.parametrize("method", ["config.get", "log", "entities.upsert", "entities.list"])
def test_ungated_methods_need_nothing(method: str) -> None:
    assert required_capability(method) is None
    require_capability("p", "acme.p", [], method)
