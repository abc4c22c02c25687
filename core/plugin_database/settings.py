"""Limits of plugin SQL, with defaults and environment overrides.

Every limit is one field here and one variable in ``ENVIRONMENT``; the error a limit raises
names both (``limit_message``).
"""

from __future__ import annotations

from pydantic import Field

from core.settings import EnvironmentSettings

#: Environment variables that override the defaults, by setting name.
ENVIRONMENT = {
    "statement_timeout_ms": "SANDBOX_PLUGIN_SQL_TIMEOUT_MS",
    "write_timeout_ms": "SANDBOX_PLUGIN_SQL_WRITE_TIMEOUT_MS",
    "migration_timeout_ms": "SANDBOX_PLUGIN_MIGRATION_TIMEOUT_MS",
    "migration_lock_ms": "SANDBOX_PLUGIN_MIGRATION_LOCK_MS",
    "max_rows": "SANDBOX_PLUGIN_SQL_MAX_ROWS",
    "max_result_bytes": "SANDBOX_PLUGIN_SQL_MAX_RESULT_BYTES",
    "max_text_bytes": "SANDBOX_PLUGIN_SQL_MAX_TEXT_BYTES",
    "max_migration_statements": "SANDBOX_PLUGIN_MIGRATION_MAX_STATEMENTS",
    "cache_size": "SANDBOX_PLUGIN_SQL_CACHE_SIZE",
    "cache_bytes": "SANDBOX_PLUGIN_SQL_CACHE_BYTES",
    "connections": "SANDBOX_PLUGIN_SQL_CONNECTIONS",
    "connection_wait_ms": "SANDBOX_PLUGIN_SQL_CONNECTION_WAIT_MS",
}


class PluginSqlSettings(EnvironmentSettings):
    """How long plugin SQL may run, how big it and its results may be, what it may hold."""

    ENVIRONMENT = ENVIRONMENT

    #: ``ctx.db.query`` statement (and lock wait) limit. Well under the worker's 30 s RPC
    #: timeout, so the plugin sees this error rather than a timeout.
    statement_timeout_ms: int = Field(default=5_000, gt=0)
    #: ``ctx.db.execute`` statement limit, on both backends. Short because on SQLite a write
    #: holds the database's one writer: host writes wait at most this long for a plugin's.
    write_timeout_ms: int = Field(default=500, gt=0)
    #: Limit of each migration statement; backfills may take longer than runtime calls...
    migration_timeout_ms: int = Field(default=60_000, gt=0)
    #: ...but not while host writers wait: on SQLite the whole migration run (it holds the
    #: writer), on PostgreSQL the time from its first lock on a core table that blocks writers
    #: (a foreign key to ``public.issues`` takes one) to its commit, and every lock wait. Under
    #: 1 s, with room for the rollback: no host write waits a second on a plugin.
    migration_lock_ms: int = Field(default=800, gt=0)
    #: Rows ``ctx.db.query`` may return; more is an error (page with LIMIT/OFFSET).
    max_rows: int = Field(default=10_000, gt=0)
    #: Bytes of the rows ``ctx.db.query`` may return, encoded as JSON (with ``\u`` escapes, an
    #: upper bound of any encoding); under the worker protocol's 1 MB frame
    #: (``SANDBOX_PLUGIN_MAX_MESSAGE_BYTES``), so that a result this limit lets through fits.
    max_result_bytes: int = Field(default=768 * 1024, gt=0)
    #: Bytes (UTF-8) of one ``ctx.db`` SQL text or one migration file. Checking costs about
    #: 1.5-5 s of a thread per MB; this bounds it, and what one check holds the GIL for.
    max_text_bytes: int = Field(default=256 * 1024, gt=0)
    #: Statements in one migration file.
    max_migration_statements: int = Field(default=500, gt=0)
    #: Statements kept parsed, checked and rewritten, by text...
    cache_size: int = Field(default=512, ge=0)
    #: ...and the estimated memory they may keep (see ``cache``).
    cache_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    #: Database connections of plugin SQL, apart from the host's (on SQLite: readers; plugin
    #: writes share one connection, as SQLite has one writer).
    connections: int = Field(default=4, gt=0)
    #: How long a plugin call waits for one of those connections before it fails.
    connection_wait_ms: int = Field(default=5_000, gt=0)


def limit_message(text: str, setting: str) -> str:
    """``text`` followed by the variable that changes the limit, as every limit error ends."""
    return PluginSqlSettings.named(text, setting)


def byte_size(size: int) -> str:
    """A byte count as limit messages show it: ``20.0 MB``, ``256.0 KB``."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.1f} KB"


__all__ = ["ENVIRONMENT", "PluginSqlSettings", "byte_size", "limit_message"]
