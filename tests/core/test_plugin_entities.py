"""``ctx.entities`` through the worker bridge: a plugin's own records, upserted by key."""

from __future__ import annotations

import pytest

from core.errors import Conflict, InvalidInput, NotFound
from db import tables
from tests.fixtures.bridge import KEY, Bridge, bridge_for
from tests.fixtures.orchestration import World, make_world


async def _upsert(bridge: Bridge, **params: object) -> dict:
    return await bridge.call("entities.upsert", **params)


async def test_upsert_by_type_and_external_id_updates_the_fields_given(world: World) -> None:
    bridge = await bridge_for(world)
    first = await _upsert(
        bridge,
        entityType="ticket",
        scopeKind="instance",
        externalId="GH-1",
        title="Crash",
        data={"n": 1},
    )
    assert (first["pluginId"], first["companyId"], first["status"]) == (
        bridge.plugin_id,
        None,
        None,
    )
    again = await _upsert(
        bridge, entityType="ticket", scopeKind="instance", externalId="GH-1", status="open"
    )
    assert again["id"] == first["id"]
    assert (again["title"], again["status"], again["data"]) == ("Crash", "open", {"n": 1})
    assert len(await world.rows(tables.plugin_entities)) == 1

    # without an external id: one entity of the type, then upstream's unique key refuses
    await _upsert(bridge, entityType="ticket", scopeKind="instance", title="no id")
    with pytest.raises(Conflict, match='^Plugin entity of type "ticket" without an externalId'):
        await _upsert(bridge, entityType="ticket", scopeKind="instance", title="again")
    assert len(await world.rows(tables.plugin_entities)) == 2


async def test_list_filters_orders_and_pages(world: World) -> None:
    bridge = await bridge_for(world)
    for n in range(3):
        await _upsert(bridge, entityType="ticket", scopeKind="instance", externalId=f"T-{n}")
    await _upsert(bridge, entityType="repo", scopeKind="instance", externalId="R-0")

    tickets = await bridge.call("entities.list", entityType="ticket")
    assert [e["externalId"] for e in tickets] == ["T-0", "T-1", "T-2"]
    assert [e["externalId"] for e in await bridge.call("entities.list", externalId="R-0")] == [
        "R-0"
    ]
    paged = await bridge.call("entities.list", entityType="ticket", limit=1, offset=1)
    assert [e["externalId"] for e in paged] == ["T-1"]
    assert len(await bridge.call("entities.list")) == 4
    with pytest.raises(InvalidInput, match="^limit must be a non-negative integer$"):
        await bridge.call("entities.list", limit=-1)


async def test_companies_and_plugins_keep_their_own_rows(world: World) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    key = {"entityType": "ticket", "scopeKind": "company", "externalId": "GH-1"}
    mine = await _upsert(bridge, companyId=world.company_id, title="mine", **key)
    theirs = await _upsert(bridge, companyId=other.company_id, title="theirs", **key)
    instance = await _upsert(bridge, title="instance", **key)
    assert len({mine["id"], theirs["id"], instance["id"]}) == 3

    [row] = await world.rows(tables.plugins, tables.plugins.c.plugin_key == KEY)
    assert {e["pluginId"] for e in await bridge.call("entities.list")} == {str(row["id"])}
    with pytest.raises(NotFound, match="^Company not found$"):
        await _upsert(bridge, companyId="00000000-0000-4000-8000-000000000000", **key)
    with pytest.raises(InvalidInput, match="^entityType is required$"):
        await _upsert(bridge, scopeKind="instance")
