"""Alembic environment: the one migration chain, for SQLite and PostgreSQL alike.

Migrations run through ``db.migrate`` (``sandbox db upgrade``), which hands over a connection that
already sits in a write transaction, with foreign keys off on SQLite (batch mode rebuilds tables
by copy-and-drop, and a drop with foreign keys on would cascade into child rows).
"""

from __future__ import annotations

from alembic import context

from db.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `sandbox db upgrade`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
