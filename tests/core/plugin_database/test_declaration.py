"""The manifest's database block is validated with upstream's messages (zod 3 wording)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from core.plugin_database import PluginDatabaseDeclaration, missing_capability_messages


def _message(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as raised:
        PluginDatabaseDeclaration.model_validate(data)
    return str(raised.value.errors()[0]["msg"])


def test_a_full_declaration_parses() -> None:
    declaration = PluginDatabaseDeclaration.model_validate(
        {
            "namespaceSlug": "orchestration_smoke",
            "migrationsDir": "migrations",
            "coreReadTables": ["issues", "agents"],
            "ignored": True,
        }
    )
    assert declaration.namespace_slug == "orchestration_smoke"
    assert declaration.read_tables == frozenset({"issues", "agents"})
    assert PluginDatabaseDeclaration.model_validate({"migrationsDir": "m"}).read_tables == set()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"migrationsDir": "m", "namespaceSlug": "_x"},
            "namespaceSlug must be lowercase letters, digits, or underscores and start with a "
            "letter or digit",
        ),
        (
            {"migrationsDir": "m", "namespaceSlug": "a" * 41},
            "Too big: expected string to have <=40 characters",
        ),
        ({"migrationsDir": ""}, "Too small: expected string to have >=1 characters"),
        (
            {"migrationsDir": "db/../.."},
            "migrationsDir must be a relative package path without '..' or backslashes",
        ),
        (
            {"migrationsDir": "db\\m"},
            "migrationsDir must be a relative package path without '..' or backslashes",
        ),
        (
            {"migrationsDir": "m", "coreReadTables": ["issues", "agents", "issues", "agents"]},
            "Duplicate database coreReadTables: issues, agents",
        ),
    ],
)
def test_upstreams_messages(data: dict[str, Any], message: str) -> None:
    assert _message(data) == message


def test_unknown_core_tables_get_zods_enum_message() -> None:
    message = _message({"migrationsDir": "m", "coreReadTables": ["plugins"]})
    assert message.startswith('Invalid option: expected one of "companies"|"projects"|')
    assert message.endswith('|"budget_incidents"')


def test_missing_capabilities_each_get_a_message() -> None:
    assert missing_capability_messages([]) == [
        "Capability 'database.namespace.migrate' is required when database migrations are declared",
        "Capability 'database.namespace.read' is required when database migrations are declared",
    ]
    assert (
        missing_capability_messages(["database.namespace.migrate", "database.namespace.read"]) == []
    )
