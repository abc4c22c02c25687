"""Storage: one schema on SQLite and PostgreSQL, one migration chain, portable types.

Nothing outside this package checks which backend it runs on; it asks for a ``Database`` and the
helpers in ``db.dialect``.
"""

from db.connect import EMBEDDED_POSTGRES, open_database
from db.dialect import (
    Dialect,
    advisory_xact_lock,
    any_of,
    lock_for_update,
    subtree,
    upsert,
)
from db.engine import Database, create_db, resolve_url
from db.errors import (
    DatabaseBusy,
    DatabaseError,
    DatabaseUnavailable,
    ForeignKeyViolation,
    IntegrityViolation,
    NotNullViolation,
    UniqueViolation,
)

__all__ = [
    "EMBEDDED_POSTGRES",
    "Database",
    "DatabaseBusy",
    "DatabaseError",
    "DatabaseUnavailable",
    "Dialect",
    "ForeignKeyViolation",
    "IntegrityViolation",
    "NotNullViolation",
    "UniqueViolation",
    "advisory_xact_lock",
    "any_of",
    "create_db",
    "lock_for_update",
    "open_database",
    "resolve_url",
    "subtree",
    "upsert",
]
