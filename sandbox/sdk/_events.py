"""``ctx.events``: local handlers matched by pattern, plus the host subscriptions behind them."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.sdk._host import HostChannel
from sandbox.sdk._plugin import MaybeAwaitable, maybe_await
from sandbox.sdk._types import EventFilter, PluginEvent

EventHandler = Callable[[PluginEvent], MaybeAwaitable[None]]


@dataclass(eq=False, slots=True)
class EventRegistration:
    pattern: str
    handler: EventHandler
    filter: EventFilter | None


def pattern_matches(pattern: str, event_type: str) -> bool:
    """Exact, or a ``prefix.*`` pattern matching every type that starts with ``prefix.``."""
    if pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def filter_allows(event_filter: EventFilter, event: PluginEvent) -> bool:
    """Upstream's worker-side filter: the set fields are ANDed.

    The company falls back to ``payload.companyId`` when the event has none; the project and
    agent are the event's entity for project and agent events, else the payload's field.
    """
    payload = event.payload if isinstance(event.payload, dict) else {}
    company_id = event.company_id
    if company_id is None:
        company_id = _text(payload.get("companyId"))
    project_id = (
        event.entity_id if event.entity_type == "project" else _text(payload.get("projectId"))
    )
    agent_id = event.entity_id if event.entity_type == "agent" else _text(payload.get("agentId"))
    wanted = (
        (event_filter.company_id, company_id),
        (event_filter.project_id, project_id),
        (event_filter.agent_id, agent_id),
    )
    return all(expected is None or expected == actual for expected, actual in wanted)


class EventsClient:
    """``ctx.events``."""

    def __init__(self, host: HostChannel, registrations: list[EventRegistration]) -> None:
        self._host = host
        self._registrations = registrations

    def on(
        self, name: str, handler: EventHandler, *, filter: EventFilter | None = None
    ) -> Callable[[], None]:
        """Handle events whose type matches ``name`` (exact, or ``prefix.*``).

        The host subscription is requested in the background; if the host refuses it, a
        warning is logged and the plugin keeps running. The returned function removes the
        local handler (the host subscription stays, as upstream).
        """
        registration = EventRegistration(name, handler, filter)
        self._registrations.append(registration)
        self._host.spawn(self._subscribe(name, filter))

        def unsubscribe() -> None:
            if registration in self._registrations:
                self._registrations.remove(registration)

        return unsubscribe

    async def emit(self, name: str, company_id: str, payload: Any) -> None:
        """Publish ``plugin.<pluginKey>.<name>`` for a company."""
        await self._host.call(
            "events.emit", {"name": name, "companyId": company_id, "payload": payload}
        )

    async def _subscribe(self, name: str, event_filter: EventFilter | None) -> None:
        params = {"eventPattern": name, "filter": event_filter.to_wire() if event_filter else None}
        try:
            await self._host.call("events.subscribe", params)
        except Exception as error:
            self._host.notify(
                "log",
                {
                    "level": "warn",
                    "message": f'Failed to subscribe to event "{name}" on host: {error}',
                },
            )


async def deliver_event(
    host: HostChannel, registrations: list[EventRegistration], event: PluginEvent
) -> None:
    """Run every matching handler in registration order; a failing one is logged, not fatal."""
    for registration in list(registrations):
        if not pattern_matches(registration.pattern, event.event_type):
            continue
        if registration.filter is not None and not filter_allows(registration.filter, event):
            continue
        try:
            await maybe_await(registration.handler(event))
        except Exception as error:
            host.notify(
                "log",
                {
                    "level": "error",
                    "message": f'Event handler for "{registration.pattern}" failed: {error}',
                    "meta": {"eventType": event.event_type, "stack": traceback.format_exc()},
                },
            )
