"""The in-process event bus: domain events for plugins, live events for viewers.

Two kinds of events travel on it, both small frozen dataclasses:

- ``PluginEvent``: a domain event (``issue.created``, ``plugin.<key>.<name>``, ...) delivered to
  subscribed plugins, matched by type pattern and an optional filter;
- ``LiveEvent``: what a live viewer (the TUI) follows: every activity row and every queued run.

Delivery never blocks or fails the publisher: handlers run as tasks, and a handler's exception
is logged, as upstream does (fire-and-forget). ``drain()`` waits for deliveries in flight.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import InvalidInput
from core.records import Record

logger = logging.getLogger(__name__)

PluginEventHandler = Callable[["PluginEvent"], Awaitable[None] | None]
LiveEventHandler = Callable[["LiveEvent"], Awaitable[None] | None]

#: The filter keys a subscription may use (ANDed).
SUBSCRIPTION_FILTER_KEYS = ("projectId", "companyId", "agentId")


@dataclass(frozen=True)
class PluginEvent:
    """A domain event as plugins receive it (``onEvent {event}``)."""

    event_type: str
    company_id: str
    actor_type: str | None = None
    actor_id: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent to workers."""
        return {
            "eventId": self.event_id,
            "eventType": self.event_type,
            "occurredAt": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "actorId": self.actor_id,
            "actorType": self.actor_type,
            "entityId": self.entity_id,
            "entityType": self.entity_type,
            "companyId": self.company_id,
            "payload": dict(self.payload),
        }


@dataclass(frozen=True)
class LiveEvent:
    """Something a live viewer shows: ``activity.logged`` or ``heartbeat.run.queued``."""

    kind: str
    company_id: str
    #: What happened: a record (an activity row) or a plain JSON object.
    subject: Record | Mapping[str, Any]
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def payload(self) -> Mapping[str, Any]:
        """The subject as JSON (built on demand: most events have no live viewer)."""
        return self.subject.to_wire() if isinstance(self.subject, Record) else self.subject


def pattern_matches(pattern: str, event_type: str) -> bool:
    """Exact match, or a ``.*`` pattern matching every type that starts with its prefix."""
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def filter_matches(event: PluginEvent, event_filter: Mapping[str, Any] | None) -> bool:
    """Whether every key of the filter agrees with the event.

    ``companyId`` compares with the event's company; ``projectId``/``agentId`` compare with the
    entity id for project/agent events and with the payload field otherwise.
    """
    for key, wanted in (event_filter or {}).items():
        if key not in SUBSCRIPTION_FILTER_KEYS or wanted is None:
            continue
        if key == "companyId":
            actual: Any = event.company_id
        elif event.entity_type == key.removesuffix("Id"):
            actual = event.entity_id
        else:
            actual = event.payload.get(key)
        if actual != wanted:
            return False
    return True


@dataclass
class _Subscription:
    pattern: str
    handler: PluginEventHandler
    event_filter: Mapping[str, Any] | None
    owner: str | None


class EventBus:
    """Publish once, deliver to every matching subscriber without blocking the publisher."""

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._live: list[LiveEventHandler] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(
        self,
        pattern: str,
        handler: PluginEventHandler,
        *,
        event_filter: Mapping[str, Any] | None = None,
        owner: str | None = None,
    ) -> Callable[[], None]:
        """Deliver plugin events matching ``pattern`` (and the filter); returns an unsubscriber."""
        subscription = _Subscription(pattern, handler, event_filter, owner)
        self._subscriptions.append(subscription)
        return lambda: self._subscriptions.remove(subscription)

    def subscription_count(self, owner: str) -> int:
        """How many subscriptions one owner (a plugin) has."""
        return sum(1 for subscription in self._subscriptions if subscription.owner == owner)

    def unsubscribe_owner(self, owner: str) -> None:
        """Drop every subscription of one owner (a plugin whose worker stopped or restarted)."""
        self._subscriptions = [s for s in self._subscriptions if s.owner != owner]

    def listen(self, handler: LiveEventHandler) -> Callable[[], None]:
        """Receive every live event; returns an unsubscriber."""
        self._live.append(handler)
        return lambda: self._live.remove(handler)

    def publish(self, event: PluginEvent | LiveEvent) -> None:
        """Hand the event to its subscribers; returns at once."""
        if isinstance(event, LiveEvent):
            for handler in list(self._live):
                self._deliver(handler, event)
            return
        for subscription in list(self._subscriptions):
            if pattern_matches(subscription.pattern, event.event_type) and filter_matches(
                event, subscription.event_filter
            ):
                self._deliver(subscription.handler, event)

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def for_plugin(self, plugin_key: str) -> PluginEventEmitter:
        """The emitter a plugin uses for its own ``plugin.<key>.<name>`` events."""
        return PluginEventEmitter(self, plugin_key)

    def _deliver(self, handler: Callable[[Any], Any], event: PluginEvent | LiveEvent) -> None:
        try:
            result = handler(event)
        except Exception:
            logger.exception("event handler failed for %r", event)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("event handler failed", exc_info=task.exception())


class PluginEventEmitter:
    """Emits a plugin's own events, namespaced ``plugin.<pluginKey>.<name>`` as upstream."""

    def __init__(self, bus: EventBus, plugin_key: str) -> None:
        self._bus = bus
        self._plugin_key = plugin_key

    def emit(self, name: str, *, company_id: str, payload: Mapping[str, Any] | None = None) -> str:
        """Publish ``plugin.<key>.<name>``; returns the full event type."""
        key = self._plugin_key
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f'Plugin "{key}" must provide a non-empty event name.')
        if not company_id:
            raise InvalidInput(f'Plugin "{key}" must provide a companyId when emitting events.')
        if name.startswith("plugin."):
            raise InvalidInput(
                f'Plugin "{key}" must not include the "plugin." prefix when emitting events. '
                'Emit the bare event name (e.g. "sync-done") and the bus will namespace it '
                "automatically."
            )
        event_type = f"plugin.{key}.{name}"
        self._bus.publish(
            PluginEvent(
                event_type=event_type,
                company_id=str(company_id),
                actor_type="plugin",
                actor_id=key,
                payload=dict(payload or {}),
            )
        )
        return event_type
