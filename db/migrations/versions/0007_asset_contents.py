"""The bytes of the files the sandbox stores itself: ``sandbox_asset_contents`` (ours).

Upstream keeps an asset's bytes in a storage service (a local disk or S3) named by
``assets.provider`` and ``object_key``. The sandbox keeps them in the database (provider
``database``), so every host that shares a PostgreSQL database reads the same attachments.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_asset_contents",
        sa.Column("asset_id", types.UUID(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("sandbox_asset_contents_asset_id_assets_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("sandbox_asset_contents_pkey")),
    )


def downgrade() -> None:
    op.drop_table("sandbox_asset_contents")
