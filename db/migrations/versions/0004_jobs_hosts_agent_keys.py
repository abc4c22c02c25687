"""Long-running hosts: plugin jobs and their runs, agent API keys, and the hosts sharing a database.

- ``plugin_jobs`` and ``plugin_job_runs``: upstream's tables (the later release's
  ``plugin_job_runs.company_id`` included).
- ``agent_api_keys``: upstream's table; agents present a bearer key to the HTTP API.
- ``sandbox_hosts`` and ``sandbox_run_leases`` (ours): which ``sandbox serve`` processes are alive
  and which runs each one executes, so that the runs of a dead host are recovered by the others.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, types.Timestamp(), server_default=types.SqlNow(), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str | None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"{table}_{column}_{target}_id_fk"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "plugin_jobs",
        _id(),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("job_key", sa.Text(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("last_run_at", types.Timestamp(), nullable=True),
        sa.Column("next_run_at", types.Timestamp(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _fk("plugin_jobs", "plugin_id", "plugins", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_jobs_pkey")),
    )
    op.create_index("plugin_jobs_plugin_idx", "plugin_jobs", ["plugin_id"])
    op.create_index("plugin_jobs_next_run_idx", "plugin_jobs", ["next_run_at"])
    op.create_index("plugin_jobs_unique_idx", "plugin_jobs", ["plugin_id", "job_key"], unique=True)

    op.create_table(
        "plugin_job_runs",
        _id(),
        sa.Column("job_id", types.UUID(), nullable=False),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=True),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("logs", types.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("started_at", types.Timestamp(), nullable=True),
        sa.Column("finished_at", types.Timestamp(), nullable=True),
        _now("created_at"),
        _fk("plugin_job_runs", "job_id", "plugin_jobs", "CASCADE"),
        _fk("plugin_job_runs", "plugin_id", "plugins", "CASCADE"),
        _fk("plugin_job_runs", "company_id", "companies", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_job_runs_pkey")),
    )
    op.create_index("plugin_job_runs_job_idx", "plugin_job_runs", ["job_id"])
    op.create_index("plugin_job_runs_plugin_idx", "plugin_job_runs", ["plugin_id"])
    op.create_index("plugin_job_runs_status_idx", "plugin_job_runs", ["status"])

    op.create_table(
        "agent_api_keys",
        _id(),
        sa.Column("agent_id", types.UUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("last_used_at", types.Timestamp(), nullable=True),
        sa.Column("revoked_at", types.Timestamp(), nullable=True),
        _now("created_at"),
        _fk("agent_api_keys", "agent_id", "agents", None),
        _fk("agent_api_keys", "company_id", "companies", None),
        sa.PrimaryKeyConstraint("id", name=op.f("agent_api_keys_pkey")),
    )
    op.create_index("agent_api_keys_key_hash_idx", "agent_api_keys", ["key_hash"])
    op.create_index(
        "agent_api_keys_company_agent_idx", "agent_api_keys", ["company_id", "agent_id"]
    )

    op.create_table(
        "sandbox_hosts",
        _id(),
        sa.Column("hostname", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        _now("started_at"),
        _now("heartbeat_at"),
        sa.Column("stopped_at", types.Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("sandbox_hosts_pkey")),
    )
    op.create_index("sandbox_hosts_heartbeat_idx", "sandbox_hosts", ["stopped_at", "heartbeat_at"])

    op.create_table(
        "sandbox_run_leases",
        sa.Column("run_id", types.UUID(), nullable=False),
        sa.Column("host_id", types.UUID(), nullable=False),
        _now("leased_at"),
        _fk("sandbox_run_leases", "run_id", "heartbeat_runs", "CASCADE"),
        _fk("sandbox_run_leases", "host_id", "sandbox_hosts", "CASCADE"),
        sa.PrimaryKeyConstraint("run_id", name=op.f("sandbox_run_leases_pkey")),
    )
    op.create_index("sandbox_run_leases_host_idx", "sandbox_run_leases", ["host_id"])


def downgrade() -> None:
    op.drop_index("sandbox_run_leases_host_idx", table_name="sandbox_run_leases")
    op.drop_table("sandbox_run_leases")
    op.drop_index("sandbox_hosts_heartbeat_idx", table_name="sandbox_hosts")
    op.drop_table("sandbox_hosts")
    op.drop_index("agent_api_keys_company_agent_idx", table_name="agent_api_keys")
    op.drop_index("agent_api_keys_key_hash_idx", table_name="agent_api_keys")
    op.drop_table("agent_api_keys")
    for name in (
        "plugin_job_runs_status_idx",
        "plugin_job_runs_plugin_idx",
        "plugin_job_runs_job_idx",
    ):
        op.drop_index(name, table_name="plugin_job_runs")
    op.drop_table("plugin_job_runs")
    for name in ("plugin_jobs_unique_idx", "plugin_jobs_next_run_idx", "plugin_jobs_plugin_idx"):
        op.drop_index(name, table_name="plugin_jobs")
    op.drop_table("plugin_jobs")
