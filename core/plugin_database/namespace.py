"""A plugin's namespace: its name (derived byte-exactly as upstream does) and its record."""

from __future__ import annotations

import hashlib
import re
import uuid

import sqlalchemy as sa

from core.errors import Conflict
from core.unit_of_work import UnitOfWork
from db import upsert
from db.models import PluginDatabaseNamespace
from db.plugin_sql import PluginSqlBackend
from db.types import SqlNow

#: PostgreSQL's identifier length limit; the derived name never reaches it (at most 54).
_MAX_IDENTIFIER = 63
_SLUG_LENGTH = 36
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")

#: Upstream's only namespace mode; on SQLite the namespace is a table-name prefix that
#: behaves like a schema to the plugin, so the record says ``schema`` on both backends.
NAMESPACE_MODE = "schema"
ACTIVE = "active"
MIGRATION_FAILED = "migration_failed"


def derive_namespace(plugin_key: str, namespace_slug: str | None = None) -> str:
    """``plugin_<slug>_<first 10 hex of sha256(plugin key)>``, as upstream derives it.

    The slug is ``namespace_slug`` when given (even empty), else the plugin key: lowercased,
    runs outside ``[a-z0-9_]`` become ``_``, outer ``_`` are stripped, repeated ``_`` collapse,
    and the result is cut to 36 characters (an ``_`` left at the cut stays), or ``plugin`` if
    nothing is left.
    """
    digest = hashlib.sha256(plugin_key.encode()).hexdigest()[:10]
    source = namespace_slug if namespace_slug is not None else plugin_key
    slug = _NOT_SLUG.sub("_", source.lower()).strip("_")
    slug = re.sub(r"_+", "_", slug)[:_SLUG_LENGTH] or "plugin"
    return f"plugin_{slug}_{digest}"[:_MAX_IDENTIFIER]


def check_identifier(value: str, label: str = "identifier") -> str:
    """Refuse a name that is not a plain SQL identifier (upstream's "Unsafe SQL ..." error)."""
    if not _IDENTIFIER.match(value):
        raise ValueError(f"Unsafe SQL {label}: {value}")
    return value


def migration_lock_key(plugin_id: uuid.UUID) -> int:
    """The per-plugin lock key: the first 12 hex digits of sha256(plugin id) as an integer."""
    return int(hashlib.sha256(str(plugin_id).encode()).hexdigest()[:12], 16)


async def ensure_namespace(
    unit: UnitOfWork,
    backend: PluginSqlBackend,
    *,
    plugin_id: uuid.UUID,
    plugin_key: str,
    namespace: str,
) -> PluginDatabaseNamespace:
    """Create the namespace's storage and upsert its record as ``active``.

    Storage that no namespace record owns is what a plugin that is gone left behind (the
    name derives from the plugin key, which a different package may reuse): it is dropped
    first, so the new owner never reads the old plugin's data.
    """
    check_identifier(namespace)
    owner = await unit.session.scalar(
        sa.select(PluginDatabaseNamespace.plugin_id).where(
            PluginDatabaseNamespace.namespace_name == namespace
        )
    )
    if owner is None:
        await backend.drop_namespace(unit.session, namespace)
    await backend.create_namespace(unit.session, namespace)
    values = {
        "id": uuid.uuid4(),
        "plugin_id": plugin_id,
        "plugin_key": plugin_key,
        "namespace_name": namespace,
        "namespace_mode": NAMESPACE_MODE,
        "status": ACTIVE,
        "updated_at": SqlNow(),
    }
    await unit.session.execute(
        upsert(
            unit.dialect,
            PluginDatabaseNamespace.__table__,
            values,
            conflict_columns=["plugin_id"],
            update_columns=[
                "plugin_key",
                "namespace_name",
                "namespace_mode",
                "status",
                "updated_at",
            ],
        )
    )
    record = await unit.session.scalar(
        sa.select(PluginDatabaseNamespace)
        .where(PluginDatabaseNamespace.plugin_id == plugin_id)
        .execution_options(populate_existing=True)
    )
    assert record is not None
    return record


async def mark_migration_failed(unit: UnitOfWork, plugin_id: uuid.UUID) -> None:
    """Set the namespace to ``migration_failed``; runtime SQL is refused until it is fixed."""
    await unit.session.execute(
        sa.update(PluginDatabaseNamespace)
        .where(PluginDatabaseNamespace.plugin_id == plugin_id)
        .values(status=MIGRATION_FAILED, updated_at=SqlNow())
    )


def require_active(namespace: PluginDatabaseNamespace | None) -> str:
    """The namespace name, if the namespace exists and is active."""
    if namespace is None or namespace.status != ACTIVE:
        raise Conflict("Plugin database namespace is not active")
    return namespace.namespace_name


__all__ = [
    "ACTIVE",
    "MIGRATION_FAILED",
    "NAMESPACE_MODE",
    "check_identifier",
    "derive_namespace",
    "ensure_namespace",
    "mark_migration_failed",
    "migration_lock_key",
    "require_active",
]
