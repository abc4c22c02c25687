"""How namespace tables are named on SQLite, which has no schemas.

A namespace table ``<ns>.<table>`` is stored in the main file as the table named
``"<ns>.<table>"``. Namespace names never contain a dot, so no two namespaces can produce the same
name, and foreign keys to core tables work.
"""

from __future__ import annotations


def sqlite_table_name(namespace: str, table: str) -> str:
    """The SQLite name of namespace table ``<namespace>.<table>``."""
    return f"{namespace}.{table}"


def logical_table_name(physical: str) -> str:
    """The table name a plugin wrote, from a SQLite table name (core tables pass through)."""
    return physical.split(".", 1)[1] if "." in physical else physical


__all__ = ["logical_table_name", "sqlite_table_name"]
