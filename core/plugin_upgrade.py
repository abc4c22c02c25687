"""Upgrading an installed plugin in place: a newer manifest replaces the stored one.

Upstream's ``upgrade`` keeps the plugin id (the row, its config, state and namespace stay) and
updates the row from the new package. The caller validates the manifest first (the install
checks) and restarts the worker after.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.errors import InvalidInput
from core.plugin_registry import update_plugin
from core.records import PluginRecord
from db import Database


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
        "version": manifest["version"],
        "api_version": manifest.get("apiVersion", 1),
        "categories": list(manifest.get("categories", [])),
        "manifest_json": dict(manifest),
        "updated_at": datetime.now(UTC),
    }
    return await update_plugin(db, plugin.id, values)


def manifest_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two manifests, one short phrase per change, in key order.

    ``version`` and ``capabilities`` are spelled out; any other top-level key is named.
    """
    changes: list[str] = []
    if old.get("version") != new.get("version"):
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


__all__ = ["check_same_plugin", "manifest_changes", "upgrade_plugin"]
