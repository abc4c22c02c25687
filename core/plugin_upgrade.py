"""Upgrading an installed plugin in place: a newer manifest replaces the stored one.

Upstream's ``upgrade`` keeps the plugin id (the row, its config, state and namespace stay) and
updates the row from the new package. The caller validates the manifest first (the install
checks) and restarts the worker after; its activation applies the new migrations and syncs
the declared jobs. Installing a folder whose key is installed, enabling a plugin and hot
reload all come here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.plugin_database.migrations import (
    applied_checksums,
    migration_files,
    migrations_directory,
    read_manifest,
    read_migration,
)
from core.plugin_registry import update_plugin
from core.records import PluginRecord
from core.unit_of_work import read
from db import Database


@dataclass(frozen=True, slots=True)
class PluginUpdate:
    """What installing or re-reading a plugin's folder did.

    Attributes:
        record: the plugin as it is now.
        previous: the plugin before an upgrade; None for a fresh install.
        changes: what the upgrade changed besides the version, one phrase each
            (``manifest_changes``, a new package path, a replaced config).
        migrations: the migration files the upgrade applied, in order.
    """

    record: PluginRecord
    previous: PluginRecord | None = None
    changes: tuple[str, ...] = ()
    migrations: tuple[str, ...] = ()


def check_same_plugin(plugin: PluginRecord, manifest: Mapping[str, Any]) -> None:
    """An upgrade must keep the manifest id.

    Raises:
        InvalidInput: ``Upgrade failed: new manifest ID '<new>' does not match existing plugin
            ID '<old>'`` (upstream's message).
    """
    if manifest.get("id") != plugin.plugin_key:
        raise InvalidInput(
            f"Upgrade failed: new manifest ID '{manifest.get('id')}' does not match existing "
            f"plugin ID '{plugin.plugin_key}'"
        )


async def upgrade_plugin(
    db: Database,
    plugin: PluginRecord,
    manifest: Mapping[str, Any],
    *,
    package_name: str,
    package_path: str,
) -> PluginRecord:
    """Store a validated newer manifest (version, capabilities, ...) on the plugin's row.

    Status, config, state and namespace are untouched.

    Raises:
        InvalidInput: the manifest names another plugin (``check_same_plugin``).
        NotFound: the plugin's row is gone.
    """
    check_same_plugin(plugin, manifest)
    values = {
        "package_name": package_name,
        "package_path": package_path,
        "version": manifest["version"],
        "api_version": manifest.get("apiVersion", 1),
        "categories": list(manifest.get("categories", [])),
        "manifest_json": dict(manifest),
        "updated_at": datetime.now(UTC),
    }
    return await update_plugin(db, plugin.id, values)


def manifest_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], *, version: bool = True
) -> list[str]:
    """What differs between two manifests, one short phrase per change, in key order.

    ``version`` (unless ``version`` is false: the caller shows it itself) and ``capabilities``
    are spelled out; any other top-level key is named.
    """
    changes: list[str] = []
    if version and old.get("version") != new.get("version"):
        changes.append(f"version {old.get('version')} -> {new.get('version')}")
    old_caps = list(old.get("capabilities") or [])
    new_caps = list(new.get("capabilities") or [])
    added = [cap for cap in new_caps if cap not in old_caps]
    removed = [cap for cap in old_caps if cap not in new_caps]
    if added:
        changes.append(f"capabilities added: {', '.join(added)}")
    if removed:
        changes.append(f"capabilities removed: {', '.join(removed)}")
    for key in sorted(set(old) | set(new)):
        if key not in ("version", "capabilities") and old.get(key) != new.get(key):
            changes.append(f"{key} changed")
    return changes


async def unapplied_migrations(
    db: Database,
    plugin_id: str,
    manifest: Mapping[str, Any],
    package_root: str | Path,
    *,
    max_bytes: int,
) -> list[str]:
    """The package's migration files that the plugin's ledger does not record as applied
    with the same checksum, in order: new files, failed ones, and edited ones (activation
    refuses an edited file with the checksum mismatch error).

    ``max_bytes`` is the plugin SQL text limit (a larger file is hashed, not kept).
    """
    database = read_manifest(manifest).database
    if database is None:
        return []
    directory = migrations_directory(package_root, database.migrations_dir)
    async with read(db) as unit:
        applied = await applied_checksums(unit, uuid.UUID(plugin_id))
    return [
        key
        for key in migration_files(directory)
        if applied.get(key) != read_migration(directory, key, max_bytes=max_bytes).checksum
    ]


__all__ = [
    "PluginUpdate",
    "check_same_plugin",
    "manifest_changes",
    "unapplied_migrations",
    "upgrade_plugin",
]
