"""Ours: the plugins an operator trusts to run uncontained (``sandbox plugin trust KEY``).

Workers are contained by default (``sandbox.containment``); a row here lets one plugin's worker
run as a plain child process. The row goes with the plugin's.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field

from db.models.base import Base, timestamp_field
from db.types import UUID


class SandboxPluginTrust(Base, table=True):
    """A plugin whose worker runs uncontained."""

    __tablename__ = "sandbox_plugin_trust"

    plugin_id: uuid.UUID = Field(
        sa_type=UUID, foreign_key="plugins.id", ondelete="CASCADE", primary_key=True
    )
    trusted_at: datetime = timestamp_field(now=True)
