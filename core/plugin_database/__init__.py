"""Plugin database namespaces: PostgreSQL-dialect plugin SQL that runs unchanged on SQLite.

Each plugin with a ``database`` block in its manifest owns a namespace
(``plugin_<slug>_<hash>``), runs its own ``.sql`` migrations in it, and reaches it at runtime
through ``ctx.db.query`` and ``ctx.db.execute``. Everything is decided on PostgreSQL's own parse
tree (``policy``); PostgreSQL runs the plugin's text, SQLite a rewrite of the same tree
(``rewrite``). ``PluginDatabase`` is the entry point::

    plugin_db = PluginDatabase(db)
    await plugin_db.apply_migrations(plugin_id, manifest, package_root)
    access = await plugin_db.access(plugin_id)  # once, at activation
    rows = await plugin_db.query(access, "SELECT ... WHERE id = $1", [issue_id])
    await plugin_db.execute(access, "INSERT INTO ...", [...])  # {"rowCount": 1}
"""

from core.plugin_database.cache import StatementCache
from core.plugin_database.declaration import (
    PluginDatabaseDeclaration,
    missing_capability_messages,
)
from core.plugin_database.errors import (
    PluginSqlConflict,
    PluginSqlInvalid,
    PluginSqlLimitExceeded,
    PluginSqlRejected,
    PluginSqlUnsupported,
    PluginSqlViolation,
)
from core.plugin_database.namespace import derive_namespace
from core.plugin_database.policy import Mode, check_migration, check_runtime
from core.plugin_database.runtime import PluginAccess
from core.plugin_database.service import PluginDatabase
from core.plugin_database.settings import PluginSqlSettings

__all__ = [
    "Mode",
    "PluginAccess",
    "PluginDatabase",
    "PluginDatabaseDeclaration",
    "PluginSqlConflict",
    "PluginSqlInvalid",
    "PluginSqlLimitExceeded",
    "PluginSqlRejected",
    "PluginSqlSettings",
    "PluginSqlUnsupported",
    "PluginSqlViolation",
    "StatementCache",
    "check_migration",
    "check_runtime",
    "derive_namespace",
    "missing_capability_messages",
]
