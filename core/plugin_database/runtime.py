"""What a runtime call needs before its SQL runs: the plugin's access, its parameters.

The access (namespace and core tables a plugin may read) is gathered once, when the host
activates the plugin; the capability each ``db.*`` method needs is the worker bridge's check.

Also the one mapping from database failures of plugin SQL to host errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from core.errors import HostError, NotFound
from core.plugin_database.errors import (
    PluginSqlConflict,
    PluginSqlInvalid,
    PluginSqlLimitExceeded,
    PluginSqlRejected,
    PluginSqlViolation,
)
from core.plugin_database.namespace import require_active
from core.plugin_database.policy import NUL_MESSAGE
from core.unit_of_work import UnitOfWork
from db.errors import PluginStatementError, PluginStatementFailure
from db.models import Plugin, PluginDatabaseNamespace


@dataclass(frozen=True)
class PluginAccess:
    """What a plugin's runtime SQL may touch: its active namespace and the core tables it
    declared (``database.coreReadTables``)."""

    plugin_id: uuid.UUID
    namespace: str
    core_read_tables: frozenset[str]


def parse_plugin_id(plugin_id: uuid.UUID | str) -> uuid.UUID:
    """The plugin's record id; text that is no uuid names no plugin."""
    if isinstance(plugin_id, uuid.UUID):
        return plugin_id
    try:
        return uuid.UUID(plugin_id)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"Plugin not found: {plugin_id}") from None


async def plugin_access(unit: UnitOfWork, plugin_id: uuid.UUID | str) -> PluginAccess:
    """Load the plugin's access; its namespace must be active.

    Raises (in this order, as upstream checks): ``NotFound`` "Plugin not found: <id>",
    ``Conflict`` "Plugin database namespace is not active".
    """
    record_id = parse_plugin_id(plugin_id)
    row = (
        await unit.session.execute(
            sa.select(Plugin.manifest_json, PluginDatabaseNamespace)
            .outerjoin(PluginDatabaseNamespace, PluginDatabaseNamespace.plugin_id == Plugin.id)
            .where(Plugin.id == record_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Plugin not found: {plugin_id}")
    manifest, namespace = row
    database = manifest.get("database") if isinstance(manifest, dict) else None
    tables = (
        frozenset(database.get("coreReadTables") or ())
        if isinstance(database, dict)
        else frozenset()
    )
    return PluginAccess(record_id, require_active(namespace), tables)


_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_json(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL text cannot hold NUL; refuse it on both backends
            raise PluginSqlInvalid(NUL_MESSAGE)
        return True
    if isinstance(value, _JSON_SCALARS):
        return True
    if isinstance(value, list | tuple):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(_is_json(key) and _is_json(item) for key, item in value.items())
    return False


def parse_params(params: Sequence[Any] | None) -> list[Any]:
    """The ``params`` array of ``ctx.db.query``/``ctx.db.execute`` (absent means none)."""
    if params is None:
        return []
    if isinstance(params, str | bytes) or not isinstance(params, Sequence):
        raise PluginSqlInvalid("ctx.db params must be an array of JSON values")
    values = list(params)
    if not all(_is_json(value) for value in values):
        raise PluginSqlInvalid("ctx.db params must be an array of JSON values")
    return values


_FAILURES: dict[PluginStatementFailure, type[HostError]] = {
    PluginStatementFailure.UNIQUE: PluginSqlConflict,
    PluginStatementFailure.FOREIGN_KEY: PluginSqlViolation,
    PluginStatementFailure.NOT_NULL: PluginSqlViolation,
    PluginStatementFailure.CHECK: PluginSqlViolation,
    PluginStatementFailure.TIMEOUT: PluginSqlLimitExceeded,
    PluginStatementFailure.DENIED: PluginSqlRejected,
    PluginStatementFailure.INVALID_DATA: PluginSqlInvalid,
    PluginStatementFailure.OTHER: PluginSqlInvalid,
}


def host_error(error: PluginStatementError) -> HostError:
    """The host error for a failed plugin statement (same kind and message on both backends)."""
    return _FAILURES[error.failure](str(error), details={"failure": error.failure.value})


__all__ = ["PluginAccess", "host_error", "parse_params", "parse_plugin_id", "plugin_access"]
