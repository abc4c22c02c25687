"""Event pattern and filter matching (sandbox/sdk/_events.py)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.sdk import EventFilter, PluginEvent
from sandbox.sdk._events import filter_allows, pattern_matches


@pytest.mark.parametrize(
    ("pattern", "event_type", "matches"),
    [
        ("issue.created", "issue.created", True),
        ("issue.created", "issue.updated", False),
        ("issue.*", "issue.comment.created", True),
        ("issue.*", "issues.created", False),
        ("plugin.*", "plugin.acme.synced", True),
        ("issue*", "issue.created", False),
        ("*", "issue.created", False),
    ],
)
def test_pattern_matches(pattern: str, event_type: str, matches: bool) -> None:
    assert pattern_matches(pattern, event_type) is matches


def event(**fields: Any) -> PluginEvent:
    base = {"eventId": "e", "eventType": "x", "occurredAt": "2026-07-07T10:00:00Z"}
    return PluginEvent.model_validate(base | fields)


@pytest.mark.parametrize(
    ("event_filter", "the_event", "allowed"),
    [
        pytest.param(EventFilter(), event(), True, id="empty-filter"),
        pytest.param(EventFilter(company_id="c1"), event(companyId="c1"), True, id="company"),
        pytest.param(EventFilter(company_id="c1"), event(companyId="c2"), False, id="other"),
        pytest.param(
            EventFilter(company_id="c1"),
            event(payload={"companyId": "c1"}),
            True,
            id="company-from-payload",
        ),
        pytest.param(
            EventFilter(project_id="p1"),
            event(entityType="project", entityId="p1", payload={"projectId": "p2"}),
            True,
            id="project-entity",
        ),
        pytest.param(
            EventFilter(project_id="p1"),
            event(entityType="issue", entityId="p1", payload={"projectId": "p2"}),
            False,
            id="project-payload",
        ),
        pytest.param(
            EventFilter(agent_id="a1"), event(payload={"agentId": "a1"}), True, id="agent-payload"
        ),
        pytest.param(
            EventFilter(company_id="c1", agent_id="a1"),
            event(companyId="c1", entityType="agent", entityId="a2"),
            False,
            id="all-fields-must-match",
        ),
    ],
)
def test_filter_allows(event_filter: EventFilter, the_event: PluginEvent, allowed: bool) -> None:
    assert filter_allows(event_filter, the_event) is allowed


def test_a_filter_is_sent_without_unset_fields() -> None:
    assert EventFilter(company_id="c1").to_wire() == {"companyId": "c1"}
