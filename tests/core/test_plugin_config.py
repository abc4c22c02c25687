"""Plugin configuration (core/plugin_config.py): stored whole, and checked against
``instanceConfigSchema`` with upstream's answer: its message, and ``fieldErrors`` worded and
ordered as Ajv reports them."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import InvalidInput
from core.plugin_config import (
    CONFIG_MISMATCH,
    CONFIG_NOT_AN_OBJECT,
    InvalidConfigSchema,
    InvalidPluginConfig,
    get_config,
    save_config,
    validate_config,
)
from core.plugin_registry import register_plugin
from db import Database, tables
from tests.fixtures.plugin_database import manifest

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiKey": {"type": "string", "format": "secret-ref"},
        "workspace": {"type": "string", "minLength": 3, "pattern": "^[a-z]+$"},
        "pollSeconds": {"type": "integer", "minimum": 30, "maximum": 3600},
        "mode": {"enum": ["fast", "careful"]},
        "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "notify": {"type": "string", "format": "email"},
    },
    "required": ["apiKey", "workspace"],
    "additionalProperties": False,
}


def field_errors(schema: dict[str, Any] | None, config: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidPluginConfig) as raised:
        validate_config(schema, config)
    assert raised.value.message == CONFIG_MISMATCH
    return raised.value.details["fieldErrors"]


def test_a_matching_config_passes() -> None:
    validate_config(
        SCHEMA,
        {
            "apiKey": "6f1c1a52-55f0-4c1b-9d7e-0d8ab0e9e0a1",
            "workspace": "acme",
            "pollSeconds": 60.0,
            "mode": "fast",
            "labels": ["a", "b"],
            "notify": "ops@example.com",
        },
    )


@pytest.mark.parametrize("schema", [None, {}])
def test_without_a_schema_any_object_passes(schema: dict[str, Any] | None) -> None:
    validate_config(schema, {"anything": [1, 2, 3]})


@pytest.mark.parametrize("config", [None, "fast", 3, ["a"]])
def test_the_config_must_be_an_object(config: Any) -> None:
    with pytest.raises(InvalidPluginConfig) as raised:
        validate_config(None, config)
    assert raised.value.message == '"configJson" is required and must be an object'
    assert raised.value.message == CONFIG_NOT_AN_OBJECT
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.status == 400


def test_every_error_is_reported_with_ajvs_path_and_message_in_ajvs_order() -> None:
    errors = field_errors(
        SCHEMA,
        {
            "workspace": "A",
            "pollSeconds": 7.5,
            "mode": "slow",
            "labels": ["a", 2, "c"],
            "notify": "nobody",
            "extra": True,
            "other": 1,
        },
    )
    assert errors == [
        {"field": "/", "message": "must have required property 'apiKey'"},
        {"field": "/", "message": "must NOT have additional properties"},
        {"field": "/", "message": "must NOT have additional properties"},
        {"field": "/workspace", "message": "must NOT have fewer than 3 characters"},
        {"field": "/workspace", "message": 'must match pattern "^[a-z]+$"'},
        {"field": "/pollSeconds", "message": "must be integer"},
        {"field": "/pollSeconds", "message": "must be >= 30"},
        {"field": "/mode", "message": "must be equal to one of the allowed values"},
        {"field": "/labels", "message": "must NOT have more than 2 items"},
        {"field": "/labels/1", "message": "must be string"},
        {"field": "/notify", "message": 'must match format "email"'},
    ]


def test_a_type_with_keywords_of_its_own_is_reported_after_untyped_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {
            "plain": {"type": "string", "enum": ["a"]},
            "limited": {"type": "string", "minLength": 2, "enum": ["ab"]},
        },
    }
    assert field_errors(schema, {"plain": 1, "limited": 1}) == [
        {"field": "/plain", "message": "must be string"},
        {"field": "/plain", "message": "must be equal to one of the allowed values"},
        {"field": "/limited", "message": "must be equal to one of the allowed values"},
        {"field": "/limited", "message": "must be string"},
    ]


def test_composition_reports_each_branch_before_the_keyword() -> None:
    schema = {
        "type": "object",
        "properties": {
            "either": {"anyOf": [{"type": "string"}, {"type": "number"}]},
            "one": {"oneOf": [{"type": "string"}, {"type": "string", "minLength": 1}]},
            "never": {"not": {"type": "string"}},
            "fixed": {"const": 3},
            "nullable": {"type": ["string", "null"]},
            "step": {"type": "number", "exclusiveMinimum": 2, "multipleOf": 2},
            "below": {"type": "number", "exclusiveMaximum": 2.0},
        },
    }
    config = {
        "either": True,
        "one": "x",
        "never": "s",
        "fixed": 4,
        "nullable": 5,
        "step": 3,
        "below": 2,
    }
    assert field_errors(schema, config) == [
        {"field": "/either", "message": "must be string"},
        {"field": "/either", "message": "must be number"},
        {"field": "/either", "message": "must match a schema in anyOf"},
        {"field": "/one", "message": "must match exactly one schema in oneOf"},
        {"field": "/never", "message": "must NOT be valid"},
        {"field": "/fixed", "message": "must be equal to constant"},
        {"field": "/nullable", "message": "must be string,null"},
        {"field": "/step", "message": "must be multiple of 2"},
        {"field": "/below", "message": "must be < 2"},
    ]


def test_nested_fields_are_json_pointers() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a/b": {"type": "string"},
            "t~": {"type": "string"},
            "nested": {
                "type": "object",
                "required": ["enabled"],
                "additionalProperties": {"type": "number"},
            },
        },
    }
    assert field_errors(schema, {"a/b": 1, "t~": 2, "nested": {"ratio": "high"}}) == [
        {"field": "/a~1b", "message": "must be string"},
        {"field": "/t~0", "message": "must be string"},
        {"field": "/nested", "message": "must have required property 'enabled'"},
        {"field": "/nested/ratio", "message": "must be number"},
    ]


def test_pattern_properties_are_not_additional() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^x-": {"type": "string"}},
        "additionalProperties": False,
    }
    assert field_errors(schema, {"x-team": 1, "team": "a"}) == [
        {"field": "/", "message": "must NOT have additional properties"},
        {"field": "/x-team", "message": "must be string"},
    ]


def test_an_invalid_schema_is_the_plugins_fault_not_the_configs() -> None:
    with pytest.raises(InvalidConfigSchema, match="not a valid JSON Schema"):
        validate_config({"type": "strin"}, {})


async def test_config_defaults_to_an_empty_object_and_is_replaced_whole(db: Database) -> None:
    plugin = await register_plugin(
        db, manifest("paperclip.config-test"), package_name="@test/config", package_path="/p/c"
    )
    assert await get_config(db, plugin.id) == {}

    await save_config(db, plugin.id, {"apiUrl": "https://example.test", "retries": 3})
    await save_config(db, plugin.id, {"retries": 0})

    assert await get_config(db, plugin.id) == {"retries": 0}
    async with db.read() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(tables.plugin_config))
    assert count == 1
