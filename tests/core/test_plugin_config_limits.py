"""A hostile instanceConfigSchema cannot stall the host or crash the check: patterns and the
whole check are time-bounded, and a schema that cannot work is refused in one clear line."""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.plugin_config import (
    ConfigCheckTooSlow,
    InvalidConfigSchema,
    InvalidPluginConfig,
    PluginConfigSettings,
    validate_config,
)

#: Exponential backtracking on a short value: ``re`` takes minutes on it.
BACKTRACKING = "^(a|aa)+$"
STALLING_VALUE = "a" * 60 + "b"
TOO_SLOW = (
    "Checking the configuration against instanceConfigSchema took over the 50 ms limit "
    "(SANDBOX_PLUGIN_CONFIG_CHECK_TIMEOUT_MS)"
)
FAST = PluginConfigSettings(check_timeout_ms=50)
#: For checks whose point is not the time: a loaded machine must not turn them into timeouts.
ROOMY = PluginConfigSettings(check_timeout_ms=10_000)


def _refused_in_time(schema: dict[str, Any], config: dict[str, Any]) -> str:
    started = time.monotonic()
    with pytest.raises(ConfigCheckTooSlow) as raised:
        validate_config(schema, config, FAST)
    assert time.monotonic() - started < 1.0
    return raised.value.message


@pytest.mark.parametrize(
    ("schema", "config"),
    [
        ({"properties": {"v": {"pattern": BACKTRACKING}}, "type": "object"}, {"v": STALLING_VALUE}),
        ({"patternProperties": {BACKTRACKING: {}}, "type": "object"}, {STALLING_VALUE: 1}),
        (
            {
                "type": "object",
                "patternProperties": {BACKTRACKING: {}},
                "additionalProperties": False,
            },
            {STALLING_VALUE: 1},
        ),
    ],
    ids=["pattern", "patternProperties", "additionalProperties"],
)
def test_a_backtracking_pattern_is_stopped_at_the_limit(
    schema: dict[str, Any], config: dict[str, Any]
) -> None:
    assert _refused_in_time(schema, config) == TOO_SLOW


def test_a_schema_that_fans_out_exponentially_is_stopped_at_the_limit() -> None:
    # Each level checks the next one twice: 2**40 checks of one value.
    definitions = {
        f"d{level}": {"allOf": [{"$ref": f"#/definitions/d{level + 1}"}] * 2} for level in range(40)
    }
    definitions["d40"] = {"type": "object"}
    schema = {"definitions": definitions, "$ref": "#/definitions/d0"}
    assert _refused_in_time(schema, {}) == TOO_SLOW


def test_the_limit_comes_from_the_environment() -> None:
    settings = PluginConfigSettings.from_env({"SANDBOX_PLUGIN_CONFIG_CHECK_TIMEOUT_MS": "250"})
    assert settings.check_timeout_ms == 250
    assert PluginConfigSettings.from_env({}).check_timeout_ms == 100


def test_patterns_still_check_values() -> None:
    schema = {"type": "object", "properties": {"v": {"pattern": "^[a-z]+$"}}}
    validate_config(schema, {"v": "abc"}, FAST)
    with pytest.raises(InvalidPluginConfig) as raised:
        validate_config(schema, {"v": "ab1"}, FAST)
    assert raised.value.details["fieldErrors"] == [
        {"field": "/v", "message": 'must match pattern "^[a-z]+$"'}
    ]


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {
            "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
            "$ref": "#/definitions/a",
        },
    ],
    ids=["self", "two-step"],
)
def test_a_ref_cycle_is_one_clear_line(schema: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigSchema) as raised:
        validate_config(schema, {}, ROOMY)
    assert raised.value.message == (
        "instanceConfigSchema cannot be checked: its $ref references loop without end, "
        "or the schema or the configuration nests too deeply"
    )


def test_a_recursive_schema_that_consumes_the_value_still_works() -> None:
    tree = {"type": "object", "properties": {"child": {"$ref": "#"}}, "additionalProperties": False}
    validate_config(tree, {"child": {"child": {}}}, FAST)
    with pytest.raises(InvalidPluginConfig):
        validate_config(tree, {"child": {"other": 1}}, FAST)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {"type": "strin"},
            "instanceConfigSchema is not a valid JSON Schema (draft-07) at /type: "
            "'strin' is not valid under any of the given schemas",
        ),
        (
            {"type": "object", "properties": {"n": {"minLength": -1}}},
            "instanceConfigSchema is not a valid JSON Schema (draft-07) at "
            "/properties/n/minLength: -1 is less than the minimum of 0",
        ),
        (
            {"$ref": "#/definitions/missing"},
            "instanceConfigSchema has a $ref that cannot be resolved: /definitions/missing",
        ),
    ],
    ids=["type", "nested", "unresolvable"],
)
def test_an_unusable_schema_is_one_clear_line(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfigSchema) as raised:
        validate_config(schema, {}, FAST)
    assert raised.value.message == message


def test_a_remote_ref_is_never_fetched() -> None:
    # jsonschema's default registry would fetch it, from the host, on the event loop.
    schema = {"$ref": "http://192.0.2.1/schema.json"}  # TEST-NET-1: a fetch would hang
    started = time.monotonic()
    with pytest.raises(InvalidConfigSchema, match="cannot be resolved: http://192.0.2.1/"):
        validate_config(schema, {}, FAST)
    assert time.monotonic() - started < 1.0
