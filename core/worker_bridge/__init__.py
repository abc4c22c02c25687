"""Worker-to-host calls: what a plugin worker may ask of the host, gated, validated, served.

Every request goes through the same steps, in upstream's order: the host must handle the method
(``HostMethodNotFound``, answered -32601 ``Host does not handle method "<m>"``), the manifest
must declare the capability the method requires (``CapabilityDenied``, -32001), a company the
call names must be the invocation's (``InvocationScopeDenied``, -32005), and the params must
fit the method's params model (``InvalidInput`` with upstream's message). Params arrive as the
published SDK sends them: camelCase, with undefined fields absent; results go back as JSON.

The bridge is storage-agnostic: it calls the host services, the plugin database and the
registry, and leaves processes to ``sandbox``. Two things need the worker itself and are
injected: where an ``events.subscribe`` delivers (``subscribe``), and the log buffer.

``methods`` holds the one table of served methods; ``params`` the params models of the methods
that are not host services.
"""

from core.worker_bridge.bridge import (
    MAX_UNKNOWN_METHODS,
    OTHER_UNKNOWN_METHODS,
    HostMethodNotFound,
    PluginRef,
    Subscribe,
    WorkerBridge,
    handled_methods,
)

__all__ = [
    "MAX_UNKNOWN_METHODS",
    "OTHER_UNKNOWN_METHODS",
    "HostMethodNotFound",
    "PluginRef",
    "Subscribe",
    "WorkerBridge",
    "handled_methods",
]
