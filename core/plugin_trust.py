"""Which plugins an operator trusts to run uncontained (``sandbox_plugin_trust``).

A trusted plugin's worker runs as a plain child process, without the OS containment the sandbox
gives every other worker (see ``sandbox.containment``).
"""

from __future__ import annotations

import sqlalchemy as sa

from db import Database, tables


async def is_trusted(db: Database, plugin_id: str) -> bool:
    """Whether the plugin runs uncontained."""
    trust = tables.sandbox_plugin_trust
    query = sa.select(trust.c.plugin_id).where(trust.c.plugin_id == plugin_id)
    async with db.read() as session:
        return (await session.execute(query)).first() is not None


async def trusted_plugin_ids(db: Database) -> set[str]:
    """The ids of every trusted plugin."""
    async with db.read() as session:
        rows = await session.execute(sa.select(tables.sandbox_plugin_trust.c.plugin_id))
        return {str(plugin_id) for plugin_id in rows.scalars()}


async def set_trusted(db: Database, plugin_id: str, trusted: bool) -> bool:
    """Trust or stop trusting the plugin; returns whether anything changed."""
    trust = tables.sandbox_plugin_trust
    async with db.transaction() as session:
        found = await session.execute(
            sa.select(trust.c.plugin_id).where(trust.c.plugin_id == plugin_id)
        )
        if (found.first() is not None) == trusted:
            return False
        if trusted:
            await session.execute(sa.insert(trust).values(plugin_id=plugin_id))
        else:
            await session.execute(sa.delete(trust).where(trust.c.plugin_id == plugin_id))
        return True
