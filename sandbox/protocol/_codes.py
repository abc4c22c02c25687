"""Constants of Paperclip's worker protocol: version, error codes, method names, limits."""

from __future__ import annotations

import enum

#: The only JSON-RPC version either side accepts.
JSONRPC_VERSION = "2.0"


class ErrorCode(enum.IntEnum):
    """JSON-RPC error codes, standard and Paperclip's own (upstream's names)."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    WORKER_UNAVAILABLE = -32000
    CAPABILITY_DENIED = -32001
    WORKER_ERROR = -32002
    TIMEOUT = -32003
    METHOD_NOT_IMPLEMENTED = -32004
    INVOCATION_SCOPE_DENIED = -32005
    UNKNOWN = -32099


#: Upstream's ``PLUGIN_RPC_ERROR_CODES``: the codes a host forwards unchanged to a worker
#: when one of its handlers raises them (2026.707.0); any other failure becomes -32603.
PLUGIN_RPC_ERROR_CODES: frozenset[int] = frozenset(
    {
        ErrorCode.WORKER_UNAVAILABLE,
        ErrorCode.CAPABILITY_DENIED,
        ErrorCode.WORKER_ERROR,
        ErrorCode.TIMEOUT,
        ErrorCode.METHOD_NOT_IMPLEMENTED,
        ErrorCode.INVOCATION_SCOPE_DENIED,
        ErrorCode.UNKNOWN,
    }
)

#: Host-to-worker methods every worker implements.
HOST_TO_WORKER_REQUIRED_METHODS: tuple[str, ...] = ("initialize", "health", "shutdown")

#: Host-to-worker methods a worker may implement (2026.707.0). A worker without the hook for
#: one of them answers -32004; a method outside both lists gets -32601.
HOST_TO_WORKER_OPTIONAL_METHODS: tuple[str, ...] = (
    "validateConfig",
    "configChanged",
    "onEvent",
    "runJob",
    "handleWebhook",
    "handleApiRequest",
    "getData",
    "performAction",
    "executeTool",
    "detectExternalObjects",
    "resolveExternalObject",
    "refreshExternalObjects",
    "environmentValidateConfig",
    "environmentProbe",
    "environmentAcquireLease",
    "environmentResumeLease",
    "environmentReleaseLease",
    "environmentDestroyLease",
    "environmentRealizeWorkspace",
    "environmentExecute",
    "environmentStartInteractiveSetup",
    "environmentGetInteractiveSetup",
    "environmentCaptureTemplate",
    "environmentCancelInteractiveSetup",
    "environmentDeleteTemplate",
)

#: Envelope field of a host-to-worker message: ``{"id": <uuid>, "scope": {"companyId": ...}}``.
INVOCATION_FIELD = "paperclipInvocation"
#: Envelope field of a worker-to-host message issued inside an invocation: the invocation id.
INVOCATION_ID_FIELD = "paperclipInvocationId"

#: Largest accepted message line. Upstream has no limit; a bound keeps a runaway worker from
#: exhausting host memory, and 64 MiB leaves room for big fetched bodies and issue lists.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
