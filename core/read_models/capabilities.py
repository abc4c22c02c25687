"""A plugin's capabilities as declared against as used: what no Paperclip tool shows.

Every declared capability gets a verdict:

- ``used``: a worker-to-host call it gates was allowed;
- ``unused``: it gates calls, none were made (an over-privileged manifest, as far as the
  plugin has run); for capabilities that gate a manifest section instead (``jobs.schedule``
  and ``jobs``, ``api.routes.register`` and ``apiRoutes``, ...), the section is missing;
- ``declaration``: it gates neither a call nor a section the host can check (UI slots, ...).

A capability the plugin called without declaring it is listed with the verdict ``refused``,
and every method with refused calls (capability, unknown method, or a company outside the
invocation) is listed as probing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from core.capabilities import METHOD_CAPABILITIES
from core.ids import as_uuid
from core.plugin_registry import require_plugin
from db import Database, tables

Verdict = Literal["used", "unused", "declaration", "refused"]

#: Capabilities that gate a manifest section rather than calls: the section's key.
SECTION_CAPABILITIES: dict[str, str] = {
    "jobs.schedule": "jobs",
    "api.routes.register": "apiRoutes",
    "agent.tools.register": "tools",
    "webhooks.receive": "webhooks",
    "database.namespace.migrate": "database",
}

#: The worker-to-host methods each capability gates.
GATED_METHODS: dict[str, tuple[str, ...]] = {}
for _method, _capability in sorted(METHOD_CAPABILITIES.items()):
    GATED_METHODS[_capability] = (*GATED_METHODS.get(_capability, ()), _method)


@dataclass(frozen=True)
class MethodUse:
    """The calls of one method by the plugin."""

    method: str
    capability: str | None
    allowed: int
    denied: int
    out_of_scope: int
    last_allowed_at: datetime | None
    last_denied_at: datetime | None
    last_denial: str | None

    @property
    def refused(self) -> int:
        return self.denied + self.out_of_scope


@dataclass(frozen=True)
class CapabilityUse:
    """One capability: declared or not, the calls it gates, and the verdict."""

    capability: str
    declared: bool
    verdict: Verdict
    methods: tuple[str, ...]
    allowed: int
    refused: int
    last_used_at: datetime | None


@dataclass(frozen=True)
class CapabilityReport:
    """A plugin's capabilities against its calls."""

    plugin_id: str
    plugin_key: str
    capabilities: list[CapabilityUse]
    methods: list[MethodUse]

    @property
    def unused(self) -> list[str]:
        """Declared capabilities never used: the manifest asks for more than the plugin does."""
        return [use.capability for use in self.capabilities if use.verdict == "unused"]

    @property
    def probing(self) -> list[MethodUse]:
        """Methods the host refused at least once."""
        return [use for use in self.methods if use.refused]


async def capability_report(db: Database, plugin_ref: str) -> CapabilityReport:
    """The report of the plugin with this id or key.

    Raises:
        NotFound: ``Plugin not found``.
    """
    plugin = await require_plugin(db, plugin_ref)
    usage = tables.plugin_capability_usage
    query = sa.select(usage).where(usage.c.plugin_id == as_uuid(plugin.id)).order_by(usage.c.method)
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    methods = [
        MethodUse(
            method=row["method"],
            capability=row["capability"],
            allowed=row["allowed_count"],
            denied=row["denied_count"],
            out_of_scope=row["out_of_scope_count"],
            last_allowed_at=row["last_allowed_at"],
            last_denied_at=row["last_denied_at"],
            last_denial=row["last_denial"],
        )
        for row in rows
    ]
    declared = [str(c) for c in plugin.manifest_json.get("capabilities") or ()]
    return CapabilityReport(
        plugin.id,
        plugin.plugin_key,
        _capabilities(declared, plugin.manifest_json, methods),
        methods,
    )


def _capabilities(
    declared: list[str], manifest: dict[str, Any], methods: list[MethodUse]
) -> list[CapabilityUse]:
    by_capability: dict[str, list[MethodUse]] = defaultdict(list)
    for use in methods:
        if use.capability is not None:
            by_capability[use.capability].append(use)
    found = []
    for capability in [*declared, *sorted(set(by_capability) - set(declared))]:
        calls = by_capability.get(capability, [])
        allowed = sum(use.allowed for use in calls)
        times = [use.last_allowed_at for use in calls if use.last_allowed_at is not None]
        found.append(
            CapabilityUse(
                capability=capability,
                declared=capability in declared,
                verdict=_verdict(capability, capability in declared, allowed, manifest),
                methods=GATED_METHODS.get(capability, ()),
                allowed=allowed,
                refused=sum(use.refused for use in calls),
                last_used_at=max(times) if times else None,
            )
        )
    return found


def _verdict(capability: str, declared: bool, allowed: int, manifest: dict[str, Any]) -> Verdict:
    if not declared:
        return "refused"
    if capability in SECTION_CAPABILITIES:
        return "used" if manifest.get(SECTION_CAPABILITIES[capability]) else "unused"
    if capability not in GATED_METHODS:
        return "declaration"
    return "used" if allowed else "unused"
