"""Initial schema: upstream's tables at 9c6f551595 that the sandbox serves.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OPEN_ROUTINE_EXECUTION = sa.text(
    "origin_kind = 'routine_execution' AND origin_id IS NOT NULL AND hidden_at IS NULL "
    "AND execution_run_id IS NOT NULL "
    "AND status IN ('backlog', 'todo', 'in_progress', 'in_review', 'blocked')"
)


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", types.Timestamp(), nullable=True),
        sa.Column("issue_prefix", sa.Text(), server_default="PAP", nullable=False),
        sa.Column("issue_counter", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "budget_monthly_cents", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("spent_monthly_cents", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "require_board_approval_for_new_agents",
            sa.Boolean(),
            server_default=sa.true(),
            nullable=False,
        ),
        sa.Column(
            "feedback_data_sharing_enabled",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
        sa.Column("feedback_data_sharing_consent_at", types.Timestamp(), nullable=True),
        sa.Column("feedback_data_sharing_consent_by_user_id", sa.Text(), nullable=True),
        sa.Column("feedback_data_sharing_terms_version", sa.Text(), nullable=True),
        sa.Column("brand_color", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("companies_pkey")),
    )
    op.create_index("companies_issue_prefix_idx", "companies", ["issue_prefix"], unique=True)

    op.create_table(
        "plugins",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("plugin_key", sa.Text(), nullable=False),
        sa.Column("package_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("api_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("categories", types.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("manifest_json", types.JSON(), nullable=False),
        sa.Column("status", sa.Text(), server_default="installed", nullable=False),
        sa.Column("install_order", sa.Integer(), nullable=True),
        sa.Column("package_path", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("installed_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("plugins_pkey")),
    )
    op.create_index("plugins_plugin_key_idx", "plugins", ["plugin_key"], unique=True)
    op.create_index("plugins_status_idx", "plugins", ["status"], unique=False)

    op.create_table(
        "agents",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), server_default="general", nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("icon", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="idle", nullable=False),
        sa.Column("reports_to", types.UUID(), nullable=True),
        sa.Column("capabilities", sa.Text(), nullable=True),
        sa.Column("adapter_type", sa.Text(), server_default="process", nullable=False),
        sa.Column("adapter_config", types.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("runtime_config", types.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column(
            "budget_monthly_cents", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("spent_monthly_cents", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", types.Timestamp(), nullable=True),
        sa.Column("permissions", types.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("last_heartbeat_at", types.Timestamp(), nullable=True),
        sa.Column("metadata", types.JSON(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("agents_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["reports_to"], ["agents.id"], name=op.f("agents_reports_to_agents_id_fk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("agents_pkey")),
    )
    op.create_index(
        "agents_company_reports_to_idx", "agents", ["company_id", "reports_to"], unique=False
    )
    op.create_index("agents_company_status_idx", "agents", ["company_id", "status"], unique=False)

    op.create_table(
        "budget_policies",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("scope_type", sa.Text(), nullable=False),
        sa.Column("scope_id", types.UUID(), nullable=False),
        sa.Column("metric", sa.Text(), server_default="billed_cents", nullable=False),
        sa.Column("window_kind", sa.Text(), nullable=False),
        sa.Column("amount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("warn_percent", sa.Integer(), server_default=sa.text("80"), nullable=False),
        sa.Column("hard_stop_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("notify_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by_user_id", sa.Text(), nullable=True),
        sa.Column("updated_by_user_id", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("budget_policies_company_id_companies_id_fk"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("budget_policies_pkey")),
    )
    op.create_index(
        "budget_policies_company_scope_active_idx",
        "budget_policies",
        ["company_id", "scope_type", "scope_id", "is_active"],
        unique=False,
    )
    op.create_index(
        "budget_policies_company_scope_metric_unique_idx",
        "budget_policies",
        ["company_id", "scope_type", "scope_id", "metric", "window_kind"],
        unique=True,
    )
    op.create_index(
        "budget_policies_company_window_idx",
        "budget_policies",
        ["company_id", "window_kind", "metric"],
        unique=False,
    )

    op.create_table(
        "company_memberships",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("principal_type", sa.Text(), nullable=False),
        sa.Column("principal_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("membership_role", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("company_memberships_company_id_companies_id_fk"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("company_memberships_pkey")),
    )
    op.create_index(
        "company_memberships_company_principal_unique_idx",
        "company_memberships",
        ["company_id", "principal_type", "principal_id"],
        unique=True,
    )
    op.create_index(
        "company_memberships_company_status_idx",
        "company_memberships",
        ["company_id", "status"],
        unique=False,
    )
    op.create_index(
        "company_memberships_principal_status_idx",
        "company_memberships",
        ["principal_type", "principal_id", "status"],
        unique=False,
    )

    op.create_table(
        "labels",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("color", sa.Text(), nullable=False),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("labels_company_id_companies_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("labels_pkey")),
    )
    op.create_index("labels_company_idx", "labels", ["company_id"], unique=False)
    op.create_index("labels_company_name_idx", "labels", ["company_id", "name"], unique=True)

    op.create_table(
        "plugin_config",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("config_json", types.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["plugins.id"],
            name=op.f("plugin_config_plugin_id_plugins_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_config_pkey")),
    )
    op.create_index("plugin_config_plugin_id_idx", "plugin_config", ["plugin_id"], unique=True)

    op.create_table(
        "plugin_database_namespaces",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("plugin_key", sa.Text(), nullable=False),
        sa.Column("namespace_name", sa.Text(), nullable=False),
        sa.Column("namespace_mode", sa.Text(), server_default="schema", nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["plugins.id"],
            name=op.f("plugin_database_namespaces_plugin_id_plugins_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_database_namespaces_pkey")),
    )
    op.create_index(
        "plugin_database_namespaces_namespace_idx",
        "plugin_database_namespaces",
        ["namespace_name"],
        unique=True,
    )
    op.create_index(
        "plugin_database_namespaces_plugin_idx",
        "plugin_database_namespaces",
        ["plugin_id"],
        unique=True,
    )
    op.create_index(
        "plugin_database_namespaces_status_idx",
        "plugin_database_namespaces",
        ["status"],
        unique=False,
    )

    op.create_table(
        "plugin_logs",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("level", sa.Text(), server_default="info", nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("meta", types.JSON(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["plugins.id"],
            name=op.f("plugin_logs_plugin_id_plugins_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_logs_pkey")),
    )
    op.create_index("plugin_logs_level_idx", "plugin_logs", ["level"], unique=False)
    op.create_index(
        "plugin_logs_plugin_time_idx", "plugin_logs", ["plugin_id", "created_at"], unique=False
    )

    op.create_table(
        "plugin_migrations",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("plugin_key", sa.Text(), nullable=False),
        sa.Column("namespace_name", sa.Text(), nullable=False),
        sa.Column("migration_key", sa.Text(), nullable=False),
        sa.Column("checksum", sa.Text(), nullable=False),
        sa.Column("plugin_version", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("started_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("applied_at", types.Timestamp(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["plugins.id"],
            name=op.f("plugin_migrations_plugin_id_plugins_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_migrations_pkey")),
    )
    op.create_index(
        "plugin_migrations_plugin_idx", "plugin_migrations", ["plugin_id"], unique=False
    )
    op.create_index(
        "plugin_migrations_plugin_key_idx",
        "plugin_migrations",
        ["plugin_id", "migration_key"],
        unique=True,
    )
    op.create_index("plugin_migrations_status_idx", "plugin_migrations", ["status"], unique=False)

    op.create_table(
        "plugin_state",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("scope_kind", sa.Text(), nullable=False),
        sa.Column("scope_id", sa.Text(), nullable=True),
        sa.Column("namespace", sa.Text(), server_default="default", nullable=False),
        sa.Column("state_key", sa.Text(), nullable=False),
        sa.Column("value_json", types.JSON(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["plugins.id"],
            name=op.f("plugin_state_plugin_id_plugins_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_state_pkey")),
        sa.UniqueConstraint(
            "plugin_id",
            "scope_kind",
            "scope_id",
            "namespace",
            "state_key",
            name="plugin_state_unique_entry_idx",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        "plugin_state_null_scope_entry_uq",
        "plugin_state",
        ["plugin_id", "scope_kind", "namespace", "state_key"],
        unique=True,
        postgresql_where=sa.text("scope_id IS NULL"),
        sqlite_where=sa.text("scope_id IS NULL"),
    )
    op.create_index(
        "plugin_state_plugin_scope_idx", "plugin_state", ["plugin_id", "scope_kind"], unique=False
    )

    op.create_table(
        "agent_wakeup_requests",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("agent_id", types.UUID(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("trigger_detail", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload", types.JSON(), nullable=True),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("coalesced_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("requested_by_actor_type", sa.Text(), nullable=True),
        sa.Column("requested_by_actor_id", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("run_id", types.UUID(), nullable=True),
        sa.Column("requested_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("claimed_at", types.Timestamp(), nullable=True),
        sa.Column("finished_at", types.Timestamp(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("agent_wakeup_requests_agent_id_agents_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("agent_wakeup_requests_company_id_companies_id_fk"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("agent_wakeup_requests_pkey")),
    )
    op.create_index(
        "agent_wakeup_requests_agent_requested_idx",
        "agent_wakeup_requests",
        ["agent_id", "requested_at"],
        unique=False,
    )
    op.create_index(
        "agent_wakeup_requests_company_agent_status_idx",
        "agent_wakeup_requests",
        ["company_id", "agent_id", "status"],
        unique=False,
    )
    op.create_index(
        "agent_wakeup_requests_company_requested_idx",
        "agent_wakeup_requests",
        ["company_id", "requested_at"],
        unique=False,
    )

    op.create_table(
        "approvals",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("requested_by_agent_id", types.UUID(), nullable=True),
        sa.Column("requested_by_user_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("payload", types.JSON(), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_by_user_id", sa.Text(), nullable=True),
        sa.Column("decided_at", types.Timestamp(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("approvals_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_agent_id"],
            ["agents.id"],
            name=op.f("approvals_requested_by_agent_id_agents_id_fk"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("approvals_pkey")),
    )
    op.create_index(
        "approvals_company_status_type_idx",
        "approvals",
        ["company_id", "status", "type"],
        unique=False,
    )

    op.create_table(
        "documents",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), server_default="markdown", nullable=False),
        sa.Column("latest_body", sa.Text(), nullable=False),
        sa.Column("latest_revision_id", types.UUID(), nullable=True),
        sa.Column(
            "latest_revision_number", sa.Integer(), server_default=sa.text("1"), nullable=False
        ),
        sa.Column("created_by_agent_id", types.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.Text(), nullable=True),
        sa.Column("updated_by_agent_id", types.UUID(), nullable=True),
        sa.Column("updated_by_user_id", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("documents_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"],
            ["agents.id"],
            name=op.f("documents_created_by_agent_id_agents_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_agent_id"],
            ["agents.id"],
            name=op.f("documents_updated_by_agent_id_agents_id_fk"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("documents_pkey")),
    )
    op.create_index(
        "documents_company_created_idx", "documents", ["company_id", "created_at"], unique=False
    )
    op.create_index(
        "documents_company_updated_idx", "documents", ["company_id", "updated_at"], unique=False
    )

    op.create_table(
        "goals",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), server_default="task", nullable=False),
        sa.Column("status", sa.Text(), server_default="planned", nullable=False),
        sa.Column("parent_id", types.UUID(), nullable=True),
        sa.Column("owner_agent_id", types.UUID(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("goals_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["owner_agent_id"], ["agents.id"], name=op.f("goals_owner_agent_id_agents_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["goals.id"], name=op.f("goals_parent_id_goals_id_fk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("goals_pkey")),
    )
    op.create_index("goals_company_idx", "goals", ["company_id"], unique=False)

    op.create_table(
        "budget_incidents",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("policy_id", types.UUID(), nullable=False),
        sa.Column("scope_type", sa.Text(), nullable=False),
        sa.Column("scope_id", types.UUID(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("window_kind", sa.Text(), nullable=False),
        sa.Column("window_start", types.Timestamp(), nullable=False),
        sa.Column("window_end", types.Timestamp(), nullable=False),
        sa.Column("threshold_type", sa.Text(), nullable=False),
        sa.Column("amount_limit", sa.Integer(), nullable=False),
        sa.Column("amount_observed", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("approval_id", types.UUID(), nullable=True),
        sa.Column("resolved_at", types.Timestamp(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("budget_incidents_approval_id_approvals_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("budget_incidents_company_id_companies_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["budget_policies.id"],
            name=op.f("budget_incidents_policy_id_budget_policies_id_fk"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("budget_incidents_pkey")),
    )
    op.create_index(
        "budget_incidents_company_scope_idx",
        "budget_incidents",
        ["company_id", "scope_type", "scope_id", "status"],
        unique=False,
    )
    op.create_index(
        "budget_incidents_company_status_idx",
        "budget_incidents",
        ["company_id", "status"],
        unique=False,
    )
    op.create_index(
        "budget_incidents_policy_window_threshold_idx",
        "budget_incidents",
        ["policy_id", "window_start", "threshold_type"],
        unique=True,
        postgresql_where=sa.text("status <> 'dismissed'"),
        sqlite_where=sa.text("status <> 'dismissed'"),
    )

    op.create_table(
        "heartbeat_runs",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("agent_id", types.UUID(), nullable=False),
        sa.Column("invocation_source", sa.Text(), server_default="on_demand", nullable=False),
        sa.Column("trigger_detail", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("started_at", types.Timestamp(), nullable=True),
        sa.Column("finished_at", types.Timestamp(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("wakeup_request_id", types.UUID(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("signal", sa.Text(), nullable=True),
        sa.Column("usage_json", types.JSON(), nullable=True),
        sa.Column("result_json", types.JSON(), nullable=True),
        sa.Column("session_id_before", sa.Text(), nullable=True),
        sa.Column("session_id_after", sa.Text(), nullable=True),
        sa.Column("log_store", sa.Text(), nullable=True),
        sa.Column("log_ref", sa.Text(), nullable=True),
        sa.Column("log_bytes", sa.BigInteger(), nullable=True),
        sa.Column("log_sha256", sa.Text(), nullable=True),
        sa.Column("log_compressed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("stdout_excerpt", sa.Text(), nullable=True),
        sa.Column("stderr_excerpt", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("external_run_id", sa.Text(), nullable=True),
        sa.Column("process_pid", sa.Integer(), nullable=True),
        sa.Column("process_group_id", sa.Integer(), nullable=True),
        sa.Column("process_started_at", types.Timestamp(), nullable=True),
        sa.Column("retry_of_run_id", types.UUID(), nullable=True),
        sa.Column(
            "process_loss_retry_count", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "issue_comment_status", sa.Text(), server_default="not_applicable", nullable=False
        ),
        sa.Column("issue_comment_satisfied_by_comment_id", types.UUID(), nullable=True),
        sa.Column("issue_comment_retry_queued_at", types.Timestamp(), nullable=True),
        sa.Column("liveness_state", sa.Text(), nullable=True),
        sa.Column("liveness_reason", sa.Text(), nullable=True),
        sa.Column(
            "continuation_attempt", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("last_useful_action_at", types.Timestamp(), nullable=True),
        sa.Column("next_action", sa.Text(), nullable=True),
        sa.Column("context_snapshot", types.JSON(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("heartbeat_runs_agent_id_agents_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("heartbeat_runs_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["retry_of_run_id"],
            ["heartbeat_runs.id"],
            name=op.f("heartbeat_runs_retry_of_run_id_heartbeat_runs_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["wakeup_request_id"],
            ["agent_wakeup_requests.id"],
            name=op.f("heartbeat_runs_wakeup_request_id_agent_wakeup_requests_id_fk"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("heartbeat_runs_pkey")),
    )
    op.create_index(
        "heartbeat_runs_company_agent_started_idx",
        "heartbeat_runs",
        ["company_id", "agent_id", "started_at"],
        unique=False,
    )
    op.create_index(
        "heartbeat_runs_company_liveness_idx",
        "heartbeat_runs",
        ["company_id", "liveness_state", "created_at"],
        unique=False,
    )

    op.create_table(
        "projects",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("goal_id", types.UUID(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="backlog", nullable=False),
        sa.Column("lead_agent_id", types.UUID(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("color", sa.Text(), nullable=True),
        sa.Column("env", types.JSON(), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", types.Timestamp(), nullable=True),
        sa.Column("execution_workspace_policy", types.JSON(), nullable=True),
        sa.Column("archived_at", types.Timestamp(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("projects_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("projects_goal_id_goals_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["lead_agent_id"], ["agents.id"], name=op.f("projects_lead_agent_id_agents_id_fk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("projects_pkey")),
    )
    op.create_index("projects_company_idx", "projects", ["company_id"], unique=False)

    op.create_table(
        "activity_log",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("actor_type", sa.Text(), server_default="system", nullable=False),
        sa.Column("actor_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("agent_id", types.UUID(), nullable=True),
        sa.Column("run_id", types.UUID(), nullable=True),
        sa.Column("details", types.JSON(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("activity_log_agent_id_agents_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("activity_log_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["heartbeat_runs.id"], name=op.f("activity_log_run_id_heartbeat_runs_id_fk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("activity_log_pkey")),
    )
    op.create_index(
        "activity_log_company_created_idx",
        "activity_log",
        ["company_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "activity_log_entity_type_id_idx",
        "activity_log",
        ["entity_type", "entity_id"],
        unique=False,
    )
    op.create_index("activity_log_run_id_idx", "activity_log", ["run_id"], unique=False)

    op.create_table(
        "document_revisions",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("document_id", types.UUID(), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), server_default="markdown", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("change_summary", sa.Text(), nullable=True),
        sa.Column("created_by_agent_id", types.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.Text(), nullable=True),
        sa.Column("created_by_run_id", types.UUID(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("document_revisions_company_id_companies_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"],
            ["agents.id"],
            name=op.f("document_revisions_created_by_agent_id_agents_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_run_id"],
            ["heartbeat_runs.id"],
            name=op.f("document_revisions_created_by_run_id_heartbeat_runs_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("document_revisions_document_id_documents_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("document_revisions_pkey")),
    )
    op.create_index(
        "document_revisions_company_document_created_idx",
        "document_revisions",
        ["company_id", "document_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "document_revisions_document_revision_uq",
        "document_revisions",
        ["document_id", "revision_number"],
        unique=True,
    )

    op.create_table(
        "project_workspaces",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("project_id", types.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source_type", sa.Text(), server_default="local_path", nullable=False),
        sa.Column("cwd", sa.Text(), nullable=True),
        sa.Column("repo_url", sa.Text(), nullable=True),
        sa.Column("repo_ref", sa.Text(), nullable=True),
        sa.Column("default_ref", sa.Text(), nullable=True),
        sa.Column("visibility", sa.Text(), server_default="default", nullable=False),
        sa.Column("setup_command", sa.Text(), nullable=True),
        sa.Column("cleanup_command", sa.Text(), nullable=True),
        sa.Column("remote_provider", sa.Text(), nullable=True),
        sa.Column("remote_workspace_ref", sa.Text(), nullable=True),
        sa.Column("shared_workspace_key", sa.Text(), nullable=True),
        sa.Column("metadata", types.JSON(), nullable=True),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("project_workspaces_company_id_companies_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("project_workspaces_project_id_projects_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("project_workspaces_pkey")),
    )
    op.create_index(
        "project_workspaces_company_project_idx",
        "project_workspaces",
        ["company_id", "project_id"],
        unique=False,
    )
    op.create_index(
        "project_workspaces_company_shared_key_idx",
        "project_workspaces",
        ["company_id", "shared_workspace_key"],
        unique=False,
    )
    op.create_index(
        "project_workspaces_project_primary_idx",
        "project_workspaces",
        ["project_id", "is_primary"],
        unique=False,
    )
    op.create_index(
        "project_workspaces_project_remote_ref_idx",
        "project_workspaces",
        ["project_id", "remote_provider", "remote_workspace_ref"],
        unique=True,
    )
    op.create_index(
        "project_workspaces_project_source_type_idx",
        "project_workspaces",
        ["project_id", "source_type"],
        unique=False,
    )

    op.create_table(
        "execution_workspaces",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("project_id", types.UUID(), nullable=False),
        sa.Column("project_workspace_id", types.UUID(), nullable=True),
        sa.Column("source_issue_id", types.UUID(), nullable=True),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("strategy_type", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("cwd", sa.Text(), nullable=True),
        sa.Column("repo_url", sa.Text(), nullable=True),
        sa.Column("base_ref", sa.Text(), nullable=True),
        sa.Column("branch_name", sa.Text(), nullable=True),
        sa.Column("provider_type", sa.Text(), server_default="local_fs", nullable=False),
        sa.Column("provider_ref", sa.Text(), nullable=True),
        sa.Column("derived_from_execution_workspace_id", types.UUID(), nullable=True),
        sa.Column("last_used_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("opened_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("closed_at", types.Timestamp(), nullable=True),
        sa.Column("cleanup_eligible_at", types.Timestamp(), nullable=True),
        sa.Column("cleanup_reason", sa.Text(), nullable=True),
        sa.Column("metadata", types.JSON(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("execution_workspaces_company_id_companies_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["derived_from_execution_workspace_id"],
            ["execution_workspaces.id"],
            name="execution_workspaces_derived_from_execution_workspace_id_execut",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("execution_workspaces_project_id_projects_id_fk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_workspace_id"],
            ["project_workspaces.id"],
            name="execution_workspaces_project_workspace_id_project_workspaces_id",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("execution_workspaces_pkey")),
    )
    op.create_index(
        "execution_workspaces_company_branch_idx",
        "execution_workspaces",
        ["company_id", "branch_name"],
        unique=False,
    )
    op.create_index(
        "execution_workspaces_company_last_used_idx",
        "execution_workspaces",
        ["company_id", "last_used_at"],
        unique=False,
    )
    op.create_index(
        "execution_workspaces_company_project_status_idx",
        "execution_workspaces",
        ["company_id", "project_id", "status"],
        unique=False,
    )
    op.create_index(
        "execution_workspaces_company_project_workspace_status_idx",
        "execution_workspaces",
        ["company_id", "project_workspace_id", "status"],
        unique=False,
    )
    op.create_index(
        "execution_workspaces_company_source_issue_idx",
        "execution_workspaces",
        ["company_id", "source_issue_id"],
        unique=False,
    )

    op.create_table(
        "issues",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("project_id", types.UUID(), nullable=True),
        sa.Column("project_workspace_id", types.UUID(), nullable=True),
        sa.Column("goal_id", types.UUID(), nullable=True),
        sa.Column("parent_id", types.UUID(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="backlog", nullable=False),
        sa.Column("priority", sa.Text(), server_default="medium", nullable=False),
        sa.Column("assignee_agent_id", types.UUID(), nullable=True),
        sa.Column("assignee_user_id", sa.Text(), nullable=True),
        sa.Column("checkout_run_id", types.UUID(), nullable=True),
        sa.Column("execution_run_id", types.UUID(), nullable=True),
        sa.Column("execution_agent_name_key", sa.Text(), nullable=True),
        sa.Column("execution_locked_at", types.Timestamp(), nullable=True),
        sa.Column("created_by_agent_id", types.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.Text(), nullable=True),
        sa.Column("issue_number", sa.Integer(), nullable=True),
        sa.Column("identifier", sa.Text(), nullable=True),
        sa.Column("origin_kind", sa.Text(), server_default="manual", nullable=False),
        sa.Column("origin_id", sa.Text(), nullable=True),
        sa.Column("origin_run_id", sa.Text(), nullable=True),
        sa.Column("request_depth", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("billing_code", sa.Text(), nullable=True),
        sa.Column("assignee_adapter_overrides", types.JSON(), nullable=True),
        sa.Column("execution_policy", types.JSON(), nullable=True),
        sa.Column("execution_state", types.JSON(), nullable=True),
        sa.Column("execution_workspace_id", types.UUID(), nullable=True),
        sa.Column("execution_workspace_preference", sa.Text(), nullable=True),
        sa.Column("execution_workspace_settings", types.JSON(), nullable=True),
        sa.Column("started_at", types.Timestamp(), nullable=True),
        sa.Column("completed_at", types.Timestamp(), nullable=True),
        sa.Column("cancelled_at", types.Timestamp(), nullable=True),
        sa.Column("hidden_at", types.Timestamp(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_agent_id"], ["agents.id"], name=op.f("issues_assignee_agent_id_agents_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["checkout_run_id"],
            ["heartbeat_runs.id"],
            name=op.f("issues_checkout_run_id_heartbeat_runs_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("issues_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"],
            ["agents.id"],
            name=op.f("issues_created_by_agent_id_agents_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["execution_run_id"],
            ["heartbeat_runs.id"],
            name=op.f("issues_execution_run_id_heartbeat_runs_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["execution_workspace_id"],
            ["execution_workspaces.id"],
            name=op.f("issues_execution_workspace_id_execution_workspaces_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["goal_id"], ["goals.id"], name=op.f("issues_goal_id_goals_id_fk")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["issues.id"], name=op.f("issues_parent_id_issues_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("issues_project_id_projects_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["project_workspace_id"],
            ["project_workspaces.id"],
            name=op.f("issues_project_workspace_id_project_workspaces_id_fk"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("issues_pkey")),
    )
    op.create_index(
        "issues_company_assignee_status_idx",
        "issues",
        ["company_id", "assignee_agent_id", "status"],
        unique=False,
    )
    op.create_index(
        "issues_company_assignee_user_status_idx",
        "issues",
        ["company_id", "assignee_user_id", "status"],
        unique=False,
    )
    op.create_index(
        "issues_company_execution_workspace_idx",
        "issues",
        ["company_id", "execution_workspace_id"],
        unique=False,
    )
    op.create_index(
        "issues_company_origin_idx",
        "issues",
        ["company_id", "origin_kind", "origin_id"],
        unique=False,
    )
    op.create_index(
        "issues_company_parent_idx", "issues", ["company_id", "parent_id"], unique=False
    )
    op.create_index(
        "issues_company_project_idx", "issues", ["company_id", "project_id"], unique=False
    )
    op.create_index(
        "issues_company_project_workspace_idx",
        "issues",
        ["company_id", "project_workspace_id"],
        unique=False,
    )
    op.create_index("issues_company_status_idx", "issues", ["company_id", "status"], unique=False)
    op.create_index("issues_identifier_idx", "issues", ["identifier"], unique=True)
    op.create_index(
        "issues_open_routine_execution_uq",
        "issues",
        ["company_id", "origin_kind", "origin_id"],
        unique=True,
        postgresql_where=OPEN_ROUTINE_EXECUTION,
        sqlite_where=OPEN_ROUTINE_EXECUTION,
    )

    # issues <-> execution_workspaces reference each other; close the cycle now both exist.
    with op.batch_alter_table("execution_workspaces") as batch_op:
        batch_op.create_foreign_key(
            "execution_workspaces_source_issue_id_issues_id_fk",
            "issues",
            ["source_issue_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "cost_events",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("agent_id", types.UUID(), nullable=False),
        sa.Column("issue_id", types.UUID(), nullable=True),
        sa.Column("project_id", types.UUID(), nullable=True),
        sa.Column("goal_id", types.UUID(), nullable=True),
        sa.Column("heartbeat_run_id", types.UUID(), nullable=True),
        sa.Column("billing_code", sa.Text(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("biller", sa.Text(), server_default="unknown", nullable=False),
        sa.Column("billing_type", sa.Text(), server_default="unknown", nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cached_input_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("output_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cost_cents", sa.Integer(), nullable=False),
        sa.Column("occurred_at", types.Timestamp(), nullable=False),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("cost_events_agent_id_agents_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("cost_events_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("cost_events_goal_id_goals_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["heartbeat_run_id"],
            ["heartbeat_runs.id"],
            name=op.f("cost_events_heartbeat_run_id_heartbeat_runs_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("cost_events_issue_id_issues_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("cost_events_project_id_projects_id_fk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("cost_events_pkey")),
    )
    op.create_index(
        "cost_events_company_agent_occurred_idx",
        "cost_events",
        ["company_id", "agent_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "cost_events_company_biller_occurred_idx",
        "cost_events",
        ["company_id", "biller", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "cost_events_company_heartbeat_run_idx",
        "cost_events",
        ["company_id", "heartbeat_run_id"],
        unique=False,
    )
    op.create_index(
        "cost_events_company_occurred_idx",
        "cost_events",
        ["company_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "cost_events_company_provider_occurred_idx",
        "cost_events",
        ["company_id", "provider", "occurred_at"],
        unique=False,
    )

    op.create_table(
        "issue_approvals",
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("issue_id", types.UUID(), nullable=False),
        sa.Column("approval_id", types.UUID(), nullable=False),
        sa.Column("linked_by_agent_id", types.UUID(), nullable=True),
        sa.Column("linked_by_user_id", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("issue_approvals_approval_id_approvals_id_fk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("issue_approvals_company_id_companies_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name=op.f("issue_approvals_issue_id_issues_id_fk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_agent_id"],
            ["agents.id"],
            name=op.f("issue_approvals_linked_by_agent_id_agents_id_fk"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("issue_id", "approval_id", name="issue_approvals_pk"),
    )
    op.create_index(
        "issue_approvals_approval_idx", "issue_approvals", ["approval_id"], unique=False
    )
    op.create_index("issue_approvals_company_idx", "issue_approvals", ["company_id"], unique=False)
    op.create_index("issue_approvals_issue_idx", "issue_approvals", ["issue_id"], unique=False)

    op.create_table(
        "issue_comments",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("issue_id", types.UUID(), nullable=False),
        sa.Column("author_agent_id", types.UUID(), nullable=True),
        sa.Column("author_user_id", sa.Text(), nullable=True),
        sa.Column("created_by_run_id", types.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_agent_id"],
            ["agents.id"],
            name=op.f("issue_comments_author_agent_id_agents_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("issue_comments_company_id_companies_id_fk")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_run_id"],
            ["heartbeat_runs.id"],
            name=op.f("issue_comments_created_by_run_id_heartbeat_runs_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("issue_comments_issue_id_issues_id_fk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("issue_comments_pkey")),
    )
    op.create_index(
        "issue_comments_company_author_issue_created_at_idx",
        "issue_comments",
        ["company_id", "author_user_id", "issue_id", "created_at"],
        unique=False,
    )
    op.create_index("issue_comments_company_idx", "issue_comments", ["company_id"], unique=False)
    op.create_index(
        "issue_comments_company_issue_created_at_idx",
        "issue_comments",
        ["company_id", "issue_id", "created_at"],
        unique=False,
    )
    op.create_index("issue_comments_issue_idx", "issue_comments", ["issue_id"], unique=False)

    op.create_table(
        "issue_documents",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("issue_id", types.UUID(), nullable=False),
        sa.Column("document_id", types.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("issue_documents_company_id_companies_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("issue_documents_document_id_documents_id_fk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name=op.f("issue_documents_issue_id_issues_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("issue_documents_pkey")),
    )
    op.create_index(
        "issue_documents_company_issue_key_uq",
        "issue_documents",
        ["company_id", "issue_id", "key"],
        unique=True,
    )
    op.create_index(
        "issue_documents_company_issue_updated_idx",
        "issue_documents",
        ["company_id", "issue_id", "updated_at"],
        unique=False,
    )
    op.create_index("issue_documents_document_uq", "issue_documents", ["document_id"], unique=True)

    op.create_table(
        "issue_labels",
        sa.Column("issue_id", types.UUID(), nullable=False),
        sa.Column("label_id", types.UUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("issue_labels_company_id_companies_id_fk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name=op.f("issue_labels_issue_id_issues_id_fk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["labels.id"],
            name=op.f("issue_labels_label_id_labels_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issue_id", "label_id", name="issue_labels_pk"),
    )
    op.create_index("issue_labels_company_idx", "issue_labels", ["company_id"], unique=False)
    op.create_index("issue_labels_issue_idx", "issue_labels", ["issue_id"], unique=False)
    op.create_index("issue_labels_label_idx", "issue_labels", ["label_id"], unique=False)

    op.create_table(
        "issue_relations",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("company_id", types.UUID(), nullable=False),
        sa.Column("issue_id", types.UUID(), nullable=False),
        sa.Column("related_issue_id", types.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("created_by_agent_id", types.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("issue_relations_company_id_companies_id_fk"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"],
            ["agents.id"],
            name=op.f("issue_relations_created_by_agent_id_agents_id_fk"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name=op.f("issue_relations_issue_id_issues_id_fk"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["related_issue_id"],
            ["issues.id"],
            name=op.f("issue_relations_related_issue_id_issues_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("issue_relations_pkey")),
    )
    op.create_index(
        "issue_relations_company_edge_uq",
        "issue_relations",
        ["company_id", "issue_id", "related_issue_id", "type"],
        unique=True,
    )
    op.create_index(
        "issue_relations_company_issue_idx",
        "issue_relations",
        ["company_id", "issue_id"],
        unique=False,
    )
    op.create_index(
        "issue_relations_company_related_issue_idx",
        "issue_relations",
        ["company_id", "related_issue_id"],
        unique=False,
    )
    op.create_index(
        "issue_relations_company_type_idx", "issue_relations", ["company_id", "type"], unique=False
    )


def downgrade() -> None:
    op.drop_index("issue_relations_company_type_idx", table_name="issue_relations")
    op.drop_index("issue_relations_company_related_issue_idx", table_name="issue_relations")
    op.drop_index("issue_relations_company_issue_idx", table_name="issue_relations")
    op.drop_index("issue_relations_company_edge_uq", table_name="issue_relations")

    op.drop_table("issue_relations")
    op.drop_index("issue_labels_label_idx", table_name="issue_labels")
    op.drop_index("issue_labels_issue_idx", table_name="issue_labels")
    op.drop_index("issue_labels_company_idx", table_name="issue_labels")

    op.drop_table("issue_labels")
    op.drop_index("issue_documents_document_uq", table_name="issue_documents")
    op.drop_index("issue_documents_company_issue_updated_idx", table_name="issue_documents")
    op.drop_index("issue_documents_company_issue_key_uq", table_name="issue_documents")

    op.drop_table("issue_documents")
    op.drop_index("issue_comments_issue_idx", table_name="issue_comments")
    op.drop_index("issue_comments_company_issue_created_at_idx", table_name="issue_comments")
    op.drop_index("issue_comments_company_idx", table_name="issue_comments")
    op.drop_index("issue_comments_company_author_issue_created_at_idx", table_name="issue_comments")

    op.drop_table("issue_comments")
    op.drop_index("issue_approvals_issue_idx", table_name="issue_approvals")
    op.drop_index("issue_approvals_company_idx", table_name="issue_approvals")
    op.drop_index("issue_approvals_approval_idx", table_name="issue_approvals")

    op.drop_table("issue_approvals")
    op.drop_index("cost_events_company_provider_occurred_idx", table_name="cost_events")
    op.drop_index("cost_events_company_occurred_idx", table_name="cost_events")
    op.drop_index("cost_events_company_heartbeat_run_idx", table_name="cost_events")
    op.drop_index("cost_events_company_biller_occurred_idx", table_name="cost_events")
    op.drop_index("cost_events_company_agent_occurred_idx", table_name="cost_events")

    with op.batch_alter_table("execution_workspaces") as batch_op:
        batch_op.drop_constraint(
            "execution_workspaces_source_issue_id_issues_id_fk", type_="foreignkey"
        )
    op.drop_table("cost_events")
    op.drop_index("issues_open_routine_execution_uq", table_name="issues")
    op.drop_index("issues_identifier_idx", table_name="issues")
    op.drop_index("issues_company_status_idx", table_name="issues")
    op.drop_index("issues_company_project_workspace_idx", table_name="issues")
    op.drop_index("issues_company_project_idx", table_name="issues")
    op.drop_index("issues_company_parent_idx", table_name="issues")
    op.drop_index("issues_company_origin_idx", table_name="issues")
    op.drop_index("issues_company_execution_workspace_idx", table_name="issues")
    op.drop_index("issues_company_assignee_user_status_idx", table_name="issues")
    op.drop_index("issues_company_assignee_status_idx", table_name="issues")

    op.drop_table("issues")
    op.drop_index(
        "execution_workspaces_company_source_issue_idx", table_name="execution_workspaces"
    )
    op.drop_index(
        "execution_workspaces_company_project_workspace_status_idx",
        table_name="execution_workspaces",
    )
    op.drop_index(
        "execution_workspaces_company_project_status_idx", table_name="execution_workspaces"
    )
    op.drop_index("execution_workspaces_company_last_used_idx", table_name="execution_workspaces")
    op.drop_index("execution_workspaces_company_branch_idx", table_name="execution_workspaces")

    op.drop_table("execution_workspaces")
    op.drop_index("project_workspaces_project_source_type_idx", table_name="project_workspaces")
    op.drop_index("project_workspaces_project_remote_ref_idx", table_name="project_workspaces")
    op.drop_index("project_workspaces_project_primary_idx", table_name="project_workspaces")
    op.drop_index("project_workspaces_company_shared_key_idx", table_name="project_workspaces")
    op.drop_index("project_workspaces_company_project_idx", table_name="project_workspaces")

    op.drop_table("project_workspaces")
    op.drop_index("document_revisions_document_revision_uq", table_name="document_revisions")
    op.drop_index(
        "document_revisions_company_document_created_idx", table_name="document_revisions"
    )

    op.drop_table("document_revisions")
    op.drop_index("activity_log_run_id_idx", table_name="activity_log")
    op.drop_index("activity_log_entity_type_id_idx", table_name="activity_log")
    op.drop_index("activity_log_company_created_idx", table_name="activity_log")

    op.drop_table("activity_log")
    op.drop_index("projects_company_idx", table_name="projects")

    op.drop_table("projects")
    op.drop_index("heartbeat_runs_company_liveness_idx", table_name="heartbeat_runs")
    op.drop_index("heartbeat_runs_company_agent_started_idx", table_name="heartbeat_runs")

    op.drop_table("heartbeat_runs")
    op.drop_index("budget_incidents_policy_window_threshold_idx", table_name="budget_incidents")
    op.drop_index("budget_incidents_company_status_idx", table_name="budget_incidents")
    op.drop_index("budget_incidents_company_scope_idx", table_name="budget_incidents")

    op.drop_table("budget_incidents")
    op.drop_index("goals_company_idx", table_name="goals")

    op.drop_table("goals")
    op.drop_index("documents_company_updated_idx", table_name="documents")
    op.drop_index("documents_company_created_idx", table_name="documents")

    op.drop_table("documents")
    op.drop_index("approvals_company_status_type_idx", table_name="approvals")

    op.drop_table("approvals")
    op.drop_index("agent_wakeup_requests_company_requested_idx", table_name="agent_wakeup_requests")
    op.drop_index(
        "agent_wakeup_requests_company_agent_status_idx", table_name="agent_wakeup_requests"
    )
    op.drop_index("agent_wakeup_requests_agent_requested_idx", table_name="agent_wakeup_requests")

    op.drop_table("agent_wakeup_requests")
    op.drop_index("plugin_state_plugin_scope_idx", table_name="plugin_state")
    op.drop_index("plugin_state_null_scope_entry_uq", table_name="plugin_state")

    op.drop_table("plugin_state")
    op.drop_index("plugin_migrations_status_idx", table_name="plugin_migrations")
    op.drop_index("plugin_migrations_plugin_key_idx", table_name="plugin_migrations")
    op.drop_index("plugin_migrations_plugin_idx", table_name="plugin_migrations")

    op.drop_table("plugin_migrations")
    op.drop_index("plugin_logs_plugin_time_idx", table_name="plugin_logs")
    op.drop_index("plugin_logs_level_idx", table_name="plugin_logs")

    op.drop_table("plugin_logs")
    op.drop_index("plugin_database_namespaces_status_idx", table_name="plugin_database_namespaces")
    op.drop_index("plugin_database_namespaces_plugin_idx", table_name="plugin_database_namespaces")
    op.drop_index(
        "plugin_database_namespaces_namespace_idx", table_name="plugin_database_namespaces"
    )

    op.drop_table("plugin_database_namespaces")
    op.drop_index("plugin_config_plugin_id_idx", table_name="plugin_config")

    op.drop_table("plugin_config")
    op.drop_index("labels_company_name_idx", table_name="labels")
    op.drop_index("labels_company_idx", table_name="labels")

    op.drop_table("labels")
    op.drop_index("company_memberships_principal_status_idx", table_name="company_memberships")
    op.drop_index("company_memberships_company_status_idx", table_name="company_memberships")
    op.drop_index(
        "company_memberships_company_principal_unique_idx", table_name="company_memberships"
    )

    op.drop_table("company_memberships")
    op.drop_index("budget_policies_company_window_idx", table_name="budget_policies")
    op.drop_index("budget_policies_company_scope_metric_unique_idx", table_name="budget_policies")
    op.drop_index("budget_policies_company_scope_active_idx", table_name="budget_policies")

    op.drop_table("budget_policies")
    op.drop_index("agents_company_status_idx", table_name="agents")
    op.drop_index("agents_company_reports_to_idx", table_name="agents")

    op.drop_table("agents")
    op.drop_index("plugins_status_idx", table_name="plugins")
    op.drop_index("plugins_plugin_key_idx", table_name="plugins")

    op.drop_table("plugins")
    op.drop_index("companies_issue_prefix_idx", table_name="companies")

    op.drop_table("companies")
