"""Live viewers (ours, not upstream's): the change feed's notices and cursors, and capability use.

- PostgreSQL only: a trigger on every followed table sends ``NOTIFY sandbox_changes`` inside the
  writing transaction, so a rollback sends nothing and a commit wakes every viewer at once. One
  notice per statement: ``<table>:<id>,<id>,...``, or just ``<table>`` when the ids would not
  fit PostgreSQL's 8000-byte payload limit (the viewer then reads the table's cursor instead).
  SQLite has no notices; its viewers poll ``PRAGMA data_version``.
- Cursor indexes: the followed tables by the time column a viewer's cursor reads.
- ``plugin_capability_usage``: worker-to-host calls per plugin and method, allowed and refused.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrations import types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: The tables whose changes live viewers follow, and the statements that change them.
_FOLLOWED = {
    "activity_log": ("INSERT",),
    "plugin_logs": ("INSERT",),
    "cost_events": ("INSERT",),
    "agent_wakeup_requests": ("INSERT", "UPDATE"),
    "heartbeat_runs": ("INSERT", "UPDATE"),
    "budget_incidents": ("INSERT", "UPDATE"),
    "plugins": ("INSERT", "UPDATE"),
    "plugin_capability_usage": ("INSERT", "UPDATE"),
}

_CURSOR_INDEXES = (
    ("activity_log_created_idx", "activity_log", ["created_at"]),
    ("activity_log_actor_created_idx", "activity_log", ["actor_type", "actor_id", "created_at"]),
    ("plugin_logs_created_idx", "plugin_logs", ["created_at"]),
    ("cost_events_created_idx", "cost_events", ["created_at"]),
    ("agent_wakeup_requests_updated_idx", "agent_wakeup_requests", ["updated_at"]),
    ("heartbeat_runs_updated_idx", "heartbeat_runs", ["updated_at"]),
)

# 7999: the payload must stay below 8000 bytes.
_NOTIFY_FUNCTION = """
CREATE FUNCTION sandbox_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids text;
  payload text;
BEGIN
  SELECT string_agg(id::text, ',') INTO ids FROM changed_rows;
  IF ids IS NULL THEN
    RETURN NULL;
  END IF;
  payload := TG_TABLE_NAME || ':' || ids;
  IF octet_length(payload) > 7999 THEN
    payload := TG_TABLE_NAME;
  END IF;
  PERFORM pg_notify('sandbox_changes', payload);
  RETURN NULL;
END
$$
"""


def _trigger_name(table: str, event: str) -> str:
    return f"{table}_sandbox_notify_{event.lower()}"


def upgrade() -> None:
    op.create_table(
        "plugin_capability_usage",
        sa.Column("id", types.UUID(), server_default=types.GenerateUUID(), nullable=False),
        sa.Column("plugin_id", types.UUID(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("capability", sa.Text(), nullable=True),
        sa.Column("allowed_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("denied_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("out_of_scope_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_allowed_at", types.Timestamp(), nullable=True),
        sa.Column("last_denied_at", types.Timestamp(), nullable=True),
        sa.Column("last_denial", sa.Text(), nullable=True),
        sa.Column("created_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.Column("updated_at", types.Timestamp(), server_default=types.SqlNow(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plugin_id"],
            ["plugins.id"],
            name=op.f("plugin_capability_usage_plugin_id_plugins_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plugin_capability_usage_pkey")),
    )
    op.create_index(
        "plugin_capability_usage_plugin_method_idx",
        "plugin_capability_usage",
        ["plugin_id", "method"],
        unique=True,
    )
    op.create_index(
        "plugin_capability_usage_updated_idx", "plugin_capability_usage", ["updated_at"]
    )
    for name, table, columns in _CURSOR_INDEXES:
        op.create_index(name, table, columns)

    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(_NOTIFY_FUNCTION)
    for table, events in _FOLLOWED.items():
        for event in events:
            op.execute(
                f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} "
                "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT "
                "EXECUTE FUNCTION sandbox_notify_change()"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table, events in _FOLLOWED.items():
            for event in events:
                op.execute(f"DROP TRIGGER {_trigger_name(table, event)} ON {table}")
        op.execute("DROP FUNCTION sandbox_notify_change()")
    for name, table, _ in reversed(_CURSOR_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("plugin_capability_usage_updated_idx", table_name="plugin_capability_usage")
    op.drop_index("plugin_capability_usage_plugin_method_idx", table_name="plugin_capability_usage")
    op.drop_table("plugin_capability_usage")
