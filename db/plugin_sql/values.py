"""PostgreSQL's input rules and text output for the value types plugin SQL uses, in Python.

Plugin SQL is PostgreSQL, so a value must be accepted, refused and rendered as PostgreSQL would,
whichever backend runs it. Both paths use this module: on PostgreSQL it turns a plugin's JSON
parameters into the Python values asyncpg binds (PostgreSQL itself would parse the text the same
way), and on SQLite it implements the conversion functions that rewritten plugin SQL calls.

Errors carry PostgreSQL's own message text (``PgValueError``), so a plugin sees the same failure
on both backends.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from db.types import to_sqlite_timestamp

#: Text form of ``timestamp without time zone`` values (the timestamptz format minus the offset).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"

INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1


class PgValueError(ValueError):
    """A value PostgreSQL would refuse; the message is PostgreSQL's."""


# -- uuid ----------------------------------------------------------------------------------------

# PostgreSQL accepts 32 hex digits, optionally in braces, with a hyphen after any group of four.
_UUID_INPUT = re.compile(r"^(\{)?[0-9a-fA-F]{4}(?:-?[0-9a-fA-F]{4}){7}(?(1)\})$")


def parse_uuid(value: object) -> str:
    """The canonical (lowercase, 8-4-4-4-12) text of a uuid input, as PostgreSQL reads it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    text = value if isinstance(value, str) else scalar_text(value)
    if not _UUID_INPUT.match(text):
        raise PgValueError(f'invalid input syntax for type uuid: "{text}"')
    return str(uuid.UUID(text.strip("{}").replace("-", "")))


# -- timestamps ----------------------------------------------------------------------------------

_DATETIME_INPUT = re.compile(
    r"""^\s*(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})
    (?:[T\s]+(?P<hour>\d{1,2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?)?
    \s*(?P<zone>Z|z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?\s*$""",
    re.VERBOSE,
)


def _parse_datetime(text: str, type_name: str) -> tuple[datetime, timedelta | None]:
    """Split ISO-8601-style input into a naive datetime and its UTC offset (None if absent)."""
    lowered = text.strip().lower()
    if lowered == "epoch":
        return datetime(1970, 1, 1), timedelta(0)
    if lowered == "now":
        return datetime.now(UTC).replace(tzinfo=None), timedelta(0)
    match = _DATETIME_INPUT.match(text)
    if not match:
        raise PgValueError(f'invalid input syntax for type {type_name}: "{text}"')
    parts = match.groupdict()
    fraction = parts["fraction"] or "0"
    # PostgreSQL keeps microseconds and rounds what lies beyond them.
    micros = int(
        (Decimal("0." + fraction) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    )
    try:
        value = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
        ) + timedelta(microseconds=micros)
    except ValueError:
        raise PgValueError(f'date/time field value out of range: "{text}"') from None
    return value, _parse_zone(parts["zone"])


def _parse_zone(zone: str | None) -> timedelta | None:
    if zone is None:
        return None
    if zone.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


def parse_timestamptz(value: object) -> datetime:
    """An aware UTC datetime from timestamptz input; input without an offset is UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    naive, offset = _parse_datetime(scalar_text(value), "timestamp with time zone")
    return (naive - (offset or timedelta(0))).replace(tzinfo=UTC)


def parse_timestamp(value: object) -> datetime:
    """A naive datetime from ``timestamp`` input; like PostgreSQL, a given offset is ignored."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return _parse_datetime(scalar_text(value), "timestamp")[0]


def parse_date(value: object) -> date:
    """A date from ``date`` input (a time part, if any, is dropped as PostgreSQL does)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return _parse_datetime(scalar_text(value), "date")[0].date()


def format_timestamptz(value: datetime) -> str:
    """The one timestamptz text form of the sandbox (``2026-04-20T09:30:00.000000+00:00``)."""
    return to_sqlite_timestamp(value)


def format_timestamp(value: datetime) -> str:
    """``timestamp`` text: the timestamptz form without the offset."""
    return value.strftime(TIMESTAMP_FORMAT)


def timestamptz_output(value: datetime) -> str:
    """PostgreSQL's text output of a timestamptz in UTC (``2026-04-20 09:30:00.5+00``)."""
    return _datetime_output(value.astimezone(UTC)) + "+00"


def timestamp_output(value: datetime) -> str:
    """PostgreSQL's text output of a timestamp (``2026-04-20 09:30:00.5``)."""
    return _datetime_output(value)


def timestamptz_json(value: datetime) -> str:
    """How ``to_jsonb`` renders a timestamptz in UTC (``2026-04-20T09:30:00.5+00:00``)."""
    return _datetime_output(value.astimezone(UTC)).replace(" ", "T") + "+00:00"


def _datetime_output(value: datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text


# -- booleans and numbers ------------------------------------------------------------------------


def parse_bool(value: object) -> bool:
    """A boolean from PostgreSQL's boolean input forms (``t``, ``yes``, ``on``, ``1``, ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = scalar_text(value)
    word = text.strip().lower()
    if word:  # any prefix of true/yes/false/no, or one of the fixed words
        if word in ("1", "on") or "true".startswith(word) or "yes".startswith(word):
            return True
        if word in ("0", "of", "off") or "false".startswith(word) or "no".startswith(word):
            return False
    raise PgValueError(f'invalid input syntax for type boolean: "{text}"')


_INTEGER_INPUT = re.compile(r"^\s*[+-]?\d+\s*$")


def parse_int(value: object, type_name: str = "bigint") -> int:
    """An integer from integer input; fractions and text that is not a number are refused."""
    low, high = (INT4_MIN, INT4_MAX) if type_name == "integer" else (INT8_MIN, INT8_MAX)
    if isinstance(value, bool):
        raise PgValueError(f'invalid input syntax for type {type_name}: "{scalar_text(value)}"')
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        text = scalar_text(value)
        if not _INTEGER_INPUT.match(text):
            raise PgValueError(f'invalid input syntax for type {type_name}: "{text}"')
        number = int(text)
    if not low <= number <= high:
        raise PgValueError(f'value "{number}" is out of range for type {type_name}')
    return number


def parse_numeric(value: object) -> Decimal:
    """An exact decimal from numeric input (numbers, or text such as ``'1.50'``)."""
    if isinstance(value, bool):
        raise PgValueError(f'invalid input syntax for type numeric: "{scalar_text(value)}"')
    if isinstance(value, Decimal):
        return value
    text = repr(value) if isinstance(value, float) else scalar_text(value)
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise PgValueError(f'invalid input syntax for type numeric: "{text}"') from None
    if not number.is_finite() and not number.is_nan():
        raise PgValueError(f'invalid input syntax for type numeric: "{text}"')
    return number


def parse_float(value: object) -> float:
    """A double from float8 input."""
    if isinstance(value, bool):
        raise PgValueError(
            f'invalid input syntax for type double precision: "{scalar_text(value)}"'
        )
    if isinstance(value, int | float):
        return float(value)
    text = scalar_text(value)
    try:
        return float(text.strip())
    except ValueError:
        raise PgValueError(f'invalid input syntax for type double precision: "{text}"') from None


def number_output(value: int | float | Decimal) -> str:
    """PostgreSQL's text form of a number (``1.5``, ``100``; never an exponent for numerics)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return format(value, "f")


# -- intervals -----------------------------------------------------------------------------------

_INTERVAL_UNITS = {
    "microsecond": ("micros", 1),
    "millisecond": ("micros", 1_000),
    "second": ("micros", 1_000_000),
    "minute": ("micros", 60_000_000),
    "hour": ("micros", 3_600_000_000),
    "day": ("days", 1),
    "week": ("days", 7),
    "month": ("months", 1),
    "year": ("months", 12),
}
_INTERVAL_ALIASES = {
    "us": "microsecond",
    "usec": "microsecond",
    "usecs": "microsecond",
    "ms": "millisecond",
    "msec": "millisecond",
    "msecs": "millisecond",
    "s": "second",
    "sec": "second",
    "secs": "second",
    "m": "minute",
    "min": "minute",
    "mins": "minute",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "d": "day",
    "w": "week",
    "mon": "month",
    "mons": "month",
    "y": "year",
    "yr": "year",
    "yrs": "year",
}
_INTERVAL_PART = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*([a-z]+)\s*")


def parse_interval(value: object) -> tuple[int, int, int]:
    """``(months, days, microseconds)`` of interval input written as ``'<n> <unit> ...'``."""
    text = scalar_text(value)
    remaining = text.strip().lower()
    if remaining.startswith("@"):
        remaining = remaining[1:]
    totals = {"months": 0, "days": 0, "micros": 0}
    position = 0
    while position < len(remaining):
        match = _INTERVAL_PART.match(remaining, position)
        if not match:
            raise PgValueError(f'invalid input syntax for type interval: "{text}"')
        amount, unit = Decimal(match.group(1)), match.group(2)
        name = _INTERVAL_ALIASES.get(unit, unit.removesuffix("s"))
        if name not in _INTERVAL_UNITS:
            raise PgValueError(f'invalid input syntax for type interval: "{text}"')
        field, scale = _INTERVAL_UNITS[name]
        totals[field] += int(amount * scale)
        position = match.end()
    if position == 0:
        raise PgValueError(f'invalid input syntax for type interval: "{text}"')
    return totals["months"], totals["days"], totals["micros"]


def add_interval(value: datetime, interval: tuple[int, int, int], sign: int = 1) -> datetime:
    """``value + interval`` (or minus): months first (clamped to the month's end), then time."""
    months, days, micros = (sign * part for part in interval)
    if months:
        total = value.year * 12 + value.month - 1 + months
        year, month = divmod(total, 12)
        month += 1
        day = min(value.day, _days_in_month(year, month))
        value = value.replace(year=year, month=month, day=day)
    return value + timedelta(days=days, microseconds=micros)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


# -- date_trunc and extract ------------------------------------------------------------------------

_TRUNC_FIELDS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week")


def date_trunc(unit: str, value: datetime) -> datetime:
    """PostgreSQL's ``date_trunc`` for the usual units (``week`` starts on Monday)."""
    unit = unit.lower()
    if unit == "microseconds":
        return value
    if unit == "milliseconds":
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if unit == "second":
        return value.replace(microsecond=0)
    if unit == "minute":
        return value.replace(second=0, microsecond=0)
    if unit == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    raise PgValueError(f'unit "{unit}" not recognized for type timestamp with time zone')


def extract(field: str, value: datetime) -> Decimal:
    """PostgreSQL's ``EXTRACT(field FROM value)`` (numeric, as PostgreSQL 14+ returns it)."""
    field = field.lower()
    seconds = Decimal(value.second) + Decimal(value.microsecond) / 1_000_000
    simple = {
        "year": value.year,
        "month": value.month,
        "day": value.day,
        "hour": value.hour,
        "minute": value.minute,
        "dow": value.isoweekday() % 7,
        "isodow": value.isoweekday(),
        "doy": value.timetuple().tm_yday,
        "week": value.isocalendar()[1],
        "quarter": (value.month - 1) // 3 + 1,
        "isoyear": value.isocalendar()[0],
    }
    if field in simple:
        return Decimal(simple[field])
    if field == "second":
        return seconds.quantize(Decimal("0.000001"))
    if field == "milliseconds":
        return (seconds * 1000).quantize(Decimal("0.001"))
    if field == "microseconds":
        return Decimal(value.second * 1_000_000 + value.microsecond)
    if field == "epoch":
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return (Decimal(micros) / 1_000_000).quantize(Decimal("0.000001"))
    raise PgValueError(f'unit "{field}" not recognized for type timestamp with time zone')


# -- JSON ------------------------------------------------------------------------------------------


def parse_json(value: object) -> Any:
    """A JSON value from json/jsonb input text, with jsonb's key order and duplicate rule.

    Numbers with a fraction or exponent are ``Decimal`` so that they render as PostgreSQL
    renders them. Non-string input is taken as an already-parsed JSON value.
    """
    if not isinstance(value, str | bytes):
        return jsonb_normalise(value)
    try:
        parsed = json.loads(
            value,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_jsonb_object,
        )
    except (ValueError, RecursionError):
        raise PgValueError("invalid input syntax for type json") from None
    return parsed


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _jsonb_object(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    merged = dict(pairs)  # a repeated key keeps its last value, as in jsonb
    return {key: merged[key] for key in sorted(merged, key=jsonb_key_order)}


def jsonb_key_order(key: str) -> tuple[int, bytes]:
    """jsonb orders object keys by length, then bytewise."""
    encoded = key.encode()
    return len(encoded), encoded


def jsonb_normalise(value: Any) -> Any:
    """A parsed JSON value with every object's keys in jsonb order."""
    if isinstance(value, dict):
        return {key: jsonb_normalise(value[key]) for key in sorted(value, key=jsonb_key_order)}
    if isinstance(value, list | tuple):
        return [jsonb_normalise(item) for item in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise PgValueError("invalid input syntax for type json")
    return value


def render_json(value: Any, *, pretty: bool = False) -> str:
    """JSON text of a parsed value: compact, or in PostgreSQL's jsonb output style.

    PostgreSQL prints ``{"a": 1, "b": [1, 2]}``: a space after every colon and comma.
    """
    item_separator, key_separator = (", ", ": ") if pretty else (",", ":")

    def render(node: Any) -> str:
        if node is None:
            return "null"
        if node is True:
            return "true"
        if node is False:
            return "false"
        if isinstance(node, str):
            return json.dumps(node, ensure_ascii=False)
        if isinstance(node, int | float | Decimal):
            return number_output(node)
        if isinstance(node, dict):
            members = (f"{render(str(key))}{key_separator}{render(node[key])}" for key in node)
            return "{" + item_separator.join(members) + "}"
        if isinstance(node, list | tuple):
            return "[" + item_separator.join(render(item) for item in node) + "]"
        raise PgValueError(f"cannot render {type(node).__name__} as JSON")

    return render(value)


def json_typeof(value: Any) -> str:
    """``jsonb_typeof``: object, array, string, number, boolean or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "number"


def json_contains(container: Any, contained: Any) -> bool:
    """jsonb ``@>``: objects by key recursively, arrays by (unordered) membership."""
    if isinstance(container, dict):
        return isinstance(contained, dict) and all(
            key in container and json_contains(container[key], item)
            for key, item in contained.items()
        )
    if isinstance(container, list):
        if isinstance(contained, list):
            return all(
                any(json_contains(candidate, item) for candidate in container) for item in contained
            )
        # A top-level array contains a primitive that is one of its elements.
        return not isinstance(contained, dict) and any(
            not isinstance(candidate, dict | list) and _json_equal(candidate, contained)
            for candidate in container
        )
    return not isinstance(contained, dict | list) and _json_equal(container, contained)


def _json_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def parse_text_array(text: str) -> list[str | None]:
    """The elements of a one-dimensional array literal such as ``{a,"b c",NULL}``."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise PgValueError(f'malformed array literal: "{text}"')
    elements: list[str | None] = []
    current, quoted, escaped, started, was_quoted = "", False, False, False, False
    for char in body[1:-1]:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            escaped = True
        elif char == '"':
            if not quoted and not was_quoted:
                current = ""  # whitespace before the opening quote
            quoted, started, was_quoted = not quoted, True, True
        elif char == "," and not quoted:
            elements.append(_array_element(current, was_quoted))
            current, started, was_quoted = "", False, False
        elif char in "{}" and not quoted:
            raise PgValueError(f'malformed array literal: "{text}"')
        elif not (was_quoted and not quoted and char.isspace()):
            current += char
    if current.strip() or started or elements:
        elements.append(_array_element(current, was_quoted))
    return elements


def _array_element(raw: str, quoted: bool) -> str | None:
    if quoted:
        return raw
    value = raw.strip()
    return None if value.upper() == "NULL" else value


#: Characters that make record_out quote a field (C's isspace, in the C locale, included).
_RECORD_SPECIAL = frozenset('"\\(),' + " \t\n\v\f\r")


def record_output(fields: Iterable[str | None]) -> str:
    """A row value's text as PostgreSQL's ``record_out`` prints it from its fields' texts.

    A NULL field is empty; a field that is empty or holds a quote, backslash, parenthesis,
    comma or white space is double-quoted, with quotes and backslashes doubled:
    ``ROW(1, 'a b', NULL, '')`` is ``(1,"a b",,"")``.
    """
    printed = []
    for text in fields:
        if text is None:
            printed.append("")
        elif text == "" or not _RECORD_SPECIAL.isdisjoint(text):
            printed.append('"' + text.replace("\\", "\\\\").replace('"', '""') + '"')
        else:
            printed.append(text)
    return "(" + ",".join(printed) + ")"


def scalar_text(value: object) -> str:
    """The text a JSON parameter stands for when a type's input function reads it."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float | Decimal):
        return number_output(value)
    if isinstance(value, dict | list):
        return render_json(value)
    return str(value)


__all__ = [
    "TIMESTAMP_FORMAT",
    "PgValueError",
    "add_interval",
    "date_trunc",
    "extract",
    "format_timestamp",
    "format_timestamptz",
    "json_contains",
    "json_typeof",
    "jsonb_key_order",
    "jsonb_normalise",
    "number_output",
    "parse_bool",
    "parse_date",
    "parse_float",
    "parse_int",
    "parse_interval",
    "parse_json",
    "parse_numeric",
    "parse_text_array",
    "parse_timestamp",
    "parse_timestamptz",
    "parse_uuid",
    "record_output",
    "render_json",
    "scalar_text",
    "timestamp_output",
    "timestamptz_json",
    "timestamptz_output",
]
