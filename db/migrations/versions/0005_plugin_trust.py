"""Plugins trusted to run uncontained: ``sandbox_plugin_trust`` (ours).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_plugin_trust",
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("trusted_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["plugins.id"],
            name=op.f("sandbox_plugin_trust_plugin_id_plugins_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plugin_id", name=op.f("sandbox_plugin_trust_pkey")),
    )


def downgrade() -> None:
    op.drop_table("sandbox_plugin_trust")
