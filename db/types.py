"""Portable column types and SQL functions: one definition, compiled per dialect.

Everything whose storage differs between PostgreSQL and SQLite lives here, so that tables and
queries never branch on the dialect:

- ``UUID``: native ``uuid`` on PostgreSQL; canonical lowercase 36-character text on SQLite, because
  plugin SQL compares ids with dashed strings.
- ``JSON``: ``jsonb`` on PostgreSQL; JSON text on SQLite. NaN, infinities and NUL characters are
  refused on both, because PostgreSQL refuses them.
- ``Timestamp``: ``timestamptz`` on PostgreSQL; on SQLite one fixed-width ISO-8601 UTC text format
  (``2026-04-20T09:30:00.123456+00:00``). SQLite compares these values as text, so every value,
  including SQL-side defaults, must use exactly this format for text order to equal time order.
- ``SqlNow`` / ``GenerateUUID``: server-side "now" and random UUID defaults in those formats.
- ``JsonText``: one key of a JSON object as text (``->>``), also usable in expression indexes.
- ``Greatest``: the larger of two values (``greatest`` / SQLite's two-argument ``max``).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import Dialect as SADialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

#: strftime pattern of the SQLite timestamp text; always 32 characters.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (Python-side column default)."""
    return datetime.now(UTC)


