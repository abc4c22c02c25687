"""Limits of plugin SQL, with defaults and environment overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

#: Environment variables that override the defaults, by setting name.
ENVIRONMENT = {
    "statement_timeout_ms": "SANDBOX_PLUGIN_SQL_TIMEOUT_MS",
    "migration_timeout_ms": "SANDBOX_PLUGIN_MIGRATION_TIMEOUT_MS",
    "max_rows": "SANDBOX_PLUGIN_SQL_MAX_ROWS",
    "cache_size": "SANDBOX_PLUGIN_SQL_CACHE_SIZE",
}


class PluginSqlSettings(BaseModel):
    """How long plugin SQL may run, how many rows a query may return, how much is cached."""

    model_config = ConfigDict(frozen=True)

    #: ``ctx.db.query``/``ctx.db.execute`` statement (and lock wait) limit. Well under the
    #: worker's 30 s RPC timeout, so the plugin sees this error rather than a timeout.
    statement_timeout_ms: int = Field(default=5_000, gt=0)
    #: Limit of each migration statement; backfills may take longer than runtime calls.
    migration_timeout_ms: int = Field(default=60_000, gt=0)
    #: Rows ``ctx.db.query`` may return; more is an error (page with LIMIT/OFFSET).
    max_rows: int = Field(default=10_000, gt=0)
    #: Statements kept parsed, checked and rewritten, by text.
    cache_size: int = Field(default=512, ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Self:
        """The defaults, overridden by ``SANDBOX_PLUGIN_SQL_*`` variables that are set."""
        given = {
            name: environ[variable] for name, variable in ENVIRONMENT.items() if variable in environ
        }
        return cls.model_validate(given)


__all__ = ["ENVIRONMENT", "PluginSqlSettings"]
