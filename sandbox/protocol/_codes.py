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
#: exhausting host memory and from stalling the event loop. A line is parsed on the loop, and a
#: thread is no help (the parser holds the GIL), nor is another process (building the objects
#: is the cost). Per 4 MiB on a loaded 2-core machine: one string 10 ms, issue-like rows 100-180
#: ms, dense small arrays, objects or numbers 170-450 ms; so 1 MiB keeps a line under ~100 ms.
DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
#: Deepest nesting of arrays and objects in a message. Upstream has none; Python's own parser
#: fails near 1,000 levels, and host code that walks values recursively needs room below that.
DEFAULT_MAX_JSON_DEPTH = 256
#: Worker-to-host requests the host serves at once for one worker; more are refused at once.
#: Each starts its work in the same turn of the event loop: with 5,000 calls fired at once, a
#: bystander plugin's p99 was about 90-120 ms at 16, 150-200 ms at 32 and 150-290 ms at 64.
DEFAULT_MAX_IN_FLIGHT_REQUESTS = 16
