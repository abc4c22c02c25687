"""PostgreSQL's input rules and output forms, as both backends apply them to plugin values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from db.plugin_sql.values import (
    PgValueError,
    add_interval,
    date_trunc,
    extract,
    format_timestamptz,
    json_contains,
    number_output,
    parse_bool,
    parse_date,
    parse_int,
    parse_interval,
    parse_json,
    parse_text_array,
    parse_timestamptz,
    parse_uuid,
    render_json,
    timestamptz_json,
    timestamptz_output,
)


@pytest.mark.parametrize(
    "text",
    [
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
    ],
)
def test_uuid_inputs_postgresql_accepts(text: str) -> None:
    assert parse_uuid(text) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


@pytest.mark.parametrize(
    "text", ["", "a0eebc99", "{a0eebc999c0b4ef8bb6d6bb9bd380a11", "urn:uuid:x"]
)
def test_uuid_inputs_postgresql_refuses(text: str) -> None:
    with pytest.raises(PgValueError, match=f'invalid input syntax for type uuid: "{text}"'):
        parse_uuid(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-20", "2026-04-20T00:00:00.000000+00:00"),
        ("2026-04-20 11:30:00+02", "2026-04-20T09:30:00.000000+00:00"),
        ("2026-04-20T09:30:00.1234567Z", "2026-04-20T09:30:00.123457+00:00"),
        ("2026-04-20T09:30-0130", "2026-04-20T11:00:00.000000+00:00"),
        ("epoch", "1970-01-01T00:00:00.000000+00:00"),
    ],
)
def test_timestamptz_inputs(text: str, expected: str) -> None:
    assert format_timestamptz(parse_timestamptz(text)) == expected


def test_timestamp_errors_and_outputs() -> None:
    with pytest.raises(PgValueError, match='field value out of range: "2026-13-01"'):
        parse_timestamptz("2026-13-01")
    with pytest.raises(PgValueError, match="type timestamp with time zone"):
        parse_timestamptz("soon")
    moment = datetime(2026, 4, 20, 9, 30, 0, 500000, tzinfo=UTC)
    assert timestamptz_output(moment) == "2026-04-20 09:30:00.5+00"
    assert timestamptz_json(moment) == "2026-04-20T09:30:00.5+00:00"
    assert parse_date("2026-04-20 23:00") == date(2026, 4, 20)


def test_booleans_integers_and_numbers() -> None:
    assert [parse_bool(text) for text in ("t", "TRUE", " yes ", "on", "1", "f", "no", "off")] == [
        True, True, True, True, True, False, False, False,
    ]  # fmt: skip
    for text in ("o", "maybe", ""):
        with pytest.raises(PgValueError, match="type boolean"):
            parse_bool(text)
    assert parse_int(" -42 ") == -42
    with pytest.raises(PgValueError, match='value "2147483648" is out of range for type integer'):
        parse_int(2**31, "integer")
    with pytest.raises(PgValueError, match=r'invalid input syntax for type bigint: "1\.5"'):
        parse_int("1.5")
    assert number_output(Decimal("1E+2")) == "100" and number_output(2.0) == "2"


def test_intervals() -> None:
    assert parse_interval("1 day 2 hours") == (0, 1, 7_200_000_000)
    assert parse_interval("-1 mon") == (-1, 0, 0)
    january = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert add_interval(january, (1, 0, 0)) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert add_interval(january, (0, 1, 0), sign=-1) == datetime(2026, 1, 30, 12, tzinfo=UTC)
    with pytest.raises(PgValueError, match="type interval"):
        parse_interval("a while")


def test_date_trunc_and_extract() -> None:
    moment = datetime(2026, 4, 22, 9, 30, 15, 250000, tzinfo=UTC)  # a Wednesday
    assert date_trunc("week", moment) == datetime(2026, 4, 20, tzinfo=UTC)
    assert date_trunc("quarter", moment) == datetime(2026, 4, 1, tzinfo=UTC)
    assert extract("dow", moment) == 3
    assert extract("second", moment) == Decimal("15.250000")
    assert extract("epoch", moment) == Decimal("1776850215.250000")


def test_json_follows_jsonb() -> None:
    value = parse_json('{"b": 1, "a": {"y": 2.50, "x": 1e2}, "b": [1, "two"]}')
    assert list(value) == ["a", "b"] and value["b"] == [1, "two"]
    assert render_json(value) == '{"a":{"x":100,"y":2.50},"b":[1,"two"]}'
    assert render_json(value, pretty=True) == '{"a": {"x": 100, "y": 2.50}, "b": [1, "two"]}'
    for text in ("{", "NaN", "[1,]"):
        with pytest.raises(PgValueError, match="invalid input syntax for type json"):
            parse_json(text)
    assert json_contains({"a": [1, 2, 3], "b": {"c": 1, "d": 2}}, {"a": [3, 1], "b": {"c": 1}})
    assert json_contains([1, "x"], "x") and not json_contains([[1]], 1)
    assert not json_contains({"a": 1}, {"a": True})


def test_text_array_literals() -> None:
    assert parse_text_array('{a, "b c" ,NULL,"NULL",""}') == ["a", "b c", None, "NULL", ""]
    with pytest.raises(PgValueError, match="malformed array literal"):
        parse_text_array("a,b")
