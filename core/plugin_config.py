"""An operator's plugin configuration (``plugin_config``), checked against the manifest's
``instanceConfigSchema``; ``get_config``/``save_config`` read and replace it.

Upstream (``server/src/routes/plugins.ts`` with ``services/plugin-config-validator.ts``) answers
400 with ``"configJson" is required and must be an object`` for anything but an object, and,
when the schema is not empty, compiles it with Ajv 8 (draft-07, ``allErrors``, ajv-formats, a
no-op ``secret-ref`` format) and answers 400 with
``{"error": "Configuration does not match the plugin's instanceConfigSchema", "fieldErrors":
[{"field": <instancePath or "/">, "message": <Ajv message>}]}``.

We validate with jsonschema's draft-07 rules, in Ajv's keyword order, and word the errors of the
keywords configuration schemas use as Ajv does. Known differences:

- ``uniqueItems``, ``contains``, ``dependencies`` and ``propertyNames`` keep jsonschema's wording,
  and ``if`` lacks Ajv's extra ``must match "then" schema`` error;
- formats are checked by jsonschema's checkers, more lenient than ajv-formats and skipped when
  their optional packages are missing;
- a schema Ajv refuses in strict mode (unknown keywords) is accepted;
- an array is refused as not an object (upstream's ``typeof`` check lets it through to Ajv).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft7Validator, ValidationError, validators

from core.errors import InvalidInput
from db import Database, tables

CONFIG_NOT_AN_OBJECT = '"configJson" is required and must be an object'
CONFIG_MISMATCH = "Configuration does not match the plugin's instanceConfigSchema"


class InvalidPluginConfig(InvalidInput):
    """The configuration is not an object or does not match the plugin's schema.

    ``details["fieldErrors"]`` lists ``{"field": <JSON pointer>, "message": <Ajv message>}``.
    """


# Ajv runs a schema's keywords in groups (untyped, then number, string, array, object rules),
# each group only for data of its type.
_AJV_GROUPS: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (None, ("$ref", "const", "enum", "not", "anyOf", "oneOf", "allOf", "if")),
    ("number", ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf")),
    ("string", ("maxLength", "minLength", "pattern", "format")),
    ("array", ("maxItems", "minItems", "additionalItems", "items", "contains", "uniqueItems")),
    (
        "object",
        (
            "maxProperties",
            "minProperties",
            "required",
            "propertyNames",
            "additionalProperties",
            "dependencies",
            "properties",
            "patternProperties",
        ),
    ),
)
_AJV_RANK = {
    keyword: rank
    for rank, keyword in enumerate(keyword for _, group in _AJV_GROUPS for keyword in group)
}
_TYPED_GROUPS = {group_type: group for group_type, group in _AJV_GROUPS if group_type}

_COMPARISONS = {"maximum": "<=", "minimum": ">=", "exclusiveMaximum": "<", "exclusiveMinimum": ">"}
_LIMITS = {
    "maxLength": ("more", "characters"),
    "minLength": ("fewer", "characters"),
    "maxItems": ("more", "items"),
    "minItems": ("fewer", "items"),
    "maxProperties": ("more", "properties"),
    "minProperties": ("fewer", "properties"),
}
_FIXED = {
    "enum": "must be equal to one of the allowed values",
    "const": "must be equal to constant",
    "anyOf": "must match a schema in anyOf",
    "oneOf": "must match exactly one schema in oneOf",
    "not": "must NOT be valid",
    # jsonschema names no keyword for a ``false`` schema.
    None: "boolean schema is false",
}


def _type_rank(schema: Mapping[str, Any]) -> float:
    """Ajv reports a single type in its group's place when the group has keywords, else first."""
    declared = schema["type"]
    group = _TYPED_GROUPS.get(declared, ()) if isinstance(declared, str) else ()
    if any(keyword in schema for keyword in group):
        return _AJV_RANK[group[0]] - 0.5
    return -1


def _in_ajv_order(schema: Mapping[str, Any]) -> list[tuple[str, Any]]:
    def rank(item: tuple[str, Any]) -> float:
        keyword = item[0]
        return _type_rank(schema) if keyword == "type" else _AJV_RANK.get(keyword, len(_AJV_RANK))

    return sorted(schema.items(), key=rank)


