"""Paperclip 2026.916.1: the new columns of the tables we mirror, and the tables behind the
plugin methods that release serves (interactions, attachments, entities, agent sessions).

Columns, defaults and index names are upstream's (its migrations 0136-0279). Left out, because
nothing here reads them: the duplicate-title index (``regexp_replace``, which SQLite lacks), the
indexes on ``heartbeat_runs``' context keys other than ``issueId`` (ours covers that one), and
the unique keys that exist upstream only as targets of composite foreign keys from tables of
features the sandbox does not run. ``companies.brand_color`` is dropped, as upstream dropped it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, types.Timestamp(), server_default=types.SqlNow(), nullable=False)


def _text(name: str, default: str | None = None) -> sa.Column:
    if default is None:
        return sa.Column(name, sa.Text(), nullable=True)
    return sa.Column(name, sa.Text(), server_default=default, nullable=False)


def _uuid(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, types.UUID(), nullable=nullable)


def _at(name: str) -> sa.Column:
    return sa.Column(name, types.Timestamp(), nullable=True)


def _json(name: str, default: str | None = None, *, nullable: bool = True) -> sa.Column:
    if default is None:
        return sa.Column(name, types.JSON(), nullable=nullable)
    return sa.Column(name, types.JSON(), server_default=sa.text(default), nullable=False)


def _int(name: str, default: int, *, big: bool = False) -> sa.Column:
    kind = sa.BigInteger() if big else sa.Integer()
    return sa.Column(name, kind, server_default=sa.text(str(default)), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str | None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"{table}_{column}_{target}_id_fk"),
        ondelete=ondelete,
    )


def _partial(where: str) -> dict[str, sa.TextClause]:
    return {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}


def _as_glob(keys: str) -> str:
    """SQLite refuses LIKE in an index (``PRAGMA case_sensitive_like`` could change its
    result); GLOB tests the same prefix."""
    return keys.replace(" LIKE ", " GLOB ").replace("%'", "*'")


_CONVERSATION_IDENTITY = (
    "(conversation_agent_id IS NULL AND conversation_user_id IS NULL "
    "AND conversation_state IS NULL) OR (conversation_agent_id IS NOT NULL "
    "AND conversation_user_id IS NOT NULL AND assignee_agent_id = conversation_agent_id "
    "AND assignee_agent_id IS NOT NULL AND assignee_user_id IS NULL "
    "AND conversation_state IN ('active', 'waiting') "
    "AND status NOT IN ('done', 'cancelled'))"
)

_DELIVERY_FAMILIES = (
    (
        "agent_wakeup_requests_review_path_recovery_idempotency_uq",
        "idempotency_key LIKE 'issue_review_path_lost:%'",
        "('skipped')",
    ),
    (
        "agent_wakeup_requests_disposition_repair_idempotency_uq",
        "idempotency_key LIKE 'issue_disposition_repair:%'",
        "('skipped')",
    ),
    (
        "agent_wakeup_requests_question_response_delivery_idempotency_uq",
        "(idempotency_key LIKE 'question-response:%' OR idempotency_key LIKE 'interaction:%')",
        "('skipped', 'failed', 'cancelled')",
    ),
    (
        "agent_wakeup_requests_connection_intent_delivery_idempotency_uq",
        "idempotency_key LIKE 'connection-intent:%'",
        "('skipped', 'failed', 'cancelled')",
    ),
    (
        "agent_wakeup_requests_tool_action_delivery_uq",
        "idempotency_key LIKE 'tool-action-response:%'",
        "('skipped', 'failed', 'cancelled')",
    ),
)


def upgrade() -> None:
    _new_columns()
    _new_indexes()
    _interactions()
    _attachments()
    _plugin_entities()
    _agent_task_sessions()
    _status_version_trigger()


def _status_version_trigger() -> None:
    """``issues.status_version`` counts status changes, whichever statement makes them: an
    update that changes ``status`` sets it to the old version + 1 (upstream's trigger)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION paperclip_bump_issue_status_version() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.status IS DISTINCT FROM OLD.status THEN "
            "NEW.status_version := OLD.status_version + 1; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER paperclip_issue_status_version_trigger "
            "BEFORE UPDATE OF status ON issues FOR EACH ROW "
            "EXECUTE FUNCTION paperclip_bump_issue_status_version()"
        )
    else:  # SQLite cannot assign NEW: the same rule after the row is written
        op.execute(
            "CREATE TRIGGER paperclip_issue_status_version_trigger "
            "AFTER UPDATE OF status ON issues FOR EACH ROW "
            "WHEN NEW.status IS NOT OLD.status BEGIN "
            "UPDATE issues SET status_version = OLD.status_version + 1 WHERE id = NEW.id; END"
        )


