"""Every table of the schema, with upstream's table and column names.

Plugins join ``public.issues`` and friends in their own SQL, so these names are an API.
"""

from db.models.activity import ActivityLog
from db.models.agents import Agent, AgentApiKey, AgentTaskSession
from db.models.approvals import Approval, IssueApproval
from db.models.attachments import Asset, IssueAttachment, SandboxAssetContent
from db.models.base import Base
from db.models.companies import Company, CompanyMembership
from db.models.costs import BudgetIncident, BudgetPolicy, CostEvent
from db.models.documents import Document, DocumentRevision, IssueDocument
from db.models.hosts import SandboxHost, SandboxRunLease
from db.models.interactions import IssueThreadInteraction
from db.models.issues import Issue, IssueComment, IssueLabel, IssueRelation, Label
from db.models.jobs import PluginJob, PluginJobRun
from db.models.plugin_trust import SandboxPluginTrust
from db.models.plugins import (
    Plugin,
    PluginCapabilityUsage,
    PluginConfig,
    PluginDatabaseNamespace,
    PluginEntity,
    PluginLog,
    PluginMigration,
    PluginState,
)
from db.models.projects import ExecutionWorkspace, Goal, Project, ProjectWorkspace
from db.models.runs import AgentWakeupRequest, HeartbeatRun

#: The MetaData holding every table.
metadata = Base.metadata

__all__ = [
    "ActivityLog",
    "Agent",
    "AgentApiKey",
    "AgentTaskSession",
    "AgentWakeupRequest",
    "Approval",
    "Asset",
    "Base",
    "BudgetIncident",
    "BudgetPolicy",
    "Company",
    "CompanyMembership",
    "CostEvent",
    "Document",
    "DocumentRevision",
    "ExecutionWorkspace",
    "Goal",
    "HeartbeatRun",
    "Issue",
    "IssueApproval",
    "IssueAttachment",
    "IssueComment",
    "IssueDocument",
    "IssueLabel",
    "IssueRelation",
    "IssueThreadInteraction",
    "Label",
    "Plugin",
    "PluginCapabilityUsage",
    "PluginConfig",
    "PluginDatabaseNamespace",
    "PluginEntity",
    "PluginJob",
    "PluginJobRun",
    "PluginLog",
    "PluginMigration",
    "PluginState",
    "Project",
    "ProjectWorkspace",
    "SandboxAssetContent",
    "SandboxHost",
    "SandboxPluginTrust",
    "SandboxRunLease",
    "metadata",
]
