"""Driver values become the JSON values plugins receive, the same whichever backend."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from core.plugin_database.kinds import Column
from core.plugin_database.results import json_ready, rows_as_dicts


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (
            uuid.UUID("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            None,
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ),
        (
            datetime(2026, 4, 20, 11, 30, tzinfo=timezone(timedelta(hours=2))),
            None,
            "2026-04-20T09:30:00.000000+00:00",
        ),
        (datetime(2026, 4, 20, 9, 30, 0, 5), None, "2026-04-20T09:30:00.000005"),
        (date(2026, 4, 20), None, "2026-04-20"),
        (Decimal("12.50"), None, 12.5),
        (Decimal("3"), None, 3),
        (3.0, None, 3),
        (2.0**60, None, 2.0**60),
        (Decimal("NaN"), None, "NaN"),
        ({"zz": 1, "a": {"b": 2.0, "aa": [1.5]}}, None, {"a": {"b": 2, "aa": [1.5]}, "zz": 1}),
        (b"\x01\xff", None, "\\x01ff"),
        (1, "bool", True),
        (0, "bool", False),
        ('{"b": [true, null], "a": 1.0}', "jsonb", {"a": 1, "b": [True, None]}),
        (7, "jsonb", 7),
        (
            '["2026-04-20T09:30:00.000000+00:00"]',
            "timestamptz[]",
            ["2026-04-20T09:30:00.000000+00:00"],
        ),
        ("[1, 0]", "bool[]", [True, False]),
        (None, "bool", None),
    ],
)
def test_json_ready(value: object, kind: str | None, expected: object) -> None:
    result = json_ready(value, kind)
    assert result == expected
    assert repr(result) == repr(expected)


def test_rows_as_dicts_keeps_the_last_of_repeated_names() -> None:
    rows = rows_as_dicts(
        ["id", "id", "ok"],
        [(1, 2, 1)],
        [Column("id", "int"), Column("id", "int"), Column("ok", "bool")],
    )
    assert rows == [{"id": 2, "ok": True}]
    assert rows_as_dicts(["at"], [(datetime(2026, 1, 1, tzinfo=UTC),)]) == [
        {"at": "2026-01-01T00:00:00.000000+00:00"}
    ]
