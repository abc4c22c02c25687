"""The manifest's ``database`` block (``PluginDatabaseDeclaration``), with upstream's rules.

Upstream (2026.916.1) validates it with zod 4; the messages below are upstream's, including
zod's defaults, because plugins and their authors see them. The manifest model (``database``
plus its capability rule) imports this module.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from db.constants import PLUGIN_DATABASE_CORE_READ_TABLES

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_SLUG_MAX = 40

#: Capabilities a manifest must declare together with a ``database`` block.
REQUIRED_CAPABILITIES = ("database.namespace.migrate", "database.namespace.read")


def _issue(message: str) -> PydanticCustomError:
    return PydanticCustomError("plugin_manifest", message)


class PluginDatabaseDeclaration(BaseModel):
    """``manifest.database``: the plugin's namespace slug, migrations and core tables it reads."""

    # Unknown keys are dropped, as zod's non-strict object does.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    namespace_slug: str | None = Field(default=None, alias="namespaceSlug")
    migrations_dir: str = Field(alias="migrationsDir")
    core_read_tables: tuple[str, ...] | None = Field(default=None, alias="coreReadTables")

    @field_validator("namespace_slug")
    @classmethod
    def _check_slug(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _SLUG.match(value):
            raise _issue(
                "namespaceSlug must be lowercase letters, digits, or underscores and start "
                "with a letter or digit"
            )
        if len(value) > _SLUG_MAX:
            raise _issue(f"Too big: expected string to have <={_SLUG_MAX} characters")
        return value

    @field_validator("migrations_dir")
    @classmethod
    def _check_migrations_dir(cls, value: str) -> str:
        if not value:
            raise _issue("Too small: expected string to have >=1 characters")
        if value.startswith("/") or ".." in value or "\\" in value:
            raise _issue(
                "migrationsDir must be a relative package path without '..' or backslashes"
            )
        return value

    @field_validator("core_read_tables", mode="before")
    @classmethod
    def _check_core_read_tables(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        for table in value:
            if table not in PLUGIN_DATABASE_CORE_READ_TABLES:
                expected = "|".join(f'"{name}"' for name in PLUGIN_DATABASE_CORE_READ_TABLES)
                raise _issue(f"Invalid option: expected one of {expected}")
        duplicates = sorted({t for t in value if list(value).count(t) > 1}, key=value.index)
        if duplicates:
            raise _issue(f"Duplicate database coreReadTables: {', '.join(duplicates)}")
        return tuple(value)

    @property
    def read_tables(self) -> frozenset[str]:
        """The whitelisted core tables (none when the field is absent)."""
        return frozenset(self.core_read_tables or ())


def missing_capability_messages(capabilities: Collection[str]) -> list[str]:
    """Upstream's manifest issues for a ``database`` block without its required capabilities."""
    return [
        f"Capability '{capability}' is required when database migrations are declared"
        for capability in REQUIRED_CAPABILITIES
        if capability not in capabilities
    ]


__all__ = ["REQUIRED_CAPABILITIES", "PluginDatabaseDeclaration", "missing_capability_messages"]
