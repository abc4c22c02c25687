"""Installed-plugin templates: a plugin installed once per session, copied for each test.

Installing a plugin into a fresh database (validation, the record, namespace, migrations, jobs)
is the same work in every test of a session that installs the same package. The first time a
``PluginSandbox`` installs a package as the first thing it does with its database, that install
runs once more into a template of its own (a copy of the migrated template: the plugin
registered, ``ready``, its migrations applied and jobs synced; no worker, so nothing a worker's
``setup`` does). That test and every later one doing the same get their database replaced by a
copy of it (``db.templates.TemplateClones.replace``), and only the worker starts.

A template is keyed by the package folder, the state of its files (paths, sizes, modification
times; ``node_modules`` left out) and the config given, so an edited migration or manifest
builds a new one. It needs the stable plugin id of spare workers (``stable_plugin_id``): a copy
holds the id its template got. Anything else (a database already used: seeded first, a second
plugin; a package that fails to install) takes the usual install, which reports the error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from db import Database
from db.templates import Template, TemplateClones
from sandbox.plugin_host import PluginHost, PreparedPlugin
from sandbox.plugin_package import package_state
from sandbox.spare_workers import SpareWorkers

_Key = tuple[object, ...]


class PluginTemplates:
    """The session's installed-plugin templates on one backend's ``TemplateClones``."""

    def __init__(self, clones: TemplateClones) -> None:
        self._clones = clones
        self._built: dict[_Key, tuple[Template, PreparedPlugin]] = {}

    async def install(
        self,
        db: Database,
        path: str | os.PathLike[str],
        config: Mapping[str, Any] | None,
        spare_workers: SpareWorkers,
    ) -> PreparedPlugin | None:
        """Make the untouched ``db`` a copy of the package's template (built now if needed).

        Returns:
            The plugin as installed in the copy, its worker still to start; None when ``db``
            was used already or the package does not install (install it the usual way).
        """
        if not self._clones.untouched(db):
            return None
        folder = Path(path).resolve()
        root = folder if folder.is_dir() else folder.parent
        key = (str(folder), package_state(root), json.dumps(config, sort_keys=True))
        built = self._built.get(key)
        if built is None:
            built = await self._build(folder, config, spare_workers)
            if built is None:
                return None
            self._built[key] = built
        template, prepared = built
        await self._clones.replace(db, template)
        return prepared

    async def _build(
        self, folder: Path, config: Mapping[str, Any] | None, spare_workers: SpareWorkers
    ) -> tuple[Template, PreparedPlugin] | None:
        prepared: list[PreparedPlugin] = []

        async def install(db: Database) -> None:
            host = PluginHost(db, spare_workers=spare_workers)  # for the stable plugin id
            try:
                prepared.append(await host.install_prepared(folder, config=config))
            finally:
                await host.close()

        try:
            template = await self._clones.derive(install)
        except Exception:
            return None  # the usual install in the test's own database says what is wrong
        return template, prepared[0]
