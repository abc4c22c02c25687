"""Plugin capabilities and the worker-to-host method each one gates.

Upstream's ``PLUGIN_CAPABILITIES`` (52 at 9c6f551595, 21 more in the published 2026.707.0 SDK,
6 more in 2026.916.1, which real plugins are built with) and ``METHOD_CAPABILITY_MAP``.
"""

from __future__ import annotations

from collections.abc import Collection

from core.errors import CapabilityDenied

#: Every capability a manifest may declare, in the order of the 2026.916.1 release (zod lists
#: them in this order in its enum message). ``#+`` marks the 21 that 2026.707.0 added to the 52
#: of the baseline, ``# 916`` the 6 that 2026.916.1 added.
PLUGIN_CAPABILITIES: tuple[str, ...] = (
    "companies.read",
    "projects.read",
    "project.workspaces.read",
    "execution.workspaces.read",  # +
    "issues.read",
    "issue.relations.read",
    "issue.subtree.read",
    "issue.comments.read",
    "issue.interactions.read",  # 916
    "issue.attachments.read",  # 916
    "approvals.read",  # 916
    "issue.documents.read",
    "agents.read",
    "goals.read",
    "goals.create",
    "goals.update",
    "activity.read",
    "costs.read",
    "issues.orchestration.read",
    "access.members.read",  # +
    "access.invites.read",  # +
    "authorization.grants.read",  # +
    "authorization.policies.read",  # +
    "authorization.audit.read",  # +
    "database.namespace.read",
    "issues.create",
    "issues.update",
    "issue.relations.write",
    "issues.checkout",
    "issues.wakeup",
    "issue.comments.create",
    "issue.comments.create_human_attributed",  # 916
    "issue.interactions.create",  # +
    "issue.interactions.respond",  # 916
    "approvals.respond",  # 916
    "issue.documents.write",
    "projects.managed",  # +
    "routines.managed",  # +
    "skills.managed",  # +
    "agents.pause",
    "agents.resume",
    "agents.invoke",
    "agents.managed",  # +
    "access.members.write",  # +
    "access.invites.write",  # +
    "authorization.grants.write",  # +
    "authorization.policies.write",  # +
    "agent.sessions.create",
    "agent.sessions.list",
    "agent.sessions.send",
    "agent.sessions.close",
    "activity.log.write",
    "metrics.write",
    "telemetry.track",
    "database.namespace.migrate",
    "database.namespace.write",
    "external.objects.detect",  # +
    "external.objects.read",  # +
    "external.objects.write",  # +
    "external.objects.refresh",  # +
    "plugin.state.read",
    "plugin.state.write",
    "events.subscribe",
    "events.emit",
    "jobs.schedule",
    "webhooks.receive",
    "api.routes.register",
    "http.outbound",
    "secrets.read-ref",
    "environment.drivers.register",  # +
    "local.folders",  # +
    "agent.tools.register",
    "instance.settings.register",
    "ui.sidebar.register",
    "ui.page.register",
    "ui.detailTab.register",
    "ui.dashboardWidget.register",
    "ui.commentAnnotation.register",
    "ui.action.register",
)

#: Methods every plugin may call.
UNGATED_METHODS: frozenset[str] = frozenset(
    {"config.get", "log", "entities.upsert", "entities.list"}
)

#: What ``issues.createComment`` also needs when it names a board user (``actorUserId``).
HUMAN_ATTRIBUTED_COMMENTS = "issue.comments.create_human_attributed"

