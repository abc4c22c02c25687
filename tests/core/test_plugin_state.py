"""``ctx.state`` storage (core/plugin_state.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import InvalidInput
from core.plugin_registry import register_plugin
from core.plugin_state import StateKey, delete_state, get_state, set_state
from db import Database, tables
from tests.fixtures.plugin_database import manifest


async def _plugin(db: Database, key: str = "paperclip.state-test") -> str:
    record = await register_plugin(db, manifest(key), package_name=key, package_path=None)
    return record.id


def _key(**params: Any) -> StateKey:
    return StateKey.from_params({"scopeKind": "instance", "stateKey": "k"} | params)


@pytest.mark.parametrize("value", [0, False, "", [], {}, None, {"nested": [1, "two", None]}])
async def test_any_json_value_round_trips(db: Database, value: Any) -> None:
    plugin = await _plugin(db)
    await set_state(db, plugin, _key(), value)
    assert await get_state(db, plugin, _key()) == value


async def test_a_missing_entry_reads_as_none_and_delete_is_idempotent(db: Database) -> None:
    plugin = await _plugin(db)
    assert await get_state(db, plugin, _key()) is None
    await delete_state(db, plugin, _key())
    await set_state(db, plugin, _key(), "v")
    await delete_state(db, plugin, _key())
    await delete_state(db, plugin, _key())
    assert await get_state(db, plugin, _key()) is None


async def test_an_instance_entry_is_one_row_however_often_it_is_set(db: Database) -> None:
    """NULL scope ids compare equal, as upstream's NULLS NOT DISTINCT index makes them."""
    plugin = await _plugin(db)
    for value in (1, 2, 3):
        await set_state(db, plugin, _key(scopeId=""), value)
    await set_state(db, plugin, _key(), 4)

    assert await get_state(db, plugin, _key()) == 4
    async with db.read() as session:
        rows = (await session.execute(sa.select(tables.plugin_state.c.scope_id))).all()
    assert rows == [(None,)]


async def test_every_part_of_the_key_separates_entries(db: Database) -> None:
    plugin = await _plugin(db)
    other = await _plugin(db, "paperclip.other")
    keys = {
        "instance": _key(),
        "company-a": _key(scopeKind="company", scopeId="a"),
        "company-b": _key(scopeKind="company", scopeId="b"),
        "issue-a": _key(scopeKind="issue", scopeId="a"),
        "namespace": _key(namespace="cache"),
        "state-key": _key(stateKey="other"),
    }
    for name, key in keys.items():
        await set_state(db, plugin, key, name)
    await set_state(db, other, _key(), "other plugin")

    assert {name: await get_state(db, plugin, key) for name, key in keys.items()} == {
        name: name for name in keys
    }
    assert await get_state(db, other, _key()) == "other plugin"
    assert _key(namespace=None).namespace == "default"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"stateKey": "k"}, "scopeKind: Field required"),
        ({"scopeKind": "planet", "stateKey": "k"}, "scopeKind must be one of instance, company"),
        ({"scopeKind": "instance"}, "stateKey: Field required"),
        ({"scopeKind": "instance", "stateKey": ""}, "stateKey must be a non-empty string"),
        ({"scopeKind": "issue", "scopeId": 7, "stateKey": "k"}, "scopeId: Input should be"),
    ],
)
def test_malformed_keys_are_refused(params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^Invalid state key: .*{message}"):
        StateKey.from_params(params)
