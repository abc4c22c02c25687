"""The Core ``Table`` of every model, for set-based queries (``sa.select(issues)``)."""

from __future__ import annotations

from sqlalchemy import Table

from db import models


def _table(model: type[models.Base]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


activity_log = _table(models.ActivityLog)
agent_api_keys = _table(models.AgentApiKey)
agent_task_sessions = _table(models.AgentTaskSession)
agent_wakeup_requests = _table(models.AgentWakeupRequest)
agents = _table(models.Agent)
approvals = _table(models.Approval)
assets = _table(models.Asset)
budget_incidents = _table(models.BudgetIncident)
budget_policies = _table(models.BudgetPolicy)
companies = _table(models.Company)
company_memberships = _table(models.CompanyMembership)
cost_events = _table(models.CostEvent)
document_revisions = _table(models.DocumentRevision)
documents = _table(models.Document)
execution_workspaces = _table(models.ExecutionWorkspace)
goals = _table(models.Goal)
heartbeat_runs = _table(models.HeartbeatRun)
issue_approvals = _table(models.IssueApproval)
issue_attachments = _table(models.IssueAttachment)
issue_comments = _table(models.IssueComment)
issue_documents = _table(models.IssueDocument)
issue_labels = _table(models.IssueLabel)
issue_relations = _table(models.IssueRelation)
issue_thread_interactions = _table(models.IssueThreadInteraction)
issues = _table(models.Issue)
labels = _table(models.Label)
plugin_capability_usage = _table(models.PluginCapabilityUsage)
plugin_config = _table(models.PluginConfig)
plugin_database_namespaces = _table(models.PluginDatabaseNamespace)
plugin_entities = _table(models.PluginEntity)
plugin_job_runs = _table(models.PluginJobRun)
plugin_jobs = _table(models.PluginJob)
plugin_logs = _table(models.PluginLog)
plugin_migrations = _table(models.PluginMigration)
plugin_state = _table(models.PluginState)
plugins = _table(models.Plugin)
project_workspaces = _table(models.ProjectWorkspace)
projects = _table(models.Project)
sandbox_asset_contents = _table(models.SandboxAssetContent)
sandbox_hosts = _table(models.SandboxHost)
sandbox_plugin_trust = _table(models.SandboxPluginTrust)
sandbox_run_leases = _table(models.SandboxRunLease)
