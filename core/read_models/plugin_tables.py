"""A plugin's own tables: each table of its database namespace, its columns and its row count.

Columns come from the plugin SQL backend (the one place that knows where each backend keeps a
namespace); rows are counted with ``SELECT count(*)`` through the plugin's own ``ctx.db.query``
path, so the count is what the plugin itself would read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.plugin_database import PluginAccess, PluginDatabase
from core.unit_of_work import read

_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class PluginTable:
    """One table of a plugin's namespace."""

    namespace: str
    name: str
    #: ``(column, type)`` in column order, types as the backend declares them.
    columns: tuple[tuple[str, str], ...]
    rows: int

    @property
    def qualified_name(self) -> str:
        """The name plugin SQL uses: ``<namespace>.<table>``."""
        return f"{self.namespace}.{quote_identifier(self.name)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "table": self.name,
            "qualifiedName": self.qualified_name,
            "columns": [{"name": name, "type": kind} for name, kind in self.columns],
            "rowCount": self.rows,
        }


def quote_identifier(name: str) -> str:
    """``name`` as SQL writes it: bare when plain, else double-quoted."""
    return name if _PLAIN.match(name) else '"' + name.replace('"', '""') + '"'


async def plugin_tables(plugin_db: PluginDatabase, access: PluginAccess) -> list[PluginTable]:
    """The tables of the plugin's namespace, by name."""
    async with read(plugin_db.db) as unit:
        declared = await plugin_db.backend.namespace_columns(unit.session, access.namespace)
    found = []
    for name in sorted(declared):
        table = PluginTable(access.namespace, name, tuple(declared[name]), 0)
        [counted] = await plugin_db.query(
            access, f"SELECT count(*) AS row_count FROM {table.qualified_name}"
        )
        found.append(PluginTable(access.namespace, name, table.columns, int(counted["row_count"])))
    return found
