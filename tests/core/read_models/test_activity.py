"""The activity read model (core/read_models/activity.py): pages, filters, attribution, context."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from core.activity import record_activity
from core.host_services.params import CreateIssue, UpdateIssue
from core.read_models.activity import (
    ActivityFilter,
    activity_context,
    activity_row,
    list_activity,
)
from core.unit_of_work import write
from db import tables
from tests.fixtures.orchestration import PLUGIN_ID, PLUGIN_KEY, World

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _row(world: World, at: datetime, **values: object) -> str:
    """An activity row at a fixed time (as another part of Paperclip would have written it)."""
    values.setdefault("company_id", world.company_id)
    values.setdefault("actor_type", "system")
    values.setdefault("actor_id", "test")
    values.setdefault("action", "thing.happened")
    values.setdefault("entity_type", "thing")
    values.setdefault("entity_id", "thing-1")
    return await world.insert(tables.activity_log, created_at=at, **values)


async def _all(world: World, activity_filter: ActivityFilter, limit: int) -> list[str]:
    """Every matching row id, read page by page."""
    ids: list[str] = []
    before = None
    while True:
        page = await list_activity(world.db, activity_filter, before=before, limit=limit)
        ids += [row.id for row in page.items]
        if page.next is None:
            return ids
        before = page.next


async def test_pages_run_newest_first_without_gaps_or_repeats(world: World) -> None:
    written = [await _row(world, T0 + timedelta(seconds=i)) for i in range(7)]
    # Three rows share one time: the id decides their order.
    tied = [await _row(world, T0 + timedelta(seconds=10)) for _ in range(3)]

    ids = await _all(world, ActivityFilter(company_id=world.company_id), limit=3)

    assert ids == sorted(tied, reverse=True) + list(reversed(written))


async def test_a_page_that_ends_the_rows_has_no_next_cursor(world: World) -> None:
    await _row(world, T0)
    page = await list_activity(world.db, ActivityFilter(company_id=world.company_id), limit=1)
    assert len(page.items) == 1
    assert page.next is None
    empty = await list_activity(world.db, ActivityFilter(company_id=str(uuid.uuid4())))
    assert empty.items == [] and empty.next is None


async def test_plugin_rows_carry_upstream_attribution(world: World) -> None:
    run_id = await world.run()
    issue = await world.services.issues.create(
        CreateIssue(
            company_id=world.company_id,
            title="Work",
            actor_agent_id=world.agent_id,
            actor_run_id=run_id,
        )
    )

    (row,) = (await list_activity(world.db, ActivityFilter(plugin_id=PLUGIN_ID))).items

    assert (row.actor_type, row.actor_id, row.plugin_id) == ("plugin", PLUGIN_ID, PLUGIN_ID)
    assert row.plugin_key == PLUGIN_KEY
    assert row.on_behalf_of == f"agent:{world.agent_id}"
    assert (row.action, row.entity_type, row.entity_id) == ("issue.created", "issue", issue.id)
    assert (row.agent_id, row.run_id) == (world.agent_id, run_id)
    assert row.details["sourcePluginKey"] == PLUGIN_KEY
    # Canonical JSON text: the same on both backends (jsonb does not keep key order).
    assert row.details_json == json.dumps(row.details, sort_keys=True, separators=(",", ":"))
    assert row.to_json()["pluginKey"] == PLUGIN_KEY
    json.dumps(row.to_json())


async def test_sql_filters_and_row_filters_agree(world: World) -> None:
    """The same filter reads rows from the database and judges rows that arrive live."""
    other = await world.insert(tables.companies, name="Other", issue_prefix="OTH", issue_counter=0)
    run_id = await world.run()
    times = [T0 + timedelta(minutes=i) for i in range(6)]
    await _row(world, times[0], action="issue.created", entity_type="issue", entity_id="i-1")
    await _row(world, times[1], action="issue.updated", entity_type="issue", entity_id="i-1")
    await _row(
        world,
        times[2],
        action="issue.updated",
        entity_type="issue",
        entity_id="i-2",
        agent_id=world.agent_id,
        run_id=run_id,
    )
    await _row(
        world,
        times[3],
        actor_type="plugin",
        actor_id=PLUGIN_ID,
        action="sync.done",
        details={"sourcePluginKey": PLUGIN_KEY},
    )
    await _row(world, times[4], action="issue.created", company_id=other)
    await _row(world, times[5], action="issues", entity_type="issue", entity_id="i-3")
    filters = [
        ActivityFilter(),
        ActivityFilter(company_id=world.company_id),
        ActivityFilter(company_id=other),
        ActivityFilter(company_id="not-a-uuid"),
        ActivityFilter(plugin_id=PLUGIN_ID),
        ActivityFilter(action="issue.updated"),
        ActivityFilter(action="issue.*"),
        ActivityFilter(action="issue*"),
        ActivityFilter(entity_type="issue", entity_id="i-1"),
        ActivityFilter(agent_id=world.agent_id.upper()),
        ActivityFilter(run_id=run_id),
        ActivityFilter(since=times[2], until=times[4]),
        ActivityFilter(company_id=world.company_id, action="issue.*", since=times[1]),
    ]
    everything = (await list_activity(world.db, limit=100)).items
    assert len(everything) == 6
    for activity_filter in filters:
        from_sql = await _all(world, activity_filter, limit=2)
        judged = [row.id for row in everything if activity_filter.matches(row)]
        assert from_sql == judged, activity_filter


async def test_rows_from_the_feed_read_like_rows_from_a_page(world: World) -> None:
    """A row the change feed delivers (a plain mapping of columns) becomes the same row."""
    async with write(world.db, None) as unit:
        entry = await record_activity(
            unit,
            company_id=world.company_id,
            actor_type="plugin",
            actor_id=PLUGIN_ID,
            action="issue.created",
            entity_type="issue",
            entity_id="x",
            details={"b": 1, "a": {"z": [1, 2]}, "sourcePluginKey": PLUGIN_KEY},
        )
    (paged,) = (await list_activity(world.db)).items
    (mapping,) = await world.rows(tables.activity_log)
    assert activity_row(mapping) == paged
    assert paged.id == entry.id
    assert paged.details_json == '{"a":{"z":[1,2]},"b":1,"sourcePluginKey":"paperclip.missions"}'


async def test_context_brings_the_issue_run_agent_and_the_entity_s_other_rows(
    world: World,
) -> None:
    run_id = await world.run()
    issue = await world.services.issues.create(
        CreateIssue(
            company_id=world.company_id,
            title="Context",
            actor_agent_id=world.agent_id,
            actor_run_id=run_id,
        )
    )
    await world.services.issues.update(
        UpdateIssue(issue_id=issue.id, company_id=world.company_id, patch={"priority": "high"})
    )
    rows = (await list_activity(world.db, ActivityFilter(entity_id=issue.id))).items
    updated, created = rows

    context = await activity_context(world.db, created)

    assert context.issue is not None
    assert (context.issue.id, context.issue.title) == (issue.id, "Context")
    assert context.issue.identifier == issue.identifier
    assert context.issue.origin_kind == f"plugin:{PLUGIN_KEY}"
    assert context.run is not None and context.run.id == run_id
    assert context.agent_name == "Engineer"
    assert [row.id for row in context.same_entity] == [updated.id]


async def test_context_of_a_row_about_something_else_is_empty(world: World) -> None:
    await _row(world, T0, entity_type="plugin", entity_id="whatever")
    (row,) = (await list_activity(world.db)).items
    context = await activity_context(world.db, row)
    assert (context.issue, context.run, context.agent_name, context.same_entity) == (
        None,
        None,
        None,
        [],
    )
