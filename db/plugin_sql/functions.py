"""PostgreSQL behaviour as SQLite functions, for plugin SQL rewritten to run on SQLite.

Plugin SQL is written for PostgreSQL. Where SQLite has no equivalent, or one with other rules
(``->>`` returns numbers, ``lower`` folds ASCII only, ``1/0`` is NULL), the rewriter calls one of
these ``pg_*`` functions instead. They are registered on every SQLite connection of a
``Database``, and they follow ``values``, which is also what the PostgreSQL path uses to read
parameters, so a value is accepted, refused and rendered the same way on both backends.

Several functions take a one-letter *value code* saying what the SQLite value stands for, because
SQLite stores booleans as 0/1 and timestamps, uuids and JSON as text (see ``VALUE_CODES``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from db.plugin_sql.values import (
    PgValueError,
    add_interval,
    date_trunc,
    extract,
    format_timestamp,
    format_timestamptz,
    json_contains,
    json_typeof,
    jsonb_normalise,
    number_output,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
    parse_interval,
    parse_json,
    parse_numeric,
    parse_text_array,
    parse_timestamp,
    parse_timestamptz,
    parse_uuid,
    record_output,
    render_json,
    scalar_text,
    timestamp_output,
    timestamptz_json,
    timestamptz_output,
)

#: What a SQLite value stands for, by value kind (the names the plugin SQL rewriter uses).
VALUE_CODES = {
    "text": "t",
    "int": "i",
    "number": "n",
    "bool": "b",
    "uuid": "u",
    "timestamptz": "z",
    "timestamp": "s",
    "date": "d",
    "jsonb": "j",
    "unknown": "x",
}

SqliteValue = str | int | float | bytes | None


def _json_value(code: str, value: SqliteValue) -> Any:
    """The JSON value ``to_jsonb`` makes of a SQLite value of the given code."""
    if value is None:
        return None
    match code:
        case "j":
            return parse_json(value) if isinstance(value, str) else value
        case "b":
            return bool(value)
        case "z":
            return timestamptz_json(parse_timestamptz(value))
        case "s":
            return timestamp_output(parse_timestamp(value)).replace(" ", "T")
        case "n" | "i":
            return value if isinstance(value, int | float) else parse_numeric(value)
        case _:
            return value.decode() if isinstance(value, bytes) else value


def _jsonb_text(value: Any) -> str:
    return render_json(value)


def pg_to_jsonb(code: str, value: SqliteValue) -> str | None:
    """``to_jsonb(value)`` as compact JSON text."""
    return None if value is None else _jsonb_text(_json_value(code, value))


def pg_text(code: str, value: SqliteValue) -> str | None:
    """``value::text`` with PostgreSQL's output format for the value's type."""
    if value is None:
        return None
    match code:
        case "b":
            return "true" if value else "false"
        case "j":
            return render_json(_json_value("j", value), pretty=True)
        case "z":
            return timestamptz_output(parse_timestamptz(value))
        case "s":
            return timestamp_output(parse_timestamp(value))
        case "n" | "i":
            return number_output(value) if isinstance(value, int | float) else str(value)
        case _:
            return scalar_text(value)


def pg_record(*fields: SqliteValue) -> str:
    """A row value as PostgreSQL's text form; the arguments are (value code, value) pairs.

    A field prints as its type's output function does, so a boolean is ``t`` (not ``true``).
    """
    texts = [
        None if value is None else ("t" if value else "f") if code == "b" else pg_text(code, value)
        for code, value in zip(fields[::2], fields[1::2], strict=True)
    ]
    return record_output(texts)


def pg_jsonb(value: SqliteValue) -> str | None:
    """``value::jsonb``: validated, canonical (jsonb key order) compact JSON text."""
    if value is None:
        return None
    return _jsonb_text(parse_json(value) if isinstance(value, str) else jsonb_normalise(value))


def _document(value: SqliteValue) -> Any:
    """A stored jsonb value (JSON text, or a number SQLite's affinity converted)."""
    return parse_json(value) if isinstance(value, str) else value


def _member(document: Any, key: SqliteValue) -> tuple[bool, Any]:
    if isinstance(document, dict) and isinstance(key, str):
        return key in document, document.get(key)
    if isinstance(document, list) and isinstance(key, int) and not isinstance(key, bool):
        index = key + len(document) if key < 0 else key
        if 0 <= index < len(document):
            return True, document[index]
    return False, None


def pg_json_get(document: SqliteValue, key: SqliteValue) -> str | None:
    """jsonb ``->``: an object member (text key) or array element (integer index)."""
    if document is None or key is None:
        return None
    found, value = _member(_document(document), key)
    return _jsonb_text(value) if found else None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return render_json(value, pretty=True)


def pg_json_get_text(document: SqliteValue, key: SqliteValue) -> str | None:
    """jsonb ``->>``: like ``->`` but as text (strings unquoted, JSON null as NULL)."""
    if document is None or key is None:
        return None
    found, value = _member(_document(document), key)
    return _as_text(value) if found else None


def _walk(document: Any, path: SqliteValue) -> tuple[bool, Any]:
    node = document
    for element in parse_text_array(str(path)):
        if element is None:
            return False, None
        if isinstance(node, list):
            try:
                key: str | int = int(element)
            except ValueError:
                return False, None
        else:
            key = element
        found, node = _member(node, key)
        if not found:
            return False, None
    return True, node


def pg_json_path(document: SqliteValue, path: SqliteValue) -> str | None:
    """jsonb ``#>``: the value at a path such as ``'{a,0,b}'``."""
    if document is None or path is None:
        return None
    found, value = _walk(_document(document), path)
    return _jsonb_text(value) if found else None


def pg_json_path_text(document: SqliteValue, path: SqliteValue) -> str | None:
    """jsonb ``#>>``: ``#>`` as text."""
    if document is None or path is None:
        return None
    found, value = _walk(_document(document), path)
    return _as_text(value) if found else None


def pg_json_contains(container: SqliteValue, contained: SqliteValue) -> int | None:
    """jsonb ``@>``."""
    if container is None or contained is None:
        return None
    return int(json_contains(_document(container), _document(contained)))


def pg_json_has_key(document: SqliteValue, key: SqliteValue) -> int | None:
    """jsonb ``?``: an object key, or a string element of an array."""
    if document is None or key is None:
        return None
    value = _document(document)
    if isinstance(value, dict):
        return int(key in value)
    if isinstance(value, list):
        return int(any(isinstance(item, str) and item == key for item in value))
    return int(isinstance(value, str) and value == key)


def pg_jsonb_concat(left: SqliteValue, right: SqliteValue) -> str | None:
    """jsonb ``||``: objects merge (right wins), anything else concatenates as arrays."""
    if left is None or right is None:
        return None
    first, second = _document(left), _document(right)
    if isinstance(first, dict) and isinstance(second, dict):
        return _jsonb_text(jsonb_normalise({**first, **second}))
    as_list = [*(first if isinstance(first, list) else [first])]
    as_list += second if isinstance(second, list) else [second]
    return _jsonb_text(as_list)


def pg_jsonb_typeof(document: SqliteValue) -> str | None:
    """``jsonb_typeof``."""
    return None if document is None else json_typeof(_document(document))


def pg_jsonb_array_length(document: SqliteValue) -> int | None:
    """``jsonb_array_length``; scalars and objects are refused as in PostgreSQL."""
    if document is None:
        return None
    value = _document(document)
    if isinstance(value, list):
        return len(value)
    kind = "an object" if isinstance(value, dict) else "a scalar"
    raise PgValueError(f"cannot get array length of {kind}")


def pg_jsonb_build_object(*arguments: SqliteValue) -> str:
    """``jsonb_build_object(k1, v1, ...)``, called as ``(k1, code1, v1, k2, code2, v2, ...)``."""
    members: dict[str, Any] = {}
    for index in range(0, len(arguments), 3):
        key, code, value = arguments[index : index + 3]
        if key is None:
            raise PgValueError(f"argument {index // 3 * 2 + 1}: key must not be null")
        members[scalar_text(key)] = _json_value(str(code), value)
    return _jsonb_text(jsonb_normalise(members))


def pg_jsonb_build_array(*arguments: SqliteValue) -> str:
    """``jsonb_build_array(v1, ...)``, called as ``(code1, v1, code2, v2, ...)``."""
    items = [
        _json_value(str(arguments[index]), arguments[index + 1])
        for index in range(0, len(arguments), 2)
    ]
    return _jsonb_text(items)


def pg_json_array(value: SqliteValue) -> str | None:
    """An array parameter (``= ANY($1)``, ``unnest($1)``): JSON array text, or refused."""
    if value is None:
        return None
    parsed = _document(value)
    if not isinstance(parsed, list):
        raise PgValueError(f'malformed array literal: "{scalar_text(value)}"')
    return _jsonb_text(parsed)


def pg_json_elements(value: SqliteValue) -> str | None:
    """The argument of ``jsonb_array_elements``: a JSON array, as PostgreSQL demands."""
    if value is None:
        return None
    parsed = _document(value)
    if isinstance(parsed, list):
        return _jsonb_text(parsed)
    kind = "an object" if isinstance(parsed, dict) else "a scalar"
    raise PgValueError(f"cannot extract elements from {kind}")


def pg_json_members(value: SqliteValue) -> str | None:
    """The argument of ``jsonb_each``: a JSON object, as PostgreSQL demands."""
    if value is None:
        return None
    parsed = _document(value)
    if isinstance(parsed, dict):
        return _jsonb_text(parsed)
    kind = "an array" if isinstance(parsed, list) else "a scalar"
    raise PgValueError(f"cannot call jsonb_each on {kind}")


_EACH_CONSTANTS = {"true": "true", "false": "false", "null": "null"}


def pg_json_each_value(kind: SqliteValue, value: SqliteValue) -> str | None:
    """A ``json_each`` row's value as jsonb text (SQLite unquotes strings and maps true to 1)."""
    if kind in _EACH_CONSTANTS:
        return _EACH_CONSTANTS[str(kind)]
    if kind == "text":
        return _jsonb_text(value)
    return None if value is None else _jsonb_text(_document(value))


def pg_json_each_text(kind: SqliteValue, value: SqliteValue) -> str | None:
    """A ``json_each`` row's value as ``jsonb_array_elements_text`` gives it."""
    if kind == "null":
        return None
    if kind in ("true", "false"):
        return str(kind)
    if kind in ("object", "array"):
        return render_json(_document(value), pretty=True)
    return scalar_text(value)


def pg_uuid(value: SqliteValue) -> str | None:
    """``value::uuid``: canonical lowercase text."""
    return None if value is None else parse_uuid(value)


def pg_timestamptz(value: SqliteValue) -> str | None:
    """``value::timestamptz``: the sandbox's fixed-width UTC text."""
    return None if value is None else format_timestamptz(parse_timestamptz(value))


def pg_timestamp(value: SqliteValue) -> str | None:
    """``value::timestamp``."""
    return None if value is None else format_timestamp(parse_timestamp(value))


def pg_date(value: SqliteValue) -> str | None:
    """``value::date``."""
    return None if value is None else parse_date(value).isoformat()


def pg_bool(value: SqliteValue) -> int | None:
    """``value::boolean`` as SQLite's 0/1."""
    return None if value is None else int(parse_bool(value))


def pg_int(value: SqliteValue, type_name: str = "bigint") -> int | None:
    """``value::bigint``; a fraction rounds half away from zero, text must be an integer."""
    if value is None:
        return None
    if isinstance(value, float):
        value = int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return parse_int(value, type_name)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def pg_numeric(value: SqliteValue) -> int | float | None:
    """``value::numeric`` (SQLite keeps it as an integer or a double)."""
    return None if value is None else _number(parse_numeric(value))


def pg_float(value: SqliteValue) -> float | None:
    """``value::double precision``."""
    return None if value is None else parse_float(value)


def pg_interval(value: SqliteValue) -> str | None:
    """``value::interval``: validated and kept as its text."""
    if value is None:
        return None
    parse_interval(value)
    return scalar_text(value)


def _datetime(code: str, value: SqliteValue) -> datetime:
    if code == "z":
        return parse_timestamptz(value)
    if code == "d":
        return datetime.combine(parse_date(value), datetime.min.time())
    return parse_timestamp(value)


def _datetime_text(code: str, value: datetime) -> str:
    return format_timestamptz(value) if code == "z" else format_timestamp(value)


@functools.lru_cache(maxsize=256)
def _interval(text: str) -> tuple[int, int, int]:
    return parse_interval(text)


def pg_ts_add(code: str, value: SqliteValue, interval: SqliteValue, sign: int) -> str | None:
    """``timestamp ± interval`` (a date becomes a timestamp, as in PostgreSQL)."""
    if value is None or interval is None:
        return None
    moved = add_interval(_datetime(code, value), _interval(scalar_text(interval)), sign)
    return _datetime_text("s" if code == "d" else code, moved)


def pg_date_trunc(unit: SqliteValue, code: str, value: SqliteValue) -> str | None:
    """``date_trunc(unit, value)``."""
    if unit is None or value is None:
        return None
    return _datetime_text(
        "s" if code == "d" else code, date_trunc(str(unit), _datetime(code, value))
    )


def pg_extract(field: SqliteValue, code: str, value: SqliteValue) -> int | float | None:
    """``EXTRACT(field FROM value)``."""
    if field is None or value is None:
        return None
    return _number(extract(str(field), _datetime(code, value)))


def pg_lower(value: SqliteValue) -> str | None:
    """``lower`` with Unicode case folding (SQLite's folds ASCII only)."""
    return None if value is None else scalar_text(value).lower()


def pg_upper(value: SqliteValue) -> str | None:
    """``upper`` with Unicode case mapping."""
    return None if value is None else scalar_text(value).upper()


def pg_substr(value: SqliteValue, start: SqliteValue, count: SqliteValue = None) -> str | None:
    """``substring(value FROM start [FOR count])`` with PostgreSQL's index rules."""
    if value is None or start is None:
        return None
    text, first = scalar_text(value), int(start)
    if count is None:
        return text[max(first, 1) - 1 :]
    if int(count) < 0:
        raise PgValueError("negative substring length not allowed")
    last = first + int(count)  # exclusive, 1-based
    return text[max(first, 1) - 1 : max(last - 1, 0)]


def pg_concat_ws(separator: SqliteValue, *values: SqliteValue) -> str | None:
    """``concat_ws(separator, ...)``: NULL values are skipped."""
    if separator is None:
        return None
    return scalar_text(separator).join(scalar_text(v) for v in values if v is not None)


def pg_greatest(*values: SqliteValue) -> SqliteValue:
    """``GREATEST``: NULLs are ignored (SQLite's ``max`` would return NULL)."""
    present = [value for value in values if value is not None]
    return max(present) if present else None  # type: ignore[type-var]


def pg_least(*values: SqliteValue) -> SqliteValue:
    """``LEAST``: NULLs are ignored."""
    present = [value for value in values if value is not None]
    return min(present) if present else None  # type: ignore[type-var]


def pg_nonzero(value: SqliteValue) -> SqliteValue:
    """The divisor of ``/`` and ``%``: zero raises as in PostgreSQL (SQLite returns NULL)."""
    if value is not None and value == 0:
        raise PgValueError("division by zero")
    return value


def pg_round(value: SqliteValue, places: SqliteValue = 0) -> int | float | None:
    """``round(value [, places])`` half away from zero on the decimal value."""
    if value is None or places is None:
        return None
    exponent = Decimal(1).scaleb(-int(places))
    return _number(parse_numeric(value).quantize(exponent, rounding=ROUND_HALF_UP))


#: Every function, with its argument count (-1: any).
FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "pg_to_jsonb": (2, pg_to_jsonb),
    "pg_text": (2, pg_text),
    "pg_record": (-1, pg_record),
    "pg_jsonb": (1, pg_jsonb),
    "pg_json_get": (2, pg_json_get),
    "pg_json_get_text": (2, pg_json_get_text),
    "pg_json_path": (2, pg_json_path),
    "pg_json_path_text": (2, pg_json_path_text),
    "pg_json_contains": (2, pg_json_contains),
    "pg_json_has_key": (2, pg_json_has_key),
    "pg_jsonb_concat": (2, pg_jsonb_concat),
    "pg_jsonb_typeof": (1, pg_jsonb_typeof),
    "pg_jsonb_array_length": (1, pg_jsonb_array_length),
    "pg_jsonb_build_object": (-1, pg_jsonb_build_object),
    "pg_jsonb_build_array": (-1, pg_jsonb_build_array),
    "pg_json_array": (1, pg_json_array),
    "pg_json_elements": (1, pg_json_elements),
    "pg_json_members": (1, pg_json_members),
    "pg_json_each_value": (2, pg_json_each_value),
    "pg_json_each_text": (2, pg_json_each_text),
    "pg_uuid": (1, pg_uuid),
    "pg_timestamptz": (1, pg_timestamptz),
    "pg_timestamp": (1, pg_timestamp),
    "pg_date": (1, pg_date),
    "pg_bool": (1, pg_bool),
    "pg_int": (-1, pg_int),
    "pg_numeric": (1, pg_numeric),
    "pg_float": (1, pg_float),
    "pg_interval": (1, pg_interval),
    "pg_ts_add": (4, pg_ts_add),
    "pg_date_trunc": (3, pg_date_trunc),
    "pg_extract": (3, pg_extract),
    "pg_lower": (1, pg_lower),
    "pg_upper": (1, pg_upper),
    "pg_substr": (-1, pg_substr),
    "pg_concat_ws": (-1, pg_concat_ws),
    "pg_greatest": (-1, pg_greatest),
    "pg_least": (-1, pg_least),
    "pg_nonzero": (1, pg_nonzero),
    "pg_round": (-1, pg_round),
}

#: Functions that may read the clock ('now' is valid timestamp input); all others are
#: deterministic, so SQLite may use them in index expressions.
_VOLATILE = frozenset({"pg_timestamptz", "pg_timestamp", "pg_date"})


def register_functions(
    create_function: Callable[..., Any], on_error: Callable[[PgValueError], None]
) -> None:
    """Register every function through ``create_function(name, nargs, func, deterministic=)``.

    SQLite reports an exception raised inside a function only as "user-defined function raised
    exception"; ``on_error`` receives the PostgreSQL-worded error first, so the caller can
    raise that instead.
    """
    for name, (arguments, function) in FUNCTIONS.items():
        create_function(
            name,
            arguments,
            _reporting(function, on_error),
            deterministic=name not in _VOLATILE,
        )


def _reporting(
    function: Callable[..., Any], on_error: Callable[[PgValueError], None]
) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*arguments: Any) -> Any:
        try:
            return function(*arguments)
        except PgValueError as error:
            on_error(error)
            raise
        except (ValueError, TypeError, OverflowError, ArithmeticError) as error:
            wrapped = PgValueError(str(error))
            on_error(wrapped)
            raise wrapped from error

    return call


__all__ = ["FUNCTIONS", "VALUE_CODES", "register_functions"]
