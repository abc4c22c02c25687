"""Result rows as JSON-ready values, identical on both backends.

uuids become their canonical text, timestamps one ISO-8601 form (always six fractional digits
and ``+00:00``), JSON values parsed JSON with objects in jsonb key order, and numbers numbers
(a whole number is an integer, whatever type held it). On PostgreSQL the driver's Python types
say what each value is; on SQLite the rewriter's kinds do (a 0/1 that is a boolean, JSON text).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from core.plugin_database.errors import PluginSqlLimitExceeded
from core.plugin_database.kinds import BOOL, JSONB, Column, Kind, element_of
from core.plugin_database.settings import byte_size, limit_message
from db.plugin_sql import format_timestamp, format_timestamptz, jsonb_normalise

JsonValue = None | bool | int | float | str | list[Any] | dict[str, Any]

#: Beyond this a double cannot hold every integer, so whole floats stay floats.
_SAFE_INTEGER = 2**53


def json_ready(value: Any, kind: Kind | None = None) -> JsonValue:
    """A driver value as the JSON value plugins receive (``kind`` is known on SQLite only)."""
    if value is None:
        return None
    if kind is not None:
        element = element_of(kind)
        if element is not None and isinstance(value, str):
            return [json_ready(item, element) for item in json.loads(value)]
        if kind == BOOL and isinstance(value, int):
            return bool(value)
        if kind == JSONB and isinstance(value, str):
            value = json.loads(value)
    return _typed(value)


def _typed(value: Any) -> JsonValue:
    match value:
        case None | bool() | str():
            return value
        case int():
            return value
        case float() | Decimal():
            return _number(value)
        case uuid.UUID():
            return str(value)
        case datetime():
            return format_timestamptz(value) if value.tzinfo else format_timestamp(value)
        case date() | time():
            return value.isoformat()
        case timedelta():
            return _duration(value)
        case dict():
            return {key: _typed(item) for key, item in jsonb_normalise(value).items()}
        case list() | tuple():
            return [_typed(item) for item in value]
        case bytes() | bytearray() | memoryview():
            return "\\x" + bytes(value).hex()
    return str(value)


def _number(value: float | Decimal) -> int | float | str:
    """Whole numbers (within a double's exact range) as integers, others as doubles."""
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite:
        return str(value)  # NaN and infinities have no JSON number
    if value == int(value) and abs(value) < _SAFE_INTEGER:
        return int(value)
    return float(value)


def _duration(value: timedelta) -> str:
    """ISO-8601 duration of a PostgreSQL interval the driver returned as a timedelta."""
    seconds = value.total_seconds()
    return f"P{value.days}DT{seconds - value.days * 86_400:g}S"


def rows_as_dicts(
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    columns: Sequence[Column] | None = None,
    *,
    max_bytes: int | None = None,
) -> list[dict[str, JsonValue]]:
    """Rows as objects keyed by column name (a repeated name keeps the last value).

    With ``max_bytes``, the rows' JSON (``\\u`` escapes, so an upper bound of their UTF-8 too)
    may not pass that size: ``PluginSqlLimitExceeded`` as soon as it does.
    """
    kinds: list[Kind | None] = (
        [column.kind for column in columns] if columns else [None] * len(names)
    )
    if len(kinds) != len(names):
        kinds = [None] * len(names)
    objects: list[dict[str, JsonValue]] = []
    size = 2  # the brackets of the array
    for row in rows:
        item = {
            name: json_ready(value, kind)
            for name, value, kind in zip(names, row, kinds, strict=True)
        }
        if max_bytes is not None:
            size += len(json.dumps(item, separators=(",", ":"))) + 1
            if size > max_bytes:
                raise PluginSqlLimitExceeded(
                    limit_message(
                        f"ctx.db.query result passed the {byte_size(max_bytes)} limit at row "
                        f"{len(objects) + 1}; page through the result with LIMIT and OFFSET",
                        "max_result_bytes",
                    )
                )
        objects.append(item)
    return objects


__all__ = ["JsonValue", "json_ready", "rows_as_dicts"]
