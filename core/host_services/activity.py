"""``ctx.activity.log``: free-form plugin activity rows."""

from __future__ import annotations

from core.activity import Actor, plugin_attribution, record_activity
from core.errors import InvalidInput
from core.host_services.binding import Binding
from core.host_services.params import LogActivity


class ActivityServices:
    """``ctx.activity``."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    async def log(self, params: LogActivity) -> None:
        """Write a free-form plugin activity row.

        ``message`` becomes the action. Unlike upstream it never announces a domain event, even
        when it names one (``issue.created``): plugins cannot forge host events.
        """
        if not params.message.strip():
            raise InvalidInput("activity message must be a non-empty string")
        identity = self._binding.identity
        async with self._binding.writing() as unit:
            await record_activity(
                unit,
                company_id=params.company_id,
                actor_type="plugin",
                actor_id=identity.plugin_id,
                action=params.message,
                entity_type=params.entity_type or "plugin",
                entity_id=params.entity_id or identity.plugin_id,
                details={
                    **(params.metadata or {}),
                    **plugin_attribution(identity.plugin_id, identity.plugin_key, Actor()),
                },
                emit_domain_event=False,
            )