def to_sqlite_timestamp(value: datetime) -> str:
    """Render an aware datetime in the one SQLite timestamp text format."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"naive datetime {value.isoformat()} refused: timestamps must be timezone-aware"
        )
    return value.astimezone(UTC).strftime(SQLITE_TIMESTAMP_FORMAT)


def from_sqlite_timestamp(text: str) -> datetime:
    """Parse SQLite timestamp text (any ISO-8601 form) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class UUID(sa.types.TypeDecorator[uuid.UUID]):
    """A UUID: native on PostgreSQL, canonical lowercase dashed text on SQLite."""

    impl = sa.CHAR(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: SADialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        return dialect.type_descriptor(sa.CHAR(36))

    def process_bind_param(self, value: Any, dialect: SADialect) -> Any:
        if value is None:
            return None
        if dialect.name != "postgresql" and isinstance(value, str) and _CANONICAL_UUID.match(value):
            return value  # already canonical: skip the parse (ids are bound many times a write)
        as_uuid = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return as_uuid if dialect.name == "postgresql" else str(as_uuid)

    def process_result_value(self, value: Any, dialect: SADialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(str(value))


class Timestamp(sa.types.TypeDecorator[datetime]):
    """An aware UTC timestamp: ``timestamptz`` on PostgreSQL, fixed-width ISO text on SQLite.

    Naive datetimes are refused on both backends; results are always aware and in UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: SADialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.String(32))

    def process_bind_param(self, value: Any, dialect: SADialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"timestamp columns take datetime values, not {type(value).__name__}")
        if dialect.name == "postgresql":
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(
                    f"naive datetime {value.isoformat()} refused: timestamps must be timezone-aware"
                )
            return value.astimezone(UTC)
        return to_sqlite_timestamp(value)

    def process_result_value(self, value: Any, dialect: SADialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return from_sqlite_timestamp(str(value))


def dumps_json(value: Any) -> str:
    """Serialise a JSON value the way both backends can store it, or raise ``ValueError``."""
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    except ValueError as error:
        raise ValueError(
            "JSON cannot hold NaN or infinities: PostgreSQL jsonb refuses them"
        ) from error
    if "\\u0000" in text:
        raise ValueError(
            "JSON strings cannot contain NUL characters: PostgreSQL jsonb refuses them"
        )
    return text


def loads_json(text: str | bytes) -> Any:
    """Parse JSON text read from either backend."""
    return json.loads(text)


class JSON(sa.types.TypeDecorator[Any]):
    """A JSON value: ``jsonb`` on PostgreSQL, JSON text on SQLite.

    By default Python ``None`` is SQL NULL. With ``none_as_null=False`` (for NOT NULL columns that
    hold any JSON value) ``None`` is stored as the JSON ``null``.
    """

    impl = sa.JSON
    cache_ok = True

    def __init__(self, none_as_null: bool = True) -> None:
        super().__init__(none_as_null=none_as_null)
        self.none_as_null = none_as_null

    def load_dialect_impl(self, dialect: SADialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB(none_as_null=self.none_as_null))
        return dialect.type_descriptor(sa.JSON(none_as_null=self.none_as_null))


class SqlNow(FunctionElement[datetime]):
    """The current UTC time in SQL, in each backend's timestamp storage format."""

    type = Timestamp()
    inherit_cache = True


@compiles(SqlNow, "postgresql")
def _now_postgresql(element: SqlNow, compiler: Any, **kw: Any) -> str:
    return "now()"


@compiles(SqlNow, "sqlite")
def _now_sqlite(element: SqlNow, compiler: Any, **kw: Any) -> str:
    # %f gives milliseconds ("SS.SSS"); pad to microseconds to keep the fixed width.
    return "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000+00:00')"


class GenerateUUID(FunctionElement[uuid.UUID]):
    """A random version-4 UUID generated by the database."""

    type = UUID()
    inherit_cache = True


@compiles(GenerateUUID, "postgresql")
def _uuid_postgresql(element: GenerateUUID, compiler: Any, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(GenerateUUID, "sqlite")
def _uuid_sqlite(element: GenerateUUID, compiler: Any, **kw: Any) -> str:
    return (
        "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
        "substr(lower(hex(randomblob(2))), 2) || '-' || "
        "substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || "
        "'-' || lower(hex(randomblob(6))))"
    )


class JsonText(FunctionElement[str]):
    """The text value of one top-level key of a JSON column (PostgreSQL ``col ->> 'key'``).

    The key is rendered as a literal, not a bound parameter, so that a query and an expression
    index over the same key compile to the same SQL: SQLite only uses an expression index when
    the expressions match exactly.
    """

    type = sa.Text()
    inherit_cache = True

    def __init__(self, column: sa.ColumnElement[Any], key: str) -> None:
        if not key.isidentifier():
            raise ValueError(f"JSON key must be a plain identifier, not {key!r}")
        self.key = key
        super().__init__(column)


@compiles(JsonText, "postgresql")
def _json_text_postgresql(element: JsonText, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"({compiler.process(column, **kw)} ->> '{element.key}')"


@compiles(JsonText, "sqlite")
def _json_text_sqlite(element: JsonText, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"json_extract({compiler.process(column, **kw)}, '$.{element.key}')"


class Greatest(FunctionElement[Any]):
    """The larger of two values."""

    inherit_cache = True

    def __init__(self, first: sa.ColumnElement[Any], second: sa.ColumnElement[Any]) -> None:
        super().__init__(first, second)
        self.type = first.type


@compiles(Greatest, "postgresql")
def _greatest_postgresql(element: Greatest, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


@compiles(Greatest, "sqlite")
def _greatest_sqlite(element: Greatest, compiler: Any, **kw: Any) -> str:
    # SQLite's scalar max() with two or more arguments returns the largest.
    return f"max({compiler.process(element.clauses, **kw)})"


class TimeBucket(FunctionElement[int]):
    """Which ``seconds``-long bucket after ``origin`` a timestamp falls in (0, 1, 2, ...).

    Computed in whole microseconds on both backends, so a timestamp on a bucket's edge lands in
    the same bucket on both. Timestamps before ``origin`` give negative buckets: filter them out.
    """

    type = sa.BigInteger()
    inherit_cache = True

    def __init__(self, column: sa.ColumnElement[Any], origin: datetime, seconds: float) -> None:
        size = round(seconds * 1_000_000)
        if size <= 0:
            raise ValueError("a time bucket must last at least a microsecond")
        start = origin.astimezone(UTC)
        since_epoch = start - datetime(1970, 1, 1, tzinfo=UTC)
        origin_us = (since_epoch.days * 86_400 + since_epoch.seconds) * 1_000_000
        origin_us += since_epoch.microseconds
        super().__init__(
            column, sa.literal(origin_us, sa.BigInteger()), sa.literal(size, sa.BigInteger())
        )


@compiles(TimeBucket, "postgresql")
def _time_bucket_postgresql(element: TimeBucket, compiler: Any, **kw: Any) -> str:
    column, origin, size = (compiler.process(clause, **kw) for clause in element.clauses)
    micros = f"(extract(epoch FROM {column}) * 1000000)"
    return f"floor(({micros} - {origin}) / {size})::bigint"


@compiles(TimeBucket, "sqlite")
def _time_bucket_sqlite(element: TimeBucket, compiler: Any, **kw: Any) -> str:
    column, origin, size = (compiler.process(clause, **kw) for clause in element.clauses)
    # The stored text is YYYY-MM-DDTHH:MM:SS.ffffff+00:00: whole seconds from strftime('%s'),
    # microseconds from characters 21-26. Integer division truncates toward zero, which is
    # floor() for the non-negative buckets asked for.
    micros = (
        f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 "
        f"+ CAST(substr({column}, 21, 6) AS INTEGER))"
    )
    return f"(({micros} - {origin}) / {size})"
