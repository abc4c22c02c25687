"""The activity log: one row per mutation, redacted, plus the events it triggers.

Every host mutation writes its row in the same transaction as the mutation itself (upstream writes
it afterwards, so a failing audit insert could leave an unaudited change). After commit the row is
published as a live ``activity.logged`` event and, when the action is a domain event, as a
``PluginEvent`` to subscribed plugins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from core.event_bus import LiveEvent, PluginEvent
from core.ids import as_uuid
from core.records import ActivityEntry
from core.redaction import redact
from core.unit_of_work import UnitOfWork
from db import tables
from db.types import UUID

#: Domain event types plugins can subscribe to (2026.707.0; 33 types).
PLUGIN_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "company.created",
        "company.updated",
        "project.created",
        "project.updated",
        "project.workspace_created",
        "project.workspace_updated",
        "project.workspace_deleted",
        "issue.created",
        "issue.updated",
        "issue.comment.created",
        "issue.document.created",
        "issue.document.updated",
        "issue.document.deleted",
        "issue.relations.updated",
        "issue.checked_out",
        "issue.released",
        "issue.assignment_wakeup_requested",
        "agent.created",
        "agent.updated",
        "agent.status_changed",
        "agent.error_cleared",
        "agent.run.started",
        "agent.run.finished",
        "agent.run.failed",
        "agent.run.cancelled",
        "goal.created",
        "goal.updated",
        "approval.created",
        "approval.decided",
        "budget.incident.opened",
        "budget.incident.resolved",
        "cost_event.created",
        "activity.logged",
    }
)

#: Actions that are not event types themselves but map to one (dots read as underscores).
_EVENT_ALIASES = {
    "issue_comment_added": "issue.comment.created",
    "issue_comment_created": "issue.comment.created",
    "issue_document_created": "issue.document.created",
    "issue_document_updated": "issue.document.updated",
    "issue_document_deleted": "issue.document.deleted",
    "issue_blockers_updated": "issue.relations.updated",
    "approval_approved": "approval.decided",
    "approval_rejected": "approval.decided",
    "approval_revision_requested": "approval.decided",
    "budget_soft_threshold_crossed": "budget.incident.opened",
    "budget_hard_threshold_crossed": "budget.incident.opened",
    "budget_incident_resolved": "budget.incident.resolved",
}


#: Paperclip 2026.916.1 names the user answerable for each change (``responsible_user_id``):
#: the acting user, else (the sandbox keeps no responsible user of runs, keys or companies)
#: the user who created the issue the row is about. Found in the INSERT itself: no round trip.
_RESPONSIBLE_USER = sa.func.coalesce(
    sa.bindparam("acting_user_id", type_=sa.Text()),
    sa.select(tables.issues.c.created_by_user_id)
    .where(tables.issues.c.id == sa.bindparam("about_issue_id", type_=UUID()))
    .scalar_subquery(),
)
_INSERT_ACTIVITY = (
    sa.insert(tables.activity_log)
    .values(responsible_user_id=_RESPONSIBLE_USER)
    .returning(tables.activity_log.c.responsible_user_id)
)


def plugin_event_type(action: str) -> str | None:
    """The domain event an activity action announces, or None."""
    if action in PLUGIN_EVENT_TYPES:
        return action
    return _EVENT_ALIASES.get(action.replace(".", "_"))


@dataclass(frozen=True)
class Actor:
    """Who initiated a plugin operation, as the plugin reports it (all optional)."""

    agent_id: str | None = None
    user_id: str | None = None
    run_id: str | None = None

    @property
    def type(self) -> str | None:
        """``agent`` when an agent is named, else ``user`` when a user is, else None."""
        if self.agent_id:
            return "agent"
        return "user" if self.user_id else None


def plugin_attribution(plugin_id: str, plugin_key: str, actor: Actor) -> dict[str, Any]:
    """The detail keys every plugin-attributed activity row carries (upstream's order)."""
    return {
        "sourcePluginId": plugin_id,
        "sourcePluginKey": plugin_key,
        "initiatingActorType": actor.type,
        "initiatingActorId": actor.agent_id or actor.user_id or None,
        "initiatingAgentId": actor.agent_id or None,
        "initiatingUserId": actor.user_id or None,
        "initiatingRunId": actor.run_id or None,
        "pluginId": plugin_id,
        "pluginKey": plugin_key,
    }


async def record_activity(
    unit: UnitOfWork,
    *,
    company_id: str,
    actor_type: str,
    actor_id: str,
    action: str,
    entity_type: str,
    entity_id: str,
    agent_id: str | None = None,
    run_id: str | None = None,
    details: dict[str, Any] | None = None,
    emit_domain_event: bool = True,
    event_type: str | None = None,
) -> ActivityEntry:
    """Insert one redacted activity row and queue its events for after the commit.

    Args:
        emit_domain_event: False for rows whose action a plugin chose freely (``activity.log``),
            so that no plugin can forge a domain event such as ``issue.created``.
        event_type: the domain event to announce when the action itself does not map to one.
    """
    entry = ActivityEntry.model_construct(
        id=str(uuid.uuid4()),
        company_id=company_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        agent_id=agent_id,
        run_id=run_id,
        details=redact(details) if details is not None else None,
        created_at=unit.now,
    )
    inserted = await unit.session.execute(
        _INSERT_ACTIVITY,
        {
            "id": entry.id,
            "company_id": entry.company_id,
            "actor_type": entry.actor_type,
            "actor_id": entry.actor_id,
            "action": entry.action,
            "entity_type": entry.entity_type,
            "entity_id": entry.entity_id,
            "agent_id": entry.agent_id,
            "run_id": entry.run_id,
            "details": entry.details,
            "created_at": entry.created_at,
            "acting_user_id": actor_id if actor_type == "user" else None,
            "about_issue_id": as_uuid(entity_id) if entity_type == "issue" else None,
        },
    )
    entry = entry.model_copy(update={"responsible_user_id": inserted.scalar_one()})
    unit.publish_after_commit(
        LiveEvent(kind="activity.logged", company_id=company_id, subject=entry)
    )
    announced = (event_type or plugin_event_type(action)) if emit_domain_event else None
    if announced is not None:
        unit.publish_after_commit(
            PluginEvent(
                event_type=announced,
                company_id=company_id,
                actor_type=actor_type,
                actor_id=actor_id,
                entity_type=entity_type,
                entity_id=entity_id,
                payload={
                    **(entry.details or {}),
                    "agentId": agent_id,
                    "runId": run_id,
                    "responsibleUserId": entry.responsible_user_id,
                },
                occurred_at=entry.created_at,
            )
        )
    return entry
