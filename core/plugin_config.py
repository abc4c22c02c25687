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
- an array is refused as not an object (upstream's ``typeof`` check lets it through to Ajv);
- a schema Ajv cannot compile (upstream answers 500) is refused with ``InvalidConfigSchema``, one
  line saying what is wrong: not valid draft-07, a ``$ref`` that cannot be resolved (remote
  ``$ref``s are never fetched), or ``$ref`` references that loop without end;
- the whole check has a time limit (``PluginConfigSettings``), patterns included: they run on
  the ``regex`` engine with a timeout, so a backtracking pattern such as ``^(a+)+$`` cannot stall
  the host. ``regex`` reads patterns as Python's ``re`` does, not as JavaScript does.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import regex
import sqlalchemy as sa
from jsonschema import Draft7Validator, SchemaError, ValidationError, validators
from jsonschema_specifications import REGISTRY as METASCHEMAS
from pydantic import Field
from referencing.exceptions import Unresolvable

from core.errors import InvalidInput
from core.settings import EnvironmentSettings
from db import Database, tables

CONFIG_NOT_AN_OBJECT = '"configJson" is required and must be an object'
CONFIG_MISMATCH = "Configuration does not match the plugin's instanceConfigSchema"

#: Environment variables that override the defaults, by setting name.
ENVIRONMENT = {"check_timeout_ms": "SANDBOX_PLUGIN_CONFIG_CHECK_TIMEOUT_MS"}


class PluginConfigSettings(EnvironmentSettings):
    """How long checking a configuration against ``instanceConfigSchema`` may take."""

    ENVIRONMENT = ENVIRONMENT

    #: The check runs on the host's event loop; a real schema takes well under a millisecond.
    check_timeout_ms: int = Field(default=100, gt=0)


class InvalidPluginConfig(InvalidInput):
    """The configuration is not an object or does not match the plugin's schema.

    ``details["fieldErrors"]`` lists ``{"field": <JSON pointer>, "message": <Ajv message>}``.
    """


class InvalidConfigSchema(InvalidInput):
    """The manifest's ``instanceConfigSchema`` cannot check anything: the plugin is broken, not
    the configuration."""


class ConfigCheckTooSlow(InvalidPluginConfig):
    """Checking the configuration took longer than ``check_timeout_ms``."""


#: When the running check must stop (``time.monotonic()``), None outside a check.
_deadline: ContextVar[float | None] = ContextVar("config_check_deadline", default=None)
#: The limit in force, for the message.
_limit_ms: ContextVar[int] = ContextVar("config_check_limit_ms", default=0)


def _too_slow() -> ConfigCheckTooSlow:
    return ConfigCheckTooSlow(
        f"Checking the configuration against instanceConfigSchema took over the "
        f"{_limit_ms.get()} ms limit (SANDBOX_PLUGIN_CONFIG_CHECK_TIMEOUT_MS)"
    )


def _seconds_left() -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise _too_slow()
    return left


def _search(pattern: str, text: str) -> bool:
    """``re.search`` semantics, stopped at the check's deadline."""
    try:
        return regex.search(pattern, text, timeout=_seconds_left()) is not None
    except TimeoutError:
        raise _too_slow() from None
    except regex.error as error:
        raise InvalidConfigSchema(
            f"instanceConfigSchema pattern {pattern!r} is not a valid regular expression: {error}"
        ) from None


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
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        name
        for name in instance
        if name not in schema.get("properties", {})
        and not any(_search(pattern, name) for pattern in patterns)
    ]
    for extra in extras:
        if validator.is_type(allowed, "object"):
            yield from validator.descend(instance[extra], allowed, path=extra)
        elif allowed is False:
            yield ValidationError("must NOT have additional properties")


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if _search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


Keyword = Callable[[Any, Any, Any, Mapping[str, Any]], Iterator[ValidationError]]


def _timed(keyword: Keyword) -> Keyword:
    """The keyword, refused once the check's deadline has passed (every schema the check
    descends into runs its keywords through here, so the whole check is bounded)."""

    def check(
        validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        _seconds_left()
        yield from keyword(validator, value, instance, schema)

    return check


_AjvOrderedValidator = validators.create(
    meta_schema=Draft7Validator.META_SCHEMA,
    validators={
        keyword: _timed(check)
        for keyword, check in {
            **Draft7Validator.VALIDATORS,
            "required": _required,
            "additionalProperties": _additional_properties,
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
        }.items()
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


def validate_config(
    schema: Mapping[str, Any] | None,
    config: Any,
    settings: PluginConfigSettings | None = None,
) -> None:
    """Check an operator's plugin configuration against the manifest's ``instanceConfigSchema``.

    Args:
        schema: the manifest's ``instanceConfigSchema``; missing or empty accepts any object.
        config: the configuration, which must be a JSON object.
        settings: the time limit; ``PluginConfigSettings.from_env()`` when not given.

    Raises:
        InvalidPluginConfig: with upstream's message; on a schema mismatch ``details`` has
            ``fieldErrors``.
        ConfigCheckTooSlow: the check took longer than the limit.
        InvalidConfigSchema: the schema cannot be used (upstream's Ajv fails to compile it and
            answers 500).
    """
    if not isinstance(config, Mapping):
        raise InvalidPluginConfig(CONFIG_NOT_AN_OBJECT)
    if not schema:
        return
    limit_ms = (settings or PluginConfigSettings.from_env()).check_timeout_ms
    deadline = _deadline.set(time.monotonic() + limit_ms / 1000)
    limit = _limit_ms.set(limit_ms)
    try:
        field_errors = _field_errors(schema, config)
    finally:
        _deadline.reset(deadline)
        _limit_ms.reset(limit)
    if field_errors:
        raise InvalidPluginConfig(CONFIG_MISMATCH, details={"fieldErrors": field_errors})


def _field_errors(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[dict[str, str]]:
    try:
        _AjvOrderedValidator.check_schema(schema)
        # The metaschemas only: jsonschema's default registry fetches remote $refs over the
        # network, from the host, while the check blocks the event loop.
        validator = _AjvOrderedValidator(
            schema, format_checker=_AjvOrderedValidator.FORMAT_CHECKER, registry=METASCHEMAS
        )
        errors = _with_branches(validator.iter_errors(config))
        return [{"field": _pointer(error), "message": _ajv_message(error)} for error in errors]
    except SchemaError as error:
        where = "".join(f"/{part}" for part in error.absolute_path) or "/"
        raise InvalidConfigSchema(
            f"instanceConfigSchema is not a valid JSON Schema (draft-07) at {where}: "
            f"{error.message}"
        ) from None
    except Unresolvable as error:
        raise InvalidConfigSchema(
            f"instanceConfigSchema has a $ref that cannot be resolved: {error.ref}"
        ) from None
    except RecursionError:
        raise InvalidConfigSchema(
            "instanceConfigSchema cannot be checked: its $ref references loop without end, "
            "or the schema or the configuration nests too deeply"
        ) from None


__all__ = [
    "CONFIG_MISMATCH",
    "CONFIG_NOT_AN_OBJECT",
    "ENVIRONMENT",
    "ConfigCheckTooSlow",
    "InvalidConfigSchema",
    "InvalidPluginConfig",
    "PluginConfigSettings",
    "validate_config",
]


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