#: Worker-to-host method -> the capability it requires. It also names methods this host does
#: not serve yet (the bridge answers those -32601 before any gate).
METHOD_CAPABILITIES: dict[str, str] = {
    "state.get": "plugin.state.read",
    "state.set": "plugin.state.write",
    "state.delete": "plugin.state.write",
    "db.namespace": "database.namespace.read",
    "db.query": "database.namespace.read",
    "db.execute": "database.namespace.write",
    "events.emit": "events.emit",
    "events.subscribe": "events.subscribe",
    "http.fetch": "http.outbound",
    "secrets.resolve": "secrets.read-ref",
    "activity.log": "activity.log.write",
    "metrics.write": "metrics.write",
    "telemetry.track": "telemetry.track",
    # 2026.916.1: the provider span sink, for plugins that register environment drivers.
    "span.record": "environment.drivers.register",
    "companies.list": "companies.read",
    "companies.get": "companies.read",
    "projects.list": "projects.read",
    "projects.get": "projects.read",
    "projects.listWorkspaces": "project.workspaces.read",
    "projects.getPrimaryWorkspace": "project.workspaces.read",
    "projects.getWorkspaceForIssue": "project.workspaces.read",
    "issues.list": "issues.read",
    "issues.get": "issues.read",
    "issues.create": "issues.create",
    "issues.update": "issues.update",
    "issues.relations.get": "issue.relations.read",
    "issues.relations.setBlockedBy": "issue.relations.write",
    "issues.relations.addBlockers": "issue.relations.write",
    "issues.relations.removeBlockers": "issue.relations.write",
    "issues.assertCheckoutOwner": "issues.checkout",
    "issues.getSubtree": "issue.subtree.read",
    "issues.requestWakeup": "issues.wakeup",
    "issues.requestWakeups": "issues.wakeup",
    "issues.summaries.getOrchestration": "issues.orchestration.read",
    "issues.listComments": "issue.comments.read",
    "issues.createComment": "issue.comments.create",
    # 2026.916.1; ``issues.createComment`` with ``actorUserId`` also needs
    # ``issue.comments.create_human_attributed``, which gates no method of its own.
    "issues.listInteractions": "issue.interactions.read",
    "issues.respondInteraction": "issue.interactions.respond",
    "issues.listAttachments": "issue.attachments.read",
    "issues.getAttachmentContent": "issue.attachments.read",
    "approvals.list": "approvals.read",
    "approvals.get": "approvals.read",
    "approvals.decide": "approvals.respond",
    "issues.documents.list": "issue.documents.read",
    "issues.documents.get": "issue.documents.read",
    "issues.documents.upsert": "issue.documents.write",
    "issues.documents.delete": "issue.documents.write",
    "agents.list": "agents.read",
    "agents.get": "agents.read",
    "agents.pause": "agents.pause",
    "agents.resume": "agents.resume",
    "agents.invoke": "agents.invoke",
    "agents.sessions.create": "agent.sessions.create",
    "agents.sessions.list": "agent.sessions.list",
    "agents.sessions.sendMessage": "agent.sessions.send",
    "agents.sessions.close": "agent.sessions.close",
    "goals.list": "goals.read",
    "goals.get": "goals.read",
    "goals.create": "goals.create",
    "goals.update": "goals.update",
    "localFolders.configure": "local.folders",
    "localFolders.status": "local.folders",
    "localFolders.list": "local.folders",
    "localFolders.readText": "local.folders",
    "localFolders.writeTextAtomic": "local.folders",
    "localFolders.deleteFile": "local.folders",
    "executionWorkspaces.get": "execution.workspaces.read",
    "projects.managed.get": "projects.managed",
    "projects.managed.reconcile": "projects.managed",
    "projects.managed.reset": "projects.managed",
    "routines.managed.get": "routines.managed",
    "routines.managed.reconcile": "routines.managed",
    "routines.managed.reset": "routines.managed",
    "routines.managed.update": "routines.managed",
    "routines.managed.run": "routines.managed",
    "skills.managed.get": "skills.managed",
    "skills.managed.reconcile": "skills.managed",
    "skills.managed.reset": "skills.managed",
    "issues.createInteraction": "issue.interactions.create",
    "agents.managed.get": "agents.managed",
    "agents.managed.reconcile": "agents.managed",
    "agents.managed.reset": "agents.managed",
}


def required_capability(method: str) -> str | None:
    """The capability ``method`` requires, or None when every plugin may call it."""
    return METHOD_CAPABILITIES.get(method)


def require_capability(
    plugin_id: str,
    plugin_key: str,
    capabilities: Collection[str],
    method: str,
    capability: str | None = None,
) -> None:
    """Refuse ``method`` unless the plugin declared the capability it requires.

    Args:
        plugin_id: the plugin record id (upstream names the UUID, not the key, in the message).
        plugin_key: the plugin's key, appended to upstream's message so an author knows which
            plugin it is.
        capabilities: the capabilities of the plugin's manifest.
        method: the worker-to-host method being called.
        capability: a capability the call needs beyond its method's (``issues.createComment``
            for a board user needs ``issue.comments.create_human_attributed``).

    Raises:
        CapabilityDenied: with upstream's message, then ``(plugin <key>)``.
    """
    capability = capability or required_capability(method)
    if capability is not None and capability not in capabilities:
        raise CapabilityDenied(
            f'Plugin "{plugin_id}" is missing required capability "{capability}" '
            f'for method "{method}" (plugin {plugin_key})'
        )