def _new_columns() -> None:
    """Columns are added in place (SQLite's ADD COLUMN), never by rebuilding a table: a
    rebuild would lose the expression indexes SQLite cannot reflect."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # ADD COLUMN takes the foreign key and the check with the column
        op.execute(
            "ALTER TABLE issues ADD COLUMN conversation_agent_id CHAR(36) "
            "CONSTRAINT issues_conversation_agent_id_agents_id_fk REFERENCES agents (id)"
        )
    else:
        op.add_column("issues", _uuid("conversation_agent_id"))
        op.create_foreign_key(
            op.f("issues_conversation_agent_id_agents_id_fk"),
            "issues",
            "agents",
            ["conversation_agent_id"],
            ["id"],
        )
    op.add_column("issues", _text("conversation_user_id"))
    if sqlite:
        op.execute(
            "ALTER TABLE issues ADD COLUMN conversation_state TEXT "
            f"CONSTRAINT issues_conversation_identity_check CHECK ({_CONVERSATION_IDENTITY})"
        )
    else:
        op.add_column("issues", _text("conversation_state"))
        op.create_check_constraint(
            op.f("issues_conversation_identity_check"), "issues", _CONVERSATION_IDENTITY
        )
    for column in (
        _int("conversation_session_generation", 0),
        _uuid("conversation_boundary_comment_id"),
        _int("status_version", 0, big=True),
        _uuid("last_status_decision_id"),
        _text("harness_kind"),
        _text("review_policy"),
        _uuid("origin_identity_context_id"),
        _uuid("continuation_identity_context_id"),
        _json("unblock_descriptor"),
        _at("blocked_transition_at"),
        _at("blocked_owner_notified_at"),
    ):
        op.add_column("issues", column)
    for column in (
        _uuid("active_identity_context_id"),
        _at("execution_control_deadline_at"),
        _uuid("execution_status_delivery_id"),
        _text("runtime_mode", "legacy"),
        _text("runtime_mode_resolver_version"),
        _text("runtime_mode_reason"),
        _at("runtime_mode_resolved_at"),
        _json("runner_profile_json"),
        _uuid("runner_instance_id"),
        _uuid("native_session_id"),
        _uuid("native_issue_id"),
        _text("driver_kind"),
        _text("driver_version"),
        _uuid("completion_contract_id"),
        _text("completion_contract_sha256"),
        _int("next_event_seq", 1, big=True),
        _text("native_phase"),
        _at("native_phase_updated_at"),
        _uuid("controller_boot_id"),
        _at("controller_lease_expires_at"),
        _text("execution_stage"),
    ):
        op.add_column("heartbeat_runs", column)
    op.add_column("issue_comments", _text("on_behalf_of_user_id"))
    op.add_column("issue_comments", _text("client_request_id"))
    op.add_column(
        "issue_comments", sa.Column("conversation_session_generation", sa.Integer(), nullable=True)
    )
    op.add_column("activity_log", _text("responsible_user_id"))
    op.add_column("cost_events", _text("cost_status", "reported"))
    op.add_column("companies", _json("interaction_resolver_governance", "'{}'"))
    op.drop_column("companies", "brand_color")


def _new_indexes() -> None:
    op.create_index(
        "issues_conversation_identity_idx",
        "issues",
        ["company_id", "conversation_agent_id", "conversation_user_id"],
        unique=True,
    )
    op.create_index("issues_company_harness_kind_idx", "issues", ["company_id", "harness_kind"])
    op.create_index("issues_company_updated_idx", "issues", ["company_id", "updated_at"])
    op.create_index("issues_company_created_idx", "issues", ["company_id", "created_at"])
    op.create_index("issues_company_priority_idx", "issues", ["company_id", "priority"])
    op.create_index(
        "issues_onboarding_first_task_uq",
        "issues",
        ["company_id"],
        unique=True,
        **_partial("origin_kind = 'onboarding_first_task'"),
    )
    op.create_index("issues_company_id_uq", "issues", ["company_id", "id"], unique=True)
    op.create_index(
        "issue_comments_client_request_uq",
        "issue_comments",
        ["issue_id", "author_user_id", "client_request_id"],
        unique=True,
    )
    op.create_index(
        "issue_comments_company_id_uq", "issue_comments", ["company_id", "id"], unique=True
    )
    op.create_index("agents_company_id_uq", "agents", ["company_id", "id"], unique=True)
    op.create_index(
        "heartbeat_runs_execution_status_delivery_idx",
        "heartbeat_runs",
        ["execution_status_delivery_id"],
        **_partial("execution_status_delivery_id IS NOT NULL"),
    )
    op.create_index(
        "heartbeat_runs_execution_control_deadline_idx",
        "heartbeat_runs",
        ["execution_control_deadline_at"],
        **_partial("execution_control_deadline_at IS NOT NULL"),
    )
    op.create_index(
        "activity_log_company_agent_created_idx",
        "activity_log",
        ["company_id", "agent_id", "created_at"],
    )
    op.create_index(
        "activity_log_company_responsible_user_created_idx",
        "activity_log",
        ["company_id", "responsible_user_id", "created_at"],
    )
    for name, keys, finished in _DELIVERY_FAMILIES:
        op.create_index(
            name,
            "agent_wakeup_requests",
            ["company_id", "idempotency_key"],
            unique=True,
            postgresql_where=sa.text(f"{keys} AND status NOT IN {finished}"),
            sqlite_where=sa.text(f"{_as_glob(keys)} AND status NOT IN {finished}"),
        )
    op.create_index(
        "agent_wakeup_requests_company_payload_issue_idx",
        "agent_wakeup_requests",
        ["company_id", types.JsonText(sa.column("payload"), "issueId")],
    )


def _interactions() -> None:
    table = "issue_thread_interactions"
    op.create_table(
        table,
        _id(),
        _uuid("company_id", nullable=False),
        _uuid("issue_id", nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        _text("status", "pending"),
        _text("continuation_policy", "wake_assignee"),
        _text("requested_resolver_policy", "anyone"),
        _text("effective_resolver_policy", "anyone"),
        _text("resolver_policy_provenance", "inherited"),
        _text("effective_resolver_policy_source", "requested"),
        _text("idempotency_key"),
        _json("origin_comment_ids", "'[]'"),
        _uuid("source_comment_id"),
        _uuid("source_identity_context_id"),
        _uuid("source_run_id"),
        _text("title"),
        _text("summary"),
        _uuid("created_by_agent_id"),
        _uuid("addressee_agent_id"),
        _text("addressee_user_id"),
        _text("created_by_user_id"),
        _uuid("resolved_by_agent_id"),
        _uuid("resolved_by_run_id"),
        _text("resolved_by_user_id"),
        _json("payload", nullable=False),
        _json("result"),
        _at("resolved_at"),
        _now("created_at"),
        _now("updated_at"),
        _fk(table, "company_id", "companies", None),
        _fk(table, "issue_id", "issues", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["source_comment_id"],
            ["issue_comments.id"],
            name=op.f(f"{table}_source_comment_id_issue_comments_id_fk"),
            ondelete="SET NULL",
        ),
        _fk(table, "source_run_id", "heartbeat_runs", "SET NULL"),
        _fk(table, "created_by_agent_id", "agents", None),
        _fk(table, "addressee_agent_id", "agents", "SET NULL"),
        _fk(table, "resolved_by_agent_id", "agents", None),
        _fk(table, "resolved_by_run_id", "heartbeat_runs", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"{table}_pkey")),
    )
    op.create_index(f"{table}_issue_idx", table, ["issue_id"])
    op.create_index(
        f"{table}_company_issue_created_at_idx", table, ["company_id", "issue_id", "created_at"]
    )
    op.create_index(
        f"{table}_company_issue_status_idx", table, ["company_id", "issue_id", "status"]
    )
    op.create_index(
        f"{table}_company_issue_idempotency_uq",
        table,
        ["company_id", "issue_id", "idempotency_key"],
        unique=True,
        **_partial("idempotency_key IS NOT NULL"),
    )
    op.create_index(f"{table}_source_comment_idx", table, ["source_comment_id"])
    op.create_index(f"{table}_addressee_agent_idx", table, ["addressee_agent_id"])
    op.create_index(f"{table}_addressee_user_idx", table, ["addressee_user_id"])


def _attachments() -> None:
    op.create_table(
        "assets",
        _id(),
        _uuid("company_id", nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        _text("original_filename"),
        _uuid("created_by_agent_id"),
        _text("created_by_user_id"),
        _now("created_at"),
        _now("updated_at"),
        _fk("assets", "company_id", "companies", None),
        _fk("assets", "created_by_agent_id", "agents", None),
        sa.PrimaryKeyConstraint("id", name=op.f("assets_pkey")),
    )
    op.create_index("assets_company_created_idx", "assets", ["company_id", "created_at"])
    op.create_index("assets_company_provider_idx", "assets", ["company_id", "provider"])
    op.create_index(
        "assets_company_object_key_uq", "assets", ["company_id", "object_key"], unique=True
    )
    table = "issue_attachments"
    op.create_table(
        table,
        _id(),
        _uuid("company_id", nullable=False),
        _uuid("issue_id", nullable=False),
        _uuid("asset_id", nullable=False),
        _uuid("issue_comment_id"),
        _uuid("originating_run_id"),
        _now("created_at"),
        _now("updated_at"),
        _fk(table, "company_id", "companies", None),
        _fk(table, "issue_id", "issues", "CASCADE"),
        _fk(table, "asset_id", "assets", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["issue_comment_id"],
            ["issue_comments.id"],
            name=op.f(f"{table}_issue_comment_id_issue_comments_id_fk"),
            ondelete="SET NULL",
        ),
        _fk(table, "originating_run_id", "heartbeat_runs", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"{table}_pkey")),
    )
    op.create_index(f"{table}_company_issue_idx", table, ["company_id", "issue_id"])
    op.create_index(f"{table}_issue_comment_idx", table, ["issue_comment_id"])
    op.create_index(f"{table}_originating_run_idx", table, ["originating_run_id"])
    op.create_index(f"{table}_asset_uq", table, ["asset_id"], unique=True)


def _plugin_entities() -> None:
    table = "plugin_entities"
    op.create_table(
        table,
        _id(),
        _uuid("plugin_id", nullable=False),
        _uuid("company_id"),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("scope_kind", sa.Text(), nullable=False),
        _text("scope_id"),
        _text("external_id"),
        _text("title"),
        _text("status"),
        _json("data", "'{}'"),
        _now("created_at"),
        _now("updated_at"),
        _fk(table, "plugin_id", "plugins", "CASCADE"),
        _fk(table, "company_id", "companies", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"{table}_pkey")),
    )
    op.create_index(f"{table}_plugin_idx", table, ["plugin_id"])
    op.create_index(f"{table}_company_idx", table, ["company_id"])
    op.create_index(f"{table}_type_idx", table, ["entity_type"])
    op.create_index(f"{table}_scope_idx", table, ["scope_kind", "scope_id"])
    op.create_index(
        f"{table}_external_idx",
        table,
        ["company_id", "plugin_id", "entity_type", "external_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )


def _agent_task_sessions() -> None:
    table = "agent_task_sessions"
    op.create_table(
        table,
        _id(),
        _uuid("company_id", nullable=False),
        _uuid("agent_id", nullable=False),
        sa.Column("adapter_type", sa.Text(), nullable=False),
        sa.Column("task_key", sa.Text(), nullable=False),
        _json("session_params_json"),
        _text("session_display_id"),
        _uuid("last_run_id"),
        _text("last_error"),
        _json("goal_capability_json"),
        _json("goal_json"),
        _text("goal_status"),
        _text("goal_desired_state"),
        _text("goal_source_id"),
        sa.Column("goal_source_cursor", sa.BigInteger(), nullable=True),
        _int("goal_revision", 0),
        _at("goal_observed_at"),
        _now("created_at"),
        _now("updated_at"),
        _fk(table, "company_id", "companies", None),
        _fk(table, "agent_id", "agents", None),
        _fk(table, "last_run_id", "heartbeat_runs", None),
        sa.PrimaryKeyConstraint("id", name=op.f(f"{table}_pkey")),
    )
    op.create_index(
        f"{table}_company_agent_adapter_task_uniq",
        table,
        ["company_id", "agent_id", "adapter_type", "task_key"],
        unique=True,
    )
    op.create_index(
        f"{table}_company_agent_updated_idx", table, ["company_id", "agent_id", "updated_at"]
    )
    op.create_index(
        f"{table}_company_task_updated_idx", table, ["company_id", "task_key", "updated_at"]
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER paperclip_issue_status_version_trigger"
        + (" ON issues" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION paperclip_bump_issue_status_version()")
    for table in ("agent_task_sessions", "plugin_entities", "issue_attachments", "assets"):
        op.drop_table(table)
    op.drop_table("issue_thread_interactions")
    op.drop_index("agent_wakeup_requests_company_payload_issue_idx", "agent_wakeup_requests")
    for name, _keys, _finished in _DELIVERY_FAMILIES:
        op.drop_index(name, "agent_wakeup_requests")
    for name in (
        "activity_log_company_agent_created_idx",
        "activity_log_company_responsible_user_created_idx",
    ):
        op.drop_index(name, "activity_log")
    for name in (
        "heartbeat_runs_execution_status_delivery_idx",
        "heartbeat_runs_execution_control_deadline_idx",
    ):
        op.drop_index(name, "heartbeat_runs")
    for name in (
        "issues_conversation_identity_idx",
        "issues_company_harness_kind_idx",
        "issues_company_updated_idx",
        "issues_company_created_idx",
        "issues_company_priority_idx",
        "issues_onboarding_first_task_uq",
        "issues_company_id_uq",
    ):
        op.drop_index(name, "issues")
    for name, table in (
        ("agents_company_id_uq", "agents"),
        ("issue_comments_company_id_uq", "issue_comments"),
        ("issue_comments_client_request_uq", "issue_comments"),
    ):
        op.drop_index(name, table)
    op.add_column("companies", sa.Column("brand_color", sa.Text(), nullable=True))
    op.drop_column("companies", "interaction_resolver_governance")
    op.drop_column("cost_events", "cost_status")
    op.drop_column("activity_log", "responsible_user_id")
    for column in ("conversation_session_generation", "client_request_id", "on_behalf_of_user_id"):
        op.drop_column("issue_comments", column)
    for column in (
        "execution_stage",
        "controller_lease_expires_at",
        "controller_boot_id",
        "native_phase_updated_at",
        "native_phase",
        "next_event_seq",
        "completion_contract_sha256",
        "completion_contract_id",
        "driver_version",
        "driver_kind",
        "native_issue_id",
        "native_session_id",
        "runner_instance_id",
        "runner_profile_json",
        "runtime_mode_resolved_at",
        "runtime_mode_reason",
        "runtime_mode_resolver_version",
        "runtime_mode",
        "execution_status_delivery_id",
        "execution_control_deadline_at",
        "active_identity_context_id",
    ):
        op.drop_column("heartbeat_runs", column)
    # the check goes with conversation_state; the foreign key with conversation_agent_id
    for column in (
        "blocked_owner_notified_at",
        "blocked_transition_at",
        "unblock_descriptor",
        "continuation_identity_context_id",
        "origin_identity_context_id",
        "review_policy",
        "harness_kind",
        "last_status_decision_id",
        "status_version",
        "conversation_boundary_comment_id",
        "conversation_session_generation",
        "conversation_state",
        "conversation_user_id",
        "conversation_agent_id",
    ):
        op.drop_column("issues", column)
