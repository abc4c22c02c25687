"""Installed plugins: the ``plugins`` rows.

A plugin is found by its record id or its key (the manifest id), as upstream's routes accept
both. Registering a key that is already installed is a conflict (the runtime upgrades such a
plugin instead, ``core.plugin_upgrade``). Re-installing an uninstalled key from the same
package (the same ``package_name``) reuses its row, so the plugin's config, state and
namespace survive the round trip, as upstream's do; a different package that reuses the key
is a new plugin and starts clean (upstream would hand it the old plugin's data).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core.errors import Conflict, NotFound
from core.ids import as_uuid
from core.plugin_lifecycle import check_transition
from core.records import PluginRecord
from db import Database, UniqueViolation, tables


class PluginAlreadyInstalled(Conflict):
    """``Plugin already installed: <key>`` (upstream's message); ``plugin_key`` names it."""

    def __init__(self, plugin_key: str) -> None:
        super().__init__(f"Plugin already installed: {plugin_key}")
        self.plugin_key = plugin_key


async def find_plugin(db: Database, ref: str) -> PluginRecord | None:
    """The plugin whose id or key is ``ref``, uninstalled ones included.

    A key may look like a UUID (``12345678-1234-1234-1234-123456789abc`` is a valid manifest
    id), so a UUID-shaped ref is looked up as both; the record id wins if both match.
    """
    plugins = tables.plugins
    record_id = as_uuid(ref)
    match = plugins.c.plugin_key == ref
    if record_id is not None:
        match = sa.or_(plugins.c.id == record_id, match)
    async with db.read() as session:
        rows = (await session.execute(sa.select(plugins).where(match))).mappings().all()
    if not rows:
        return None
    row = next((row for row in rows if str(row["id"]) == record_id), rows[0])
    return PluginRecord.model_validate(row)


async def require_plugin(db: Database, ref: str) -> PluginRecord:
    """Like ``find_plugin``; a missing plugin is upstream's 404 ``Plugin not found``."""
    plugin = await find_plugin(db, ref)
    if plugin is None:
        raise NotFound("Plugin not found")
    return plugin


async def list_plugins(db: Database, *, include_uninstalled: bool = False) -> list[PluginRecord]:
    """Plugins in install order."""
    plugins = tables.plugins
    query = sa.select(plugins).order_by(plugins.c.install_order, plugins.c.installed_at)
    if not include_uninstalled:
        query = query.where(plugins.c.status != "uninstalled")
    async with db.read() as session:
        rows = (await session.execute(query)).mappings().all()
    return [PluginRecord.model_validate(row) for row in rows]


async def register_plugin(
    db: Database,
    manifest: Mapping[str, Any],
    *,
    package_name: str,
    package_path: str | None,
    new_id: str | None = None,
) -> PluginRecord:
    """Store a validated manifest as an ``installed`` plugin.

    Args:
        manifest: the plugin's raw manifest (keys of newer releases included), already
            validated; it is what the worker receives in ``initialize``.
        new_id: the id of a new row (random by default).

    Raises:
        PluginAlreadyInstalled: unless the key is uninstalled.
    """
    plugins = tables.plugins
    key = manifest["id"]
    now = datetime.now(UTC)
    values = {
        "package_name": package_name,
        "package_path": package_path,
        "version": manifest["version"],
        "api_version": manifest.get("apiVersion", 1),
        "categories": list(manifest.get("categories", [])),
        "manifest_json": dict(manifest),
        "status": "installed",
        "last_error": None,
        "updated_at": now,
    }
    try:
        async with db.transaction() as session:
            existing = (
                (await session.execute(sa.select(plugins).where(plugins.c.plugin_key == key)))
                .mappings()
                .first()
            )
            if existing is not None and existing["status"] != "uninstalled":
                raise PluginAlreadyInstalled(key)
            if existing is not None and existing["package_name"] != package_name:
                # Another package reuses the key: the uninstalled plugin's config, state and
                # namespace record go with its row, and its namespace tables are dropped when
                # this plugin's namespace is created (``ensure_namespace``).
                await session.execute(sa.delete(plugins).where(plugins.c.id == existing["id"]))
                existing = None
            if existing is not None:
                await session.execute(
                    sa.update(plugins).where(plugins.c.id == existing["id"]).values(values)
                )
                record_id = existing["id"]
            else:
                record_id = new_id or str(uuid.uuid4())
                order = sa.select(sa.func.coalesce(sa.func.max(plugins.c.install_order), 0) + 1)
                await session.execute(
                    sa.insert(plugins).values(
                        id=record_id,
                        plugin_key=key,
                        install_order=order.scalar_subquery(),
                        installed_at=now,
                        **values,
                    )
                )
            row = (
                (await session.execute(sa.select(plugins).where(plugins.c.id == record_id)))
                .mappings()
                .one()
            )
    except UniqueViolation as error:  # a concurrent install of the same key won
        raise PluginAlreadyInstalled(key) from error
    return PluginRecord.model_validate(row)


async def namespace_names(db: Database) -> dict[str, str]:
    """The database namespace (schema name) of each plugin that has one, by plugin id."""
    namespaces = tables.plugin_database_namespaces
    query = sa.select(namespaces.c.plugin_id, namespaces.c.namespace_name)
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return {str(plugin_id): name for plugin_id, name in rows}


async def set_status(
    db: Database, plugin: PluginRecord, status: str, *, last_error: str | None = None
) -> PluginRecord:
    """Move the plugin to ``status`` (upstream's transitions); ``last_error`` is replaced."""
    check_transition(plugin.plugin_key, plugin.status, status)
    return await update_plugin(
        db, plugin.id, {"status": status, "last_error": last_error, "updated_at": datetime.now(UTC)}
    )


async def update_plugin(db: Database, plugin_id: str, values: Mapping[str, Any]) -> PluginRecord:
    """Write ``values`` to the plugin's row and return the row as it is now.

    Raises:
        NotFound: the row is gone.
    """
    plugins = tables.plugins
    async with db.transaction() as session:
        result = await session.execute(
            sa.update(plugins)
            .where(plugins.c.id == plugin_id)
            .values(dict(values))
            .returning(*plugins.c)
        )
        row = result.mappings().first()
    if row is None:
        raise NotFound("Plugin not found")
    return PluginRecord.model_validate(row)


async def delete_plugin(db: Database, plugin_id: str) -> None:
    """Delete the plugin's row; its config, state and logs go with it (ON DELETE CASCADE)."""
    async with db.transaction() as session:
        await session.execute(sa.delete(tables.plugins).where(tables.plugins.c.id == plugin_id))
