"""What plugins actually call: worker-to-host calls per plugin and method, allowed and refused.

No Paperclip tool shows this. The worker bridge reports every call's outcome here; counts
collect in memory and are added to ``plugin_capability_usage`` in batches (one upsert per
plugin and method, at most every ``flush_interval`` seconds), so counting costs a call almost
nothing. A reviewer reads them against the manifest (``core.read_models.capabilities``).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.dml import Insert

from core.capabilities import required_capability
from core.write_behind import WriteBehind
from db import Database, Dialect, tables, upsert

#: Longest method name stored: a worker may send any string as a method.
MAX_METHOD_CHARS = 200

#: ``allowed``: passed the capability and company-scope checks; ``denied``: the capability is
#: not declared, or the host does not serve the method; ``out_of_scope``: the call named a
#: company outside its invocation.
Outcome = Literal["allowed", "denied", "out_of_scope"]


@dataclass
class _Tally:
    allowed: int = 0
    denied: int = 0
    out_of_scope: int = 0
    last_allowed_at: datetime | None = None
    last_denied_at: datetime | None = None
    last_denial: str | None = None


class UsageCounter(WriteBehind[dict[tuple[str, str], "_Tally"]]):
    """Counts calls in memory and adds them to the database in batches.

    A failed write is logged and its counts dropped: counting must never fail a plugin's call.
    """

    def __init__(self, db: Database, *, flush_interval: float = 1.0) -> None:
        super().__init__(flush_interval=flush_interval)
        self._db = db
        self._pending: dict[tuple[str, str], _Tally] = {}

    def record(
        self, plugin_id: str, method: str, outcome: Outcome, *, denial: str | None = None
    ) -> None:
        """Count one call of ``method`` by the plugin; ``denial`` is the refusal's message."""
        tally = self._pending.setdefault((plugin_id, method[:MAX_METHOD_CHARS]), _Tally())
        now = datetime.now(UTC)
        if outcome == "allowed":
            tally.allowed += 1
            tally.last_allowed_at = now
        else:
            if outcome == "denied":
                tally.denied += 1
            else:
                tally.out_of_scope += 1
            tally.last_denied_at = now
            tally.last_denial = denial[: MAX_METHOD_CHARS * 2] if denial else None
        self._pending_grew()

    def _take(self) -> dict[tuple[str, str], _Tally] | None:
        batch, self._pending = self._pending, {}
        return batch or None

    async def _store(self, batch: dict[tuple[str, str], _Tally]) -> None:
        await add_usage(self._db, batch)


async def add_usage(db: Database, counts: dict[tuple[str, str], _Tally]) -> None:
    """Add counts per (plugin id, method) to ``plugin_capability_usage``: one upsert, run for
    each (plugin id, method)."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "plugin_id": plugin_id,
            "method": method,
            "capability": required_capability(method),
            "allowed_count": tally.allowed,
            "denied_count": tally.denied,
            "out_of_scope_count": tally.out_of_scope,
            "last_allowed_at": tally.last_allowed_at,
            "last_denied_at": tally.last_denied_at,
            "last_denial": tally.last_denial,
            "created_at": now,
            "updated_at": now,
        }
        for (plugin_id, method), tally in sorted(counts.items())
    ]
    async with db.transaction() as session:
        await session.execute(_usage_upsert(db.dialect), rows)


@functools.cache
def _usage_upsert(dialect: Dialect) -> Insert:
    """The upsert of one count row (built once: building it costs more than running it)."""
    usage = tables.plugin_capability_usage

    def combined(proposed: Any) -> dict[str, Any]:
        return {
            "allowed_count": usage.c.allowed_count + proposed.allowed_count,
            "denied_count": usage.c.denied_count + proposed.denied_count,
            "out_of_scope_count": usage.c.out_of_scope_count + proposed.out_of_scope_count,
            "last_allowed_at": sa.func.coalesce(proposed.last_allowed_at, usage.c.last_allowed_at),
            "last_denied_at": sa.func.coalesce(proposed.last_denied_at, usage.c.last_denied_at),
            "last_denial": sa.func.coalesce(proposed.last_denial, usage.c.last_denial),
            "updated_at": proposed.updated_at,
        }

    row = {column.name: sa.bindparam(column.name, type_=column.type) for column in usage.c}
    return upsert(
        dialect, usage, row, conflict_columns=["plugin_id", "method"], update_set=combined
    )
