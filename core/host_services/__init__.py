"""Paperclip's plugin host services, bound to one plugin: ``build_host_services``.

One module per concept: ``issues`` (with checkout and subtrees), ``relations``, ``documents``,
``summaries``, ``wakeups``, ``comments`` and ``activity``; ``params`` holds each call's params
model and ``binding`` the steps every call shares.

Every call names a company and only ever sees that company's records (others behave exactly as
if they did not exist). Every mutation runs in ONE transaction together with its plugin-attributed
activity row (upstream writes the audit row afterwards), and publishes its events only after the
commit. Beyond upstream:

- the actor a plugin names (agent, user, run) is checked before anything is written: the agent
  and run must belong to the company, and the run to the agent;
- params are typed and enum values validated; issue identifiers are resolved once;
- relation edits, checkout adoption and wakeups run under the issue's row lock;
- a wakeup's idempotency key returns the earlier outcome; a batch wakeup is all or nothing;
- document upserts of an existing key write a new revision.
"""

from __future__ import annotations

from core.event_bus import EventBus
from core.host_services.activity import ActivityServices
from core.host_services.binding import Binding, PluginIdentity
from core.host_services.issues import IssueServices
from db import Database


class HostServices:
    """The host services of one plugin, grouped as upstream groups them (``ctx.issues``...)."""

    def __init__(self, binding: Binding) -> None:
        self.identity = binding.identity
        self.issues = IssueServices(binding)
        self.activity = ActivityServices(binding)


def build_host_services(
    db: Database, plugin_id: str, plugin_key: str, event_bus: EventBus | None = None
) -> HostServices:
    """Bind the host services to a plugin (its record id and its key), like upstream's
    ``buildHostServices``. Without an event bus, nothing is published."""
    return HostServices(Binding(db, PluginIdentity(str(plugin_id), plugin_key), event_bus))


__all__ = ["HostServices", "PluginIdentity", "build_host_services"]
