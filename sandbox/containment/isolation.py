"""How a plugin's worker runs: contained, or uncontained and why."""

from __future__ import annotations

from typing import Literal

from sandbox.containment.kernel import KernelSupport, probe_kernel
from sandbox.containment.policy import ContainmentSettings

#: ``contained``; ``trusted`` (the plugin's opt-out); ``off`` (``SANDBOX_CONTAINMENT=off`` or
#: the host's setting); ``unsupported`` (the kernel lacks a mechanism).
Isolation = Literal["contained", "trusted", "off", "unsupported"]


def worker_isolation(
    *, trusted: bool, settings: ContainmentSettings, kernel: KernelSupport | None = None
) -> Isolation:
    """How a worker runs, given the plugin's trust, the settings and the kernel (probed when
    needed and not given)."""
    if not settings.enabled:
        return "off"
    if trusted:
        return "trusted"
    return "contained" if (kernel or probe_kernel()).supported else "unsupported"


def describe_containment(
    settings: ContainmentSettings, kernel: KernelSupport, *, real_root: bool
) -> str:
    """How workers started here are contained, in one line (``sandbox limits``)."""
    if not settings.enabled:
        return "off (SANDBOX_CONTAINMENT=off): workers run uncontained"
    if not kernel.supported:
        return unsupported_notice(kernel)
    mechanisms = kernel.describe()
    if real_root:
        mechanisms += (
            "; SANDBOX_WORKER_PROCESSES is not applied: the kernel exempts root from RLIMIT_NPROC"
        )
    return mechanisms


def unsupported_notice(kernel: KernelSupport) -> str:
    """The one line said once when workers run uncontained because the kernel cannot contain
    them."""
    return (
        f"Plugin workers run uncontained: {kernel.missing} "
        "(set SANDBOX_CONTAINMENT=off to run them so without this notice)"
    )
