"""The Python plugin SDK: write a Paperclip plugin worker in Python.

Mirrors the published ``@paperclipai/plugin-sdk`` in snake_case: ``define_plugin`` with ``setup``
and lifecycle hooks, a ``ctx`` whose clients return typed records, and ``run_worker`` to serve
the plugin over stdio when the host spawns it. The wire stays upstream's camelCase JSON-RPC, so
the same host runs Python and JavaScript plugins. ``WorkerRuntime`` serves a plugin over any
transport (``run_worker`` uses stdio; the sandbox's in-process runner, an in-memory pair).

Importing this package loads nothing of the host (``core``, ``db``, the CLI, the TUI or HTTP
server), so a plugin may have its own ``core`` or ``db`` module; the records it returns are
defined in ``paperclip_records``, which the host shares. ``python -m sandbox.sdk.reference``
writes docs/ctx-reference.md.
"""

from paperclip_records import (
    AttachmentContent,
    BatchWakeupResult,
    CheckoutOwnership,
    Comment,
    Document,
    DocumentSummary,
    Issue,
    IssueAttachment,
    IssueListItem,
    IssueRow,
    IssueUpdate,
    OrchestrationSummary,
    RelationSummary,
    Subtree,
    WakeupResult,
)
from sandbox.protocol import ErrorCode, RpcError, RpcTimeout, WorkerUnavailable
from sandbox.sdk._context import PluginContext
from sandbox.sdk._plugin import Plugin, define_plugin
from sandbox.sdk._runtime import WorkerRuntime
from sandbox.sdk._stdio import run_worker
from sandbox.sdk._types import (
    ActionActor,
    ActionContext,
    Actor,
    ApiActor,
    ApiRequestInput,
    ApiResponse,
    ConfigValidation,
    EventFilter,
    ExecuteResult,
    HealthResult,
    HttpResponse,
    JobContext,
    PluginEvent,
    ToolResult,
    ToolRunContext,
    WebhookInput,
)

__all__ = [
    "ActionActor",
    "ActionContext",
    "Actor",
    "ApiActor",
    "ApiRequestInput",
    "ApiResponse",
    "AttachmentContent",
    "BatchWakeupResult",
    "CheckoutOwnership",
    "Comment",
    "ConfigValidation",
    "Document",
    "DocumentSummary",
    "ErrorCode",
    "EventFilter",
    "ExecuteResult",
    "HealthResult",
    "HttpResponse",
    "Issue",
    "IssueAttachment",
    "IssueListItem",
    "IssueRow",
    "IssueUpdate",
    "JobContext",
    "OrchestrationSummary",
    "Plugin",
    "PluginContext",
    "PluginEvent",
    "RelationSummary",
    "RpcError",
    "RpcTimeout",
    "Subtree",
    "ToolResult",
    "ToolRunContext",
    "WakeupResult",
    "WebhookInput",
    "WorkerRuntime",
    "WorkerUnavailable",
    "define_plugin",
    "run_worker",
]
