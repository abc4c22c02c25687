"""The in-process event bus (no database)."""

from __future__ import annotations

import logging

import pytest

from core.errors import InvalidInput
from core.event_bus import EventBus, PluginEvent, filter_matches, pattern_matches


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("issue.created", "issue.created", True),
        ("issue.created", "issue.updated", False),
        ("issue.*", "issue.comment.created", True),
        ("issue.*", "issues.created", False),
        ("plugin.*", "plugin.acme.sync-done", True),
        ("plugin.acme.*", "plugin.acme", False),
    ],
)
def test_pattern_matching(pattern: str, event_type: str, expected: bool) -> None:
    assert pattern_matches(pattern, event_type) is expected


def test_filters_use_entity_ids_for_their_own_entity_type() -> None:
    agent_event = PluginEvent("agent.updated", "c1", entity_type="agent", entity_id="a1")
    issue_event = PluginEvent(
        "issue.created",
        "c1",
        entity_type="issue",
        entity_id="i1",
        payload={"agentId": "a2", "projectId": "p1"},
    )
    assert filter_matches(agent_event, {"agentId": "a1", "companyId": "c1"})
    assert not filter_matches(agent_event, {"companyId": "c2"})
    assert filter_matches(issue_event, {"agentId": "a2", "projectId": "p1"})
    assert not filter_matches(issue_event, {"agentId": "a1"})


async def test_failing_handlers_are_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    received: list[str] = []

    async def broken(event: PluginEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe("issue.*", broken)
    bus.subscribe("issue.*", lambda event: received.append(event.event_type))
    with caplog.at_level(logging.ERROR):
        bus.publish(PluginEvent("issue.created", "c1"))
        await bus.drain()
    assert received == ["issue.created"]
    assert "event handler failed" in caplog.text


async def test_unsubscribe_by_owner() -> None:
    bus = EventBus()
    received: list[str] = []
    bus.subscribe("*.x", received.append, owner="plugin-a")
    bus.subscribe("issue.created", lambda e: received.append("a"), owner="plugin-a")
    bus.subscribe("issue.created", lambda e: received.append("b"), owner="plugin-b")
    bus.unsubscribe_owner("plugin-a")
    bus.publish(PluginEvent("issue.created", "c1"))
    await bus.drain()
    assert received == ["b"]


async def test_plugin_events_are_namespaced_with_upstream_errors() -> None:
    bus = EventBus()
    received: list[PluginEvent] = []
    bus.subscribe("plugin.acme.*", received.append)
    emitter = bus.for_plugin("acme")
    assert emitter.emit("sync-done", company_id="c1", payload={"n": 1}) == "plugin.acme.sync-done"
    await bus.drain()
    assert [(e.event_type, e.actor_type, e.actor_id) for e in received] == [
        ("plugin.acme.sync-done", "plugin", "acme")
    ]
    for name, company, message in [
        ("", "c1", 'Plugin "acme" must provide a non-empty event name.'),
        ("x", "", 'Plugin "acme" must provide a companyId when emitting events.'),
        ("plugin.x", "c1", 'must not include the "plugin." prefix'),
    ]:
        with pytest.raises(InvalidInput, match=message.replace(".", r"\.")):
            emitter.emit(name, company_id=company)
