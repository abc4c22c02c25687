"""Column types and SQL defaults as the migrations render them, frozen.

Migrations import this module, never ``db.types`` or the live tables, so that changing the live
code can never change what an old revision creates. Only DDL matters here (storage type and
server defaults); value conversion lives in ``db.types``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import Dialect as SADialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class UUID(sa.types.TypeDecorator[Any]):
    """``uuid`` on PostgreSQL, ``CHAR(36)`` on SQLite."""

    impl = sa.CHAR(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: SADialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        return dialect.type_descriptor(sa.CHAR(36))


class Timestamp(sa.types.TypeDecorator[Any]):
    """``timestamptz`` on PostgreSQL, ``VARCHAR(32)`` ISO-8601 UTC text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: SADialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.String(32))


class JSON(sa.types.TypeDecorator[Any]):
    """``jsonb`` on PostgreSQL, ``JSON`` text on SQLite."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: SADialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())


class SqlNow(FunctionElement[Any]):
    """``now()``, in the SQLite timestamp text format on SQLite."""

    inherit_cache = True


@compiles(SqlNow, "postgresql")
def _now_postgresql(element: SqlNow, compiler: Any, **kw: Any) -> str:
    return "now()"


@compiles(SqlNow, "sqlite")
def _now_sqlite(element: SqlNow, compiler: Any, **kw: Any) -> str:
    return "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000+00:00')"


class GenerateUUID(FunctionElement[Any]):
    """``gen_random_uuid()``; a version-4 UUID text expression on SQLite."""

    inherit_cache = True


@compiles(GenerateUUID, "postgresql")
def _uuid_postgresql(element: GenerateUUID, compiler: Any, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(GenerateUUID, "sqlite")
def _uuid_sqlite(element: GenerateUUID, compiler: Any, **kw: Any) -> str:
    return (
        "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
        "substr(lower(hex(randomblob(2))), 2) || '-' || "
        "substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || "
        "'-' || lower(hex(randomblob(6))))"
    )


class JsonText(FunctionElement[Any]):
    """``col ->> 'key'`` on PostgreSQL, ``json_extract(col, '$.key')`` on SQLite."""

    inherit_cache = True

    def __init__(self, column: Any, key: str) -> None:
        self.key = key
        super().__init__(column)


@compiles(JsonText, "postgresql")
def _json_text_postgresql(element: JsonText, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"({compiler.process(column, **kw)} ->> '{element.key}')"


@compiles(JsonText, "sqlite")
def _json_text_sqlite(element: JsonText, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"json_extract({compiler.process(column, **kw)}, '$.{element.key}')"
