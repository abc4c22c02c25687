"""Plugin records: installs, config, state, logs, database namespaces and their migrations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from db.models.base import (
    Base,
    fk_field,
    id_field,
    int_field,
    json_field,
    text_field,
    timestamp_field,
)
from db.types import JSON


class Plugin(Base, table=True):
    """One installed plugin, keyed by its manifest id (``plugin_key``)."""

    __tablename__ = "plugins"
    __table_args__ = (
        Index("plugins_plugin_key_idx", "plugin_key", unique=True),
        Index("plugins_status_idx", "status"),
    )

    id: uuid.UUID = id_field()
    plugin_key: str = text_field()
    package_name: str = text_field()
    version: str = text_field()
    api_version: int = int_field(1)
    categories: list[str] = json_field([])
    manifest_json: dict[str, Any] = json_field(nullable=False)
    status: str = text_field("installed")
    install_order: int | None = int_field()
    package_path: str | None = text_field(nullable=True)
    last_error: str | None = text_field(nullable=True)
    installed_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class PluginConfig(Base, table=True):
    """The operator's instance-wide configuration of a plugin (one row per plugin)."""

    __tablename__ = "plugin_config"
    __table_args__ = (Index("plugin_config_plugin_id_idx", "plugin_id", unique=True),)

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    config_json: dict[str, Any] = json_field({})
    last_error: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class PluginEntity(Base, table=True):
    """A record a plugin keeps about something outside Paperclip (``ctx.entities``), keyed by
    its type and external id."""

    __tablename__ = "plugin_entities"
    __table_args__ = (
        Index("plugin_entities_plugin_idx", "plugin_id"),
        Index("plugin_entities_company_idx", "company_id"),
        Index("plugin_entities_type_idx", "entity_type"),
        Index("plugin_entities_scope_idx", "scope_kind", "scope_id"),
        # SQLite has no NULLS NOT DISTINCT: there core.plugin_entities' lookup under the
        # writer lock keeps instance-wide rows (company_id NULL) unique.
        Index(
            "plugin_entities_external_idx",
            "company_id",
            "plugin_id",
            "entity_type",
            "external_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    company_id: uuid.UUID | None = fk_field("companies.id", ondelete="CASCADE")
    entity_type: str = text_field()
    scope_kind: str = text_field()
    scope_id: str | None = text_field(nullable=True)
    external_id: str | None = text_field(nullable=True)
    title: str | None = text_field(nullable=True)
    status: str | None = text_field(nullable=True)
    data: dict[str, Any] = json_field({})
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class PluginState(Base, table=True):
    """A scoped key-value entry of a plugin (``ctx.state``)."""

    __tablename__ = "plugin_state"
    __table_args__ = (
        UniqueConstraint(
            "plugin_id",
            "scope_kind",
            "scope_id",
            "namespace",
            "state_key",
            name="plugin_state_unique_entry_idx",
            postgresql_nulls_not_distinct=True,
        ),
        # Ours, not upstream's: SQLite has no NULLS NOT DISTINCT, so instance-scope entries
        # (scope_id NULL) are kept unique by this partial index, on both backends alike.
        Index(
            "plugin_state_null_scope_entry_uq",
            "plugin_id",
            "scope_kind",
            "namespace",
            "state_key",
            unique=True,
            postgresql_where=sa.text("scope_id IS NULL"),
            sqlite_where=sa.text("scope_id IS NULL"),
        ),
        Index("plugin_state_plugin_scope_idx", "plugin_id", "scope_kind"),
    )

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    scope_kind: str = text_field()
    #: NULL for the ``instance`` scope.
    scope_id: str | None = text_field(nullable=True)
    namespace: str = text_field("default")
    state_key: str = text_field()
    #: Any JSON value, ``null`` included (stored as JSON null, never SQL NULL).
    value_json: Any = Field(
        default=None, sa_column=sa.Column("value_json", JSON(none_as_null=False), nullable=False)
    )
    updated_at: datetime = timestamp_field(now=True)


class PluginLog(Base, table=True):
    """A log line of a plugin worker (``ctx.logger`` or captured stderr)."""

    __tablename__ = "plugin_logs"
    __table_args__ = (
        Index("plugin_logs_plugin_time_idx", "plugin_id", "created_at"),
        Index("plugin_logs_level_idx", "level"),
        # Ours: live viewers follow new lines by time (db.change_feed).
        Index("plugin_logs_created_idx", "created_at"),
    )

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    level: str = text_field("info")
    message: str = text_field()
    meta: dict[str, Any] | None = json_field()
    created_at: datetime = timestamp_field(now=True)


class PluginDatabaseNamespace(Base, table=True):
    """The private database namespace of a plugin."""

    __tablename__ = "plugin_database_namespaces"
    __table_args__ = (
        Index("plugin_database_namespaces_plugin_idx", "plugin_id", unique=True),
        Index("plugin_database_namespaces_namespace_idx", "namespace_name", unique=True),
        Index("plugin_database_namespaces_status_idx", "status"),
    )

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    plugin_key: str = text_field()
    namespace_name: str = text_field()
    namespace_mode: str = text_field("schema")
    status: str = text_field("active")
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)


class PluginMigration(Base, table=True):
    """The ledger of a plugin's applied (or failed) migration files."""

    __tablename__ = "plugin_migrations"
    __table_args__ = (
        Index("plugin_migrations_plugin_key_idx", "plugin_id", "migration_key", unique=True),
        Index("plugin_migrations_plugin_idx", "plugin_id"),
        Index("plugin_migrations_status_idx", "status"),
    )

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    plugin_key: str = text_field()
    namespace_name: str = text_field()
    migration_key: str = text_field()
    #: SHA-256 hex of the file.
    checksum: str = text_field()
    plugin_version: str = text_field()
    status: str = text_field()
    started_at: datetime = timestamp_field(now=True)
    applied_at: datetime | None = timestamp_field()
    error_message: str | None = text_field(nullable=True)


class PluginCapabilityUsage(Base, table=True):
    """Ours: how often a plugin's worker called each host method, and how often it was refused.

    Upstream keeps no such record. A reviewer compares it with the manifest: a capability
    declared but never used is over-privilege, a refused call is a plugin probing for more.
    """

    __tablename__ = "plugin_capability_usage"
    __table_args__ = (
        Index("plugin_capability_usage_plugin_method_idx", "plugin_id", "method", unique=True),
        Index("plugin_capability_usage_updated_idx", "updated_at"),
    )

    id: uuid.UUID = id_field()
    plugin_id: uuid.UUID = fk_field("plugins.id", ondelete="CASCADE", nullable=False)
    #: The worker-to-host method, as the worker sent it.
    method: str = text_field()
    #: The capability the method requires; NULL for ungated and unknown methods.
    capability: str | None = text_field(nullable=True)
    #: Calls that passed the capability and company-scope checks.
    allowed_count: int = int_field(0)
    #: Calls refused: capability not declared (-32001), or a method the host does not serve.
    denied_count: int = int_field(0)
    #: Calls refused because they named a company outside their invocation (-32005).
    out_of_scope_count: int = int_field(0)
    last_allowed_at: datetime | None = timestamp_field()
    last_denied_at: datetime | None = timestamp_field()
    #: The message of the latest refusal.
    last_denial: str | None = text_field(nullable=True)
    created_at: datetime = timestamp_field(now=True)
    updated_at: datetime = timestamp_field(now=True)