def _required(
    validator: Any, required: list[str], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield ValidationError(f"must have required property '{name}'")


def _additional_properties(
    validator: Any, allowed: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """One error per extra property, as Ajv reports them."""
    if not validator.is_type(instance, "object"):
        return
    patterns = [re.compile(pattern) for pattern in schema.get("patternProperties", {})]
    extras = [
        name
        for name in instance
        if name not in schema.get("properties", {})
        and not any(pattern.search(name) for pattern in patterns)
    ]
    for extra in extras:
        if validator.is_type(allowed, "object"):
            yield from validator.descend(instance[extra], allowed, path=extra)
        elif allowed is False:
            yield ValidationError("must NOT have additional properties")


_AjvOrderedValidator = validators.create(
    meta_schema=Draft7Validator.META_SCHEMA,
    validators={
        **Draft7Validator.VALIDATORS,
        "required": _required,
        "additionalProperties": _additional_properties,
    },
    type_checker=Draft7Validator.TYPE_CHECKER,
    format_checker=Draft7Validator.FORMAT_CHECKER,
    id_of=Draft7Validator.ID_OF,
    applicable_validators=_in_ajv_order,
)


def _js_number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _ajv_message(error: ValidationError) -> str:
    keyword, value = error.validator, error.validator_value
    if keyword == "type":
        return f"must be {','.join(value) if isinstance(value, list) else value}"
    if keyword in _COMPARISONS:
        return f"must be {_COMPARISONS[keyword]} {_js_number(value)}"
    if keyword in _LIMITS:
        comparison, unit = _LIMITS[keyword]
        return f"must NOT have {comparison} than {value} {unit}"
    if keyword == "multipleOf":
        return f"must be multiple of {_js_number(value)}"
    if keyword in ("pattern", "format"):
        return f'must match {keyword} "{value}"'
    # required and additionalProperties are worded where they are raised.
    return _FIXED.get(keyword, error.message)


def _pointer(error: ValidationError) -> str:
    """Ajv's ``instancePath`` (a JSON pointer), or ``/`` for the configuration itself."""
    parts = (str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path)
    return "".join(f"/{part}" for part in parts) or "/"


def _with_branches(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Ajv lists the errors of failed ``anyOf``/``oneOf`` branches before the keyword's own."""
    for error in errors:
        yield from _with_branches(iter(error.context))
        yield error


def validate_config(schema: Mapping[str, Any] | None, config: Any) -> None:
    """Check an operator's plugin configuration against the manifest's ``instanceConfigSchema``.

    Args:
        schema: the manifest's ``instanceConfigSchema``; missing or empty accepts any object.
        config: the configuration, which must be a JSON object.

    Raises:
        InvalidPluginConfig: with upstream's message; on a schema mismatch ``details`` has
            ``fieldErrors``.
        jsonschema.SchemaError: the schema is not valid draft-07 (the plugin is broken, not the
            configuration; upstream's Ajv fails to compile it and answers 500).
    """
    if not isinstance(config, Mapping):
        raise InvalidPluginConfig(CONFIG_NOT_AN_OBJECT)
    if not schema:
        return
    _AjvOrderedValidator.check_schema(schema)
    validator = _AjvOrderedValidator(schema, format_checker=_AjvOrderedValidator.FORMAT_CHECKER)
    errors = _with_branches(validator.iter_errors(config))
    field_errors = [{"field": _pointer(error), "message": _ajv_message(error)} for error in errors]
    if field_errors:
        raise InvalidPluginConfig(CONFIG_MISMATCH, details={"fieldErrors": field_errors})


__all__ = ["CONFIG_MISMATCH", "CONFIG_NOT_AN_OBJECT", "InvalidPluginConfig", "validate_config"]


async def get_config(db: Database, plugin_id: str) -> dict[str, Any]:
    """The plugin's config, ``{}`` when none was saved."""
    config = tables.plugin_config
    query = sa.select(config.c.config_json).where(config.c.plugin_id == plugin_id)
    async with db.read() as session:
        stored = (await session.execute(query)).scalar()
    return dict(stored or {})


async def save_config(db: Database, plugin_id: str, values: Mapping[str, Any]) -> None:
    """Replace the plugin's config (validate it against the manifest's schema first)."""
    config = tables.plugin_config
    now = datetime.now(UTC)
    async with db.transaction() as session:
        updated = await session.execute(
            sa.update(config)
            .where(config.c.plugin_id == plugin_id)
            .values(config_json=dict(values), last_error=None, updated_at=now)
        )
        if updated.rowcount == 0:
            await session.execute(
                sa.insert(config).values(
                    id=str(uuid.uuid4()),
                    plugin_id=plugin_id,
                    config_json=dict(values),
                    created_at=now,
                    updated_at=now,
                )
            )
