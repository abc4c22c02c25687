"""Plugin entities (``ctx.entities``): a plugin's records of things outside Paperclip, keyed by
entity type and external id, instance-wide unless the call names a company.

As upstream: an upsert finds the plugin's row of the same company, type and external id and
updates the fields given; a list filters by type and external id, oldest first, 100 rows unless
told. Without an external id upstream looks for the empty one and inserts, and its unique key
(NULLs equal) refuses a second such entity of the type: so does the sandbox, on both backends,
with a message that says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from core import records
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import require_company
from core.unit_of_work import UnitOfWork
from db import tables

#: The columns an upsert writes, as the plugin names them.
FIELDS = ("entity_type", "scope_kind", "scope_id", "external_id", "title", "status", "data")
DEFAULT_LIMIT = 100


async def upsert_entity(
    unit: UnitOfWork, plugin_id: str, values: Mapping[str, Any]
) -> records.PluginEntity:
    """Insert or update the plugin's entity; ``values`` holds the ``FIELDS`` given (and
    ``company_id`` for a company's entity)."""
    for required, wire in (("entity_type", "entityType"), ("scope_kind", "scopeKind")):
        if not isinstance(values.get(required), str) or not values[required]:
            raise InvalidInput(f"{wire} is required")
    company = values.get("company_id")
    if company is not None:
        company = require_company(company)
        if (
            await unit.session.scalar(
                sa.select(tables.companies.c.id).where(tables.companies.c.id == company)
            )
            is None
        ):
            raise NotFound("Company not found")
    given = {key: values[key] for key in FIELDS if key in values}
    entities = tables.plugin_entities
    same = (
        entities.c.plugin_id == plugin_id,
        entities.c.company_id.is_(None) if company is None else entities.c.company_id == company,
        entities.c.entity_type == given["entity_type"],
        entities.c.external_id == (given.get("external_id") or ""),
    )
    existing = (await unit.session.execute(sa.select(entities).where(*same))).mappings().first()
    if existing is not None:
        changes = given | {"updated_at": unit.now}
        await unit.session.execute(
            sa.update(entities).where(entities.c.id == existing["id"]).values(changes)
        )
        return records.PluginEntity.trusted(dict(existing) | changes)
    row = {
        "id": str(uuid.uuid4()),
        "plugin_id": plugin_id,
        "company_id": company,
        "data": {},
        **given,
        "created_at": unit.now,
        "updated_at": unit.now,
    }
    row["data"] = row["data"] if row["data"] is not None else {}
    if given.get("external_id") is None:
        # upstream's unique key treats NULLs as equal (NULLS NOT DISTINCT) while its lookup
        # looks for "": a second entity of a type without an external id is refused
        taken = (*same[:3], entities.c.external_id.is_(None))
        if await unit.session.scalar(sa.select(entities.c.id).where(*taken)) is not None:
            raise Conflict(
                f'Plugin entity of type "{given["entity_type"]}" without an externalId exists '
                "already (unique key plugin_entities_external_idx): give entities an externalId"
            )
    # Two hosts inserting the same key at once: the unique index refuses the second
    # (UniqueViolation) instead of keeping two rows.
    await unit.session.execute(sa.insert(entities).values(row))
    return records.PluginEntity.trusted(row)


async def list_entities(
    unit: UnitOfWork,
    plugin_id: str,
    *,
    entity_type: str | None = None,
    external_id: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> list[records.PluginEntity]:
    """The plugin's entities of a type and external id (each when given), oldest first."""
    entities = tables.plugin_entities
    query = sa.select(entities).where(entities.c.plugin_id == plugin_id)
    if entity_type:
        query = query.where(entities.c.entity_type == entity_type)
    if external_id:
        query = query.where(entities.c.external_id == external_id)
    query = (
        query.order_by(entities.c.created_at, entities.c.id)
        .limit(DEFAULT_LIMIT if limit is None else limit)
        .offset(offset or 0)
    )
    rows = (await unit.session.execute(query)).mappings()
    return [records.PluginEntity.trusted(row) for row in rows]


__all__ = ["list_entities", "upsert_entity"]
