"""Indexes for the orchestration host services (ours, not upstream's).

- issues (company_id, issue_number): numbering reads the company's highest number on every create;
- heartbeat_runs (company_id, context_snapshot ->> 'issueId'): wakeups and summaries find an
  issue's runs by the issue id in the run's context snapshot;
- agent_wakeup_requests (company_id, agent_id, idempotency_key): idempotent wakeups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("issues_company_issue_number_idx", "issues", ["company_id", "issue_number"])
    op.create_index(
        "agent_wakeup_requests_company_agent_idempotency_idx",
        "agent_wakeup_requests",
        ["company_id", "agent_id", "idempotency_key"],
    )
    op.create_index(
        "heartbeat_runs_company_context_issue_idx",
        "heartbeat_runs",
        [sa.column("company_id"), types.JsonText(sa.column("context_snapshot"), "issueId")],
    )


def downgrade() -> None:
    op.drop_index("heartbeat_runs_company_context_issue_idx", table_name="heartbeat_runs")
    op.drop_index(
        "agent_wakeup_requests_company_agent_idempotency_idx", table_name="agent_wakeup_requests"
    )
    op.drop_index("issues_company_issue_number_idx", table_name="issues")
