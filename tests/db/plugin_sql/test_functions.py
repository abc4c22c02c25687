"""The pg_* SQLite functions behave as the PostgreSQL operators and functions they stand for."""

from __future__ import annotations

import json

import pytest

from db.plugin_sql import PgValueError
from db.plugin_sql.functions import FUNCTIONS

DOC = '{"a": {"b": [10, "x", null]}, "n": 1.50, "t": true, "s": "str"}'


def f(name: str, *arguments: object) -> object:
    return FUNCTIONS[name][1](*arguments)


def test_json_access_operators() -> None:
    assert f("pg_json_get", DOC, "a") == '{"b":[10,"x",null]}'
    assert f("pg_json_get_text", DOC, "a") == '{"b": [10, "x", null]}'
    assert f("pg_json_get_text", DOC, "s") == "str"
    assert f("pg_json_get_text", DOC, "n") == "1.50"
    assert f("pg_json_get", "[1, 2, 3]", -1) == "3"
    assert f("pg_json_get", "[1, 2, 3]", "0") is None  # a text key never indexes an array
    assert f("pg_json_get", '{"0": 1}', 0) is None  # an integer never reads an object key
    assert f("pg_json_path_text", DOC, "{a,b,1}") == "x"
    assert f("pg_json_path_text", DOC, "{a,b,2}") is None
    assert f("pg_json_path", DOC, "{}") == f("pg_jsonb", DOC)
    assert f("pg_json_has_key", DOC, "t") == 1 and f("pg_json_has_key", '["t"]', "t") == 1


def test_jsonb_builders_and_concatenation() -> None:
    built = f("pg_jsonb_build_object", "when", "z", "2026-04-20T09:30:00.000000+00:00",
              "ok", "b", 1, "doc", "j", '{"k": 1}', "n", "n", 2.5)  # fmt: skip
    assert json.loads(str(built)) == {
        "n": 2.5, "ok": True, "doc": {"k": 1}, "when": "2026-04-20T09:30:00+00:00",
    }  # fmt: skip
    assert f("pg_jsonb_concat", '{"a": 1, "b": 2}', '{"b": 3}') == '{"a":1,"b":3}'
    assert f("pg_jsonb_concat", "[1]", "2") == "[1,2]"
    assert f("pg_text", "b", 0) == "false"
    assert f("pg_text", "z", "2026-04-20T09:30:00.000000+00:00") == "2026-04-20 09:30:00+00"
    with pytest.raises(PgValueError, match="key must not be null"):
        f("pg_jsonb_build_object", None, "t", "x")


def test_strings_and_numbers() -> None:
    assert f("pg_lower", "ÄBC") == "äbc" and f("pg_upper", "straße") == "STRASSE"
    assert f("pg_substr", "abcdef", 0, 3) == "ab"
    assert f("pg_substr", "abcdef", -1, 4) == "ab"
    assert f("pg_substr", "abcdef", 3) == "cdef"
    assert f("pg_greatest", 1, None, 3) == 3 and f("pg_least", None, None) is None
    assert f("pg_round", 2.5) == 3 and f("pg_round", 1.005, 2) == 1.01
    with pytest.raises(PgValueError, match="division by zero"):
        f("pg_nonzero", 0)
    with pytest.raises(PgValueError, match="negative substring length not allowed"):
        f("pg_substr", "abc", 1, -1)


def test_time_functions() -> None:
    moment = "2026-01-31T12:00:00.000000+00:00"
    assert f("pg_ts_add", "z", moment, "1 month", 1) == "2026-02-28T12:00:00.000000+00:00"
    assert f("pg_ts_add", "d", "2026-01-31", "1 day", -1) == "2026-01-30T00:00:00.000000"
    assert f("pg_date_trunc", "month", "z", moment) == "2026-01-01T00:00:00.000000+00:00"
    assert f("pg_extract", "year", "z", moment) == 2026


def test_conversions_refuse_what_postgresql_refuses() -> None:
    assert (
        f("pg_uuid", "A0EEBC999C0B4EF8BB6D6BB9BD380A11") == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    )
    assert f("pg_bool", "yes") == 1 and f("pg_int", 2.5) == 3 and f("pg_numeric", "1.50") == 1.5
    assert f("pg_json_array", "[1, 2]") == "[1,2]"
    for name, value, message in [
        ("pg_json_array", '{"a": 1}', "malformed array literal"),
        ("pg_json_elements", '{"a": 1}', "cannot extract elements from an object"),
        ("pg_json_members", "[1]", "cannot call jsonb_each on an array"),
        ("pg_jsonb_array_length", "3", "cannot get array length of a scalar"),
        ("pg_int", "x", 'invalid input syntax for type bigint: "x"'),
    ]:
        with pytest.raises(PgValueError, match=message):
            f(name, value)
