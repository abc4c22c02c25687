"""``ctx.state``: a plugin's scoped key-value entries (``plugin_state``).

An entry is keyed by ``(plugin, scopeKind, scopeId, namespace, stateKey)``. ``namespace``
defaults to ``"default"``; a missing or empty ``scopeId`` is stored as NULL and, as upstream's
``NULLS NOT DISTINCT`` index does, NULL scopes compare equal, so an instance entry is one row.
Any JSON value round-trips, falsy ones included; a missing entry reads as null and ``delete`` is
idempotent. As upstream, nothing checks that a scope id names a real record.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import InvalidInput
from db import Database, tables
from db.constants import PLUGIN_STATE_SCOPE_KINDS
from db.dialect import upsert

_KEY_COLUMNS = ("plugin_id", "scope_kind", "scope_id", "namespace", "state_key")
_NULL_SCOPE_COLUMNS = ("plugin_id", "scope_kind", "namespace", "state_key")


class StateKey(BaseModel):
    """Where an entry lives: the params of ``state.get|set|delete`` minus the value."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    scope_kind: str = Field(alias="scopeKind")
    scope_id: str | None = Field(default=None, alias="scopeId")
    namespace: str = "default"
    state_key: str = Field(alias="stateKey")

    @field_validator("scope_kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in PLUGIN_STATE_SCOPE_KINDS:
            raise ValueError(f"scopeKind must be one of {', '.join(PLUGIN_STATE_SCOPE_KINDS)}")
        return value

    @field_validator("scope_id", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in (None, "") else value

    @field_validator("namespace", mode="before")
    @classmethod
    def _default_namespace(cls, value: Any) -> Any:
        return "default" if value in (None, "") else value

    @field_validator("state_key")
    @classmethod
    def _non_empty_key(cls, value: str) -> str:
        if not value:
            raise ValueError("stateKey must be a non-empty string")
        return value

    @classmethod
    def from_params(cls, params: Any) -> StateKey:
        """Parse worker params; a malformed key is ``InvalidInput`` with the first problem."""
        try:
            return cls.model_validate(params)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "params"
            raise InvalidInput(f"Invalid state key: {field}: {first['msg']}") from None

    def where(self, plugin_id: str) -> sa.ColumnElement[bool]:
        state = tables.plugin_state
        scope = (
            state.c.scope_id.is_(None)
            if self.scope_id is None
            else state.c.scope_id == (self.scope_id)
        )
        return sa.and_(
            state.c.plugin_id == plugin_id,
            state.c.scope_kind == self.scope_kind,
            scope,
            state.c.namespace == self.namespace,
            state.c.state_key == self.state_key,
        )


async def get_state(db: Database, plugin_id: str, key: StateKey) -> Any:
    """The entry's value, or None when there is none."""
    async with db.read() as session:
        row = (
            await session.execute(
                sa.select(tables.plugin_state.c.value_json).where(key.where(plugin_id))
            )
        ).first()
    return None if row is None else row.value_json


async def set_state(db: Database, plugin_id: str, key: StateKey, value: Any) -> None:
    """Create or replace the entry."""
    row = {
        "plugin_id": plugin_id,
        "scope_kind": key.scope_kind,
        "scope_id": key.scope_id,
        "namespace": key.namespace,
        "state_key": key.state_key,
        "value_json": value,
        "updated_at": datetime.now(UTC),
    }
    null_scope = key.scope_id is None
    statement = upsert(
        db.dialect,
        tables.plugin_state,
        {"id": str(uuid.uuid4()), **row},
        conflict_columns=_NULL_SCOPE_COLUMNS if null_scope else _KEY_COLUMNS,
        conflict_where=tables.plugin_state.c.scope_id.is_(None) if null_scope else None,
        update_columns=("value_json", "updated_at"),
    )
    async with db.transaction() as session:
        await session.execute(statement)


async def delete_state(db: Database, plugin_id: str, key: StateKey) -> None:
    """Remove the entry if it exists."""
    async with db.transaction() as session:
        await session.execute(sa.delete(tables.plugin_state).where(key.where(plugin_id)))
