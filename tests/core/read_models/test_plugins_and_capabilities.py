"""The plugin overview, log tail and capability report (core/read_models/plugins.py and
capabilities.py), with calls counted by the worker bridge as a worker makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.capability_usage import UsageCounter
from core.errors import CapabilityDenied, InvocationScopeDenied
from core.event_bus import EventBus
from core.host_services import build_host_services
from core.host_services.params import CreateIssue
from core.invocation_scope import CallContext, InvocationScope
from core.plugin_database import PluginDatabase
from core.plugin_logs import LogBuffer, LogLine, write_lines
from core.plugin_registry import register_plugin
from core.read_models.capabilities import capability_report
from core.read_models.plugins import ACTIVITY_MINUTES, log_tail, plugin_overviews
from core.worker_bridge import (
    MAX_UNKNOWN_METHODS,
    OTHER_UNKNOWN_METHODS,
    HostMethodNotFound,
    PluginRef,
    WorkerBridge,
)
from db import tables
from tests.fixtures.orchestration import World, make_world
from tests.fixtures.plugin_database import manifest

KEY = "paperclip.reviewed"
CAPABILITIES = (
    "issues.read",
    "issues.create",
    "activity.log.write",
    "jobs.schedule",
    "ui.page.register",
    "plugin.state.read",
)


async def _plugin(world: World, **manifest_fields: Any) -> tuple[str, WorkerBridge, UsageCounter]:
    raw = manifest(KEY, capabilities=CAPABILITIES) | manifest_fields
    record = await register_plugin(world.db, raw, package_name=KEY, package_path="/p")
    usage = UsageCounter(world.db, flush_interval=3600)
    bridge = WorkerBridge(
        db=world.db,
        bus=EventBus(),
        plugin=PluginRef(record.id, KEY, frozenset(raw["capabilities"])),
        plugin_db=PluginDatabase(world.db),
        database=None,
        logs=LogBuffer(world.db, flush_interval=3600),
        usage=usage,
        subscribe=lambda pattern, event_filter: None,
    )
    return record.id, bridge, usage


async def test_declared_against_used(world: World) -> None:
    plugin_id, bridge, usage = await _plugin(world)
    other = await make_world(world.db, name="Other")
    scoped = CallContext(invocation_scope=InvocationScope(world.company_id))
    await bridge.handle("issues.create", {"companyId": world.company_id, "title": "A"}, scoped)
    await bridge.handle("issues.list", {"companyId": world.company_id}, scoped)
    with pytest.raises(InvocationScopeDenied):
        await bridge.handle("issues.list", {"companyId": other.company_id}, scoped)
    with pytest.raises(CapabilityDenied):
        await bridge.handle("issues.update", {"companyId": world.company_id}, scoped)
    with pytest.raises(HostMethodNotFound):
        await bridge.handle("secrets.steal", {}, CallContext())
    await usage.flush()
    # Counts add up across flushes (one upsert per method).
    await bridge.handle("issues.list", {"companyId": world.company_id}, scoped)
    await usage.flush()

    report = await capability_report(world.db, KEY)

    verdicts = {use.capability: use.verdict for use in report.capabilities}
    assert verdicts == {
        "issues.read": "used",
        "issues.create": "used",
        "activity.log.write": "unused",
        "jobs.schedule": "unused",  # gates the manifest's jobs, which it has none of
        "ui.page.register": "declaration",
        "plugin.state.read": "unused",
        "issues.update": "refused",
    }
    assert report.unused == ["activity.log.write", "jobs.schedule", "plugin.state.read"]
    methods = {use.method: use for use in report.methods}
    assert (methods["issues.list"].allowed, methods["issues.list"].out_of_scope) == (2, 1)
    assert methods["issues.update"].denied == 1
    assert methods["issues.update"].last_denial == (
        f'Plugin "{plugin_id}" is missing required capability "issues.update" '
        f'for method "issues.update" (plugin {KEY})'
    )
    assert methods["secrets.steal"].capability is None
    assert methods["secrets.steal"].last_denial == 'Host does not handle method "secrets.steal"'
    assert [use.method for use in report.probing] == [
        "issues.list",
        "issues.update",
        "secrets.steal",
    ]
    (read,) = [use for use in report.capabilities if use.capability == "issues.read"]
    assert (read.allowed, read.refused) == (2, 1)
    assert read.methods == ("issues.get", "issues.list")


async def test_a_flood_of_made_up_methods_is_counted_under_a_bounded_set_of_names(
    world: World,
) -> None:
    _, bridge, usage = await _plugin(world)
    for index in range(MAX_UNKNOWN_METHODS + 30):
        with pytest.raises(HostMethodNotFound):
            await bridge.handle(f"probe.{index}" + "x" * 500, {}, CallContext())
    await usage.flush()
    report = await capability_report(world.db, KEY)
    assert len(report.methods) == MAX_UNKNOWN_METHODS + 1
    (other,) = [use for use in report.methods if use.method == OTHER_UNKNOWN_METHODS]
    assert other.denied == 30
    assert max(len(use.method) for use in report.methods) <= 200


async def test_a_manifest_section_makes_its_capability_used(world: World) -> None:
    jobs = [{"jobKey": "sync", "displayName": "Sync", "schedule": "*/5 * * * *"}]
    await _plugin(world, jobs=jobs)
    report = await capability_report(world.db, KEY)
    assert {use.capability: use.verdict for use in report.capabilities}["jobs.schedule"] == "used"


async def test_overview_counts_activity_logs_and_refusals(world: World) -> None:
    plugin_id, bridge, usage = await _plugin(world)
    services = build_host_services(world.db, plugin_id, KEY)
    for _ in range(3):
        await services.issues.create(CreateIssue(company_id=world.company_id, title="Busy"))
    with pytest.raises(CapabilityDenied):
        await bridge.handle("issues.update", {"companyId": world.company_id}, CallContext())
    await usage.flush()
    now = datetime.now(UTC)
    await write_lines(
        world.db,
        [
            LogLine(plugin_id, "warn", "careful", created_at=now),
            LogLine(plugin_id, "error", "broke", created_at=now),
            LogLine(plugin_id, "error", "broke again", created_at=now),
            LogLine(plugin_id, "error", "long ago", created_at=now - timedelta(days=2)),
            LogLine(plugin_id, "info", "fine", created_at=now),
        ],
    )

    (overview,) = await plugin_overviews(world.db, now=now + timedelta(seconds=1))

    assert (overview.id, overview.key, overview.display_name) == (plugin_id, KEY, "DB Test")
    assert (overview.status, overview.version) == ("installed", "1.0.0")
    assert len(overview.activity_per_minute) == ACTIVITY_MINUTES
    assert sum(overview.activity_per_minute) == 3
    assert overview.activity_per_minute[-1] == 3
    assert (overview.warn_count, overview.error_count) == (1, 2)
    assert overview.last_log_at == now
    assert overview.refused_calls == 1
    elsewhere = await plugin_overviews(world.db, company_id=str(world.agent_id))
    assert sum(elsewhere[0].activity_per_minute) == 0


async def test_log_tail_pages_newest_first_and_filters_levels(world: World) -> None:
    plugin_id, _, _ = await _plugin(world)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    levels = ["info", "warn", "error", "debug", "info"]
    await write_lines(
        world.db,
        [
            LogLine(
                plugin_id,
                level,
                f"line {index}",
                {"n": index},
                created_at=start + timedelta(seconds=index),
            )
            for index, level in enumerate(levels)
        ],
    )
    first = await log_tail(world.db, [plugin_id], limit=3)
    second = await log_tail(world.db, [plugin_id], before=first.next, limit=3)
    assert [line.message for line in first.items + second.items] == [
        f"line {index}" for index in reversed(range(5))
    ]
    assert second.next is None
    problems = await log_tail(world.db, None, levels=["warn", "error"])
    assert [line.message for line in problems.items] == ["line 2", "line 1"]
    assert problems.items[0].to_json()["meta"] == {"n": 2}
    assert (await log_tail(world.db, [str(world.agent_id)])).items == []
    assert await world.rows(tables.plugin_logs) != []
