"""The declarative base and the field helpers every table uses.

Column defaults exist twice on purpose: a Python-side default so rows built in Python carry their
values (no round trip to read them back), and a server default so the schema matches upstream's
(``gen_random_uuid()``, ``now()``, ``'{}'::jsonb``) for rows written by plain SQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.types import JSON, UUID, GenerateUUID, SqlNow, Timestamp, utcnow

#: Constraint names as upstream (drizzle) spells them, so that batch migrations on SQLite can drop
#: them by name and errors name the same constraint on both backends. Every foreign key of the
#: schema targets an ``id`` column; spelling it out lets tables reference tables defined later
#: (the referred column can't be resolved before its table exists).
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_%(referred_table_name)s_id_fk",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "ck": "%(table_name)s_%(constraint_name)s_check",
}


class Base(SQLModel):
    """Base of every table; owns the one MetaData of the schema."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def id_field() -> Any:
    """``id uuid PRIMARY KEY DEFAULT gen_random_uuid()``."""
    return Field(
        default_factory=uuid.uuid4,
        primary_key=True,
        sa_type=UUID,
        sa_column_kwargs={"server_default": GenerateUUID()},
    )


def fk_field(target: str, *, ondelete: str | None = None, nullable: bool = True) -> Any:
    """A uuid column referencing ``target`` (``table.column``)."""
    return Field(
        default=None if nullable else ...,
        sa_type=UUID,
        foreign_key=target,
        ondelete=ondelete,
        nullable=nullable,
    )


def uuid_field(*, nullable: bool = True) -> Any:
    """A uuid column without a foreign key."""
    return Field(default=None if nullable else ..., sa_type=UUID, nullable=nullable)


def text_field(default: str | None = None, *, nullable: bool = False) -> Any:
    """A ``text`` column: required, nullable, or NOT NULL with a server default."""
    if default is None:
        return Field(default=None if nullable else ..., sa_type=sa.Text, nullable=nullable)
    return Field(
        default=default,
        sa_type=sa.Text,
        nullable=False,
        sa_column_kwargs={"server_default": default},
    )


def int_field(default: int | None = None, *, nullable: bool = True, big: bool = False) -> Any:
    """An ``integer`` (or ``bigint``) column: nullable, required, or NOT NULL with a default."""
    column_type = sa.BigInteger if big else sa.Integer
    if default is None:
        return Field(default=None if nullable else ..., sa_type=column_type, nullable=nullable)
    return Field(
        default=default,
        sa_type=column_type,
        nullable=False,
        sa_column_kwargs={"server_default": sa.text(str(default))},
    )


def bool_field(default: bool) -> Any:
    """A ``boolean NOT NULL`` column with a default."""
    return Field(
        default=default,
        sa_type=sa.Boolean,
        nullable=False,
        sa_column_kwargs={"server_default": sa.true() if default else sa.false()},
    )


def json_field(
    default: dict[str, Any] | list[Any] | None = None,
    *,
    nullable: bool = True,
    name: str | None = None,
) -> Any:
    """A ``jsonb`` column; ``{}`` or ``[]`` as default makes it NOT NULL with that default.

    ``name`` sets the column name when it differs from the attribute (``metadata`` is reserved by
    SQLAlchemy, so such columns are mapped as ``metadata_``).
    """
    if default is None:
        return Field(
            default=None if nullable else ...,
            sa_type=JSON,
            nullable=nullable,
            sa_column_kwargs={"name": name} if name else {},
        )
    literal = "'{}'" if isinstance(default, dict) else "'[]'"
    return Field(
        default_factory=dict if isinstance(default, dict) else list,
        sa_type=JSON,
        nullable=False,
        sa_column_kwargs={"server_default": sa.text(literal)},
    )


def timestamp_field(*, now: bool = False, nullable: bool = True) -> Any:
    """A ``timestamptz`` column: nullable, required, or (``now=True``) NOT NULL DEFAULT now()."""
    if not now:
        return Field(default=None if nullable else ..., sa_type=Timestamp, nullable=nullable)
    return Field(
        default_factory=utcnow,
        sa_type=Timestamp,
        nullable=False,
        sa_column_kwargs={"server_default": SqlNow()},
    )


__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "bool_field",
    "fk_field",
    "id_field",
    "int_field",
    "json_field",
    "text_field",
    "timestamp_field",
    "uuid_field",
]
