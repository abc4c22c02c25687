"""Running plugin SQL: the backend-specific half of plugin database namespaces.

``core.plugin_database`` decides what a plugin may run and produces the SQL for each backend;
this package runs it, and is the only place that knows how each backend does so. The contract:

- ``plugin_sql_backend(dialect)`` gives a ``PluginSqlBackend``, which creates and drops a
  namespace's storage, lists its columns, and runs one statement inside the session's
  transaction (``run(session, sql, params, access=PluginSqlAccess, limits=StatementLimits)``,
  returning a ``StatementResult``). Whatever the database refuses, or a limit it hits, becomes
  ``db.errors.PluginStatementError`` with the same ``failure`` and message on both backends
  (``runner``).
- ``install_sqlite_support`` is the SQLite connect hook: the ``pg_*`` functions rewritten plugin
  SQL calls (``functions``, whose arguments carry the ``VALUE_CODES``) and the guard that
  confines a running plugin statement to its namespace and deadline (``guard``).
- ``sqlite_table_name``: the SQLite table that stores a namespace table (``table_names``).
- PostgreSQL's input rules and output forms for the value types plugin SQL uses
  (``PgValueError`` and the ``parse_*``/``format_*`` functions, ``values``), so that the SQLite
  printer converts literals, and the results reader renders values, as PostgreSQL would.
"""

from db.plugin_sql.functions import VALUE_CODES
from db.plugin_sql.guard import install_sqlite_support
from db.plugin_sql.runner import (
    PluginSqlAccess,
    PluginSqlBackend,
    StatementLimits,
    StatementResult,
    plugin_sql_backend,
)
from db.plugin_sql.table_names import sqlite_table_name
from db.plugin_sql.values import (
    PgValueError,
    format_timestamp,
    format_timestamptz,
    jsonb_normalise,
    number_output,
    parse_bool,
    parse_date,
    parse_int,
    parse_interval,
    parse_json,
    parse_numeric,
    parse_text_array,
    parse_timestamp,
    parse_timestamptz,
    parse_uuid,
    render_json,
)

__all__ = [
    "VALUE_CODES",
    "PgValueError",
    "PluginSqlAccess",
    "PluginSqlBackend",
    "StatementLimits",
    "StatementResult",
    "format_timestamp",
    "format_timestamptz",
    "install_sqlite_support",
    "jsonb_normalise",
    "number_output",
    "parse_bool",
    "parse_date",
    "parse_int",
    "parse_interval",
    "parse_json",
    "parse_numeric",
    "parse_text_array",
    "parse_timestamp",
    "parse_timestamptz",
    "parse_uuid",
    "plugin_sql_backend",
    "render_json",
    "sqlite_table_name",
]
