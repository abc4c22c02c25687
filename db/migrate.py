"""Apply, revert and inspect the schema migrations (the alembic chain under ``db/migrations``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the chain."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def revisions() -> list[str]:
    """Every revision of the chain, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


async def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate the schema forward to ``revision`` (default: the newest)."""
    async with db.migration_connection() as connection:
        await connection.run_sync(lambda sync: command.upgrade(_config(sync), revision))


async def downgrade(db: Database, revision: str = "base") -> None:
    """Migrate the schema back to ``revision`` (default: empty)."""
    async with db.migration_connection() as connection:
        await connection.run_sync(lambda sync: command.downgrade(_config(sync), revision))


async def current(db: Database) -> str | None:
    """The revision the database is at, or None for an unmigrated database."""
    async with db.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
