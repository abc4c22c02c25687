"""Value kinds: what a SQLite value stands for, so results and parameters match PostgreSQL.

SQLite stores a boolean as 0/1 and a uuid, timestamp or JSON value as text. To hand back
``true``, a parsed JSON object or a canonical uuid as PostgreSQL does, and to read a plugin's
parameters as PostgreSQL would, the SQLite rewriter tracks the kind of every expression. Kinds
come from column types (the catalog), casts, functions and operators.

A namespace table on SQLite is created with PostgreSQL's type names as declared types
(``UUID``, ``JSONB``, ``TIMESTAMPTZ``, ``BOOLEAN`` ...), chosen so that SQLite's type affinity
keeps every value intact; reading the declared types back gives the kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from db import types as db_types
from db.models import metadata

Kind = str
TEXT, INT, NUMBER, BOOL, UUID = "text", "int", "number", "bool", "uuid"
TIMESTAMPTZ, TIMESTAMP, DATE, JSONB = "timestamptz", "timestamp", "date", "jsonb"
INTERVAL, UNKNOWN = "interval", "unknown"

#: PostgreSQL type names (as the parser reports them) and their kinds.
TYPE_KINDS: dict[str, Kind] = {
    "text": TEXT,
    "varchar": TEXT,
    "bpchar": TEXT,
    "int2": INT,
    "int4": INT,
    "int8": INT,
    "serial": INT,
    "serial4": INT,
    "bigserial": INT,
    "serial8": INT,
    "smallserial": INT,
    "serial2": INT,
    "numeric": NUMBER,
    "float4": NUMBER,
    "float8": NUMBER,
    "bool": BOOL,
    "uuid": UUID,
    "json": JSONB,
    "jsonb": JSONB,
    "timestamptz": TIMESTAMPTZ,
    "timestamp": TIMESTAMP,
    "date": DATE,
    "interval": INTERVAL,
}

#: How a namespace column of each PostgreSQL type is declared on SQLite.
DECLARED_TYPES: dict[str, str] = {
    "text": "TEXT",
    "varchar": "VARCHAR",
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "serial": "INTEGER",
    "serial4": "INTEGER",
    "bigserial": "INTEGER",
    "serial8": "INTEGER",
    "smallserial": "INTEGER",
    "serial2": "INTEGER",
    "numeric": "NUMERIC",
    "float4": "REAL",
    "float8": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "uuid": "UUID",
    "json": "JSON",
    "jsonb": "JSONB",
    "timestamptz": "TIMESTAMPTZ",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}

#: How an ``integer`` primary key is declared: SQLite makes a column declared exactly
#: ``INTEGER PRIMARY KEY`` its rowid, which fills in NULL where PostgreSQL refuses it.
ROWID_FREE_INTEGER = "INT"

#: The exact integer type of each declared integer type.
_INTEGER_TYPES = {
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    ROWID_FREE_INTEGER: "integer",
    "BIGINT": "bigint",
}

_DECLARED_KINDS: dict[str, Kind] = {
    "TEXT": TEXT,
    "VARCHAR": TEXT,
    "SMALLINT": INT,
    "INTEGER": INT,
    ROWID_FREE_INTEGER: INT,
    "BIGINT": INT,
    "NUMERIC": NUMBER,
    "REAL": NUMBER,
    "DOUBLE PRECISION": NUMBER,
    "BOOLEAN": BOOL,
    "UUID": UUID,
    "JSON": JSONB,
    "JSONB": JSONB,
    "TIMESTAMPTZ": TIMESTAMPTZ,
    "TIMESTAMP": TIMESTAMP,
    "DATE": DATE,
}


def array_of(kind: Kind) -> Kind:
    """The kind of an array of ``kind`` values (a JSON array on SQLite)."""
    return kind + "[]"


def element_of(kind: Kind) -> Kind | None:
    """The element kind of an array kind, or None for a scalar kind."""
    return kind[:-2] if kind.endswith("[]") else None


def declared_kind(declared: str) -> Kind:
    """The kind of a SQLite column from its declared type (``VARCHAR(20)`` is text)."""
    return _DECLARED_KINDS.get(declared.upper().split("(")[0].strip(), UNKNOWN)


def _column_kind(column: sa.Column[object]) -> Kind:
    column_type = column.type
    checks: list[tuple[type, Kind]] = [
        (db_types.UUID, UUID),
        (db_types.Timestamp, TIMESTAMPTZ),
        (db_types.JSON, JSONB),
        (sa.Boolean, BOOL),
        (sa.Integer, INT),
        (sa.Numeric, NUMBER),
        (sa.Float, NUMBER),
        (sa.String, TEXT),
    ]
    for python_type, kind in checks:
        if isinstance(column_type, python_type):
            return kind
    return UNKNOWN


@dataclass(frozen=True)
class Column:
    """A column of a table or of a query's result.

    ``integer_type`` names an integer column's exact type, so a value assigned to it is read
    (and refused) as PostgreSQL reads that type.
    """

    name: str
    kind: Kind
    integer_type: str | None = None

    @property
    def reader_kind(self) -> Kind:
        """The kind values assigned to this column are read as (``int:integer`` ...)."""
        return f"{INT}:{self.integer_type}" if self.integer_type else self.kind


def base_kind(kind: Kind) -> Kind:
    """A reader kind without its integer type (``int:integer`` is ``int``)."""
    return kind.split(":", 1)[0]


#: Core tables and their columns, from the live schema (the same on both backends).
def _integer_type(column: sa.Column[object]) -> str | None:
    if isinstance(column.type, sa.BigInteger):
        return "bigint"
    return "integer" if isinstance(column.type, sa.Integer) else None


CORE_COLUMNS: dict[str, tuple[Column, ...]] = {
    table.name: tuple(
        Column(column.name, _column_kind(column), _integer_type(column)) for column in table.columns
    )
    for table in metadata.sorted_tables
}


@dataclass
class Catalog:
    """The tables a plugin statement can name on SQLite, with column kinds."""

    namespace: str
    namespace_tables: dict[str, tuple[Column, ...]] = field(default_factory=dict)

    @classmethod
    def from_declared(
        cls, namespace: str, declared: Mapping[str, Iterable[tuple[str, str]]]
    ) -> Catalog:
        """Build from ``{table: [(column, declared type), ...]}`` of the namespace."""
        tables = {
            table: tuple(
                Column(name, declared_kind(kind), _INTEGER_TYPES.get(kind.upper()))
                for name, kind in columns
            )
            for table, columns in declared.items()
        }
        return cls(namespace, tables)

    def content(self) -> tuple[str, tuple[tuple[str, tuple[Column, ...]], ...]]:
        """What the catalog says, as a hashable value: equal for equal catalogs."""
        return self.namespace, tuple(sorted(self.namespace_tables.items()))

    def columns(self, schema: str | None, table: str) -> tuple[Column, ...] | None:
        """The columns of ``schema.table``, or None when the table is unknown."""
        if schema == self.namespace:
            return self.namespace_tables.get(table)
        if schema == "public":
            return CORE_COLUMNS.get(table)
        return None


__all__ = [
    "BOOL",
    "CORE_COLUMNS",
    "DATE",
    "DECLARED_TYPES",
    "INT",
    "INTERVAL",
    "JSONB",
    "NUMBER",
    "ROWID_FREE_INTEGER",
    "TEXT",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TYPE_KINDS",
    "UNKNOWN",
    "UUID",
    "Catalog",
    "Column",
    "Kind",
    "array_of",
    "base_kind",
    "declared_kind",
    "element_of",
]
