"""What this machine's kernel offers for containment, probed once per process."""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass

from sandbox.containment import landlock

#: The namespaces a contained worker gets, as ``unshare`` options: user (root inside, mapped to
#: the host's user), network (no interface up), PID (``--fork``: the jail is PID 1), mount.
UNSHARE_OPTIONS = (
    "--user",
    "--map-root-user",
    "--net",
    "--pid",
    "--fork",
    "--mount",
    "--propagation",
    "private",
    "--kill-child=SIGKILL",
)


@dataclass(frozen=True, slots=True)
class KernelSupport:
    """The containment mechanisms available; ``missing`` says why containment cannot apply."""

    landlock_abi: int
    namespaces: bool
    missing: str | None = None

    @property
    def supported(self) -> bool:
        return self.missing is None

    def describe(self) -> str:
        """The mechanisms in effect, in one line."""
        parts = ["user, PID, network and mount namespaces", "new root with a fresh /proc"]
        parts.append(f"Landlock ABI {self.landlock_abi} (files")
        if self.landlock_abi >= 4:
            parts[-1] += ", no TCP"
        if self.landlock_abi >= 6:
            parts[-1] += ", signals and abstract Unix sockets scoped"
        parts[-1] += ")"
        return "; ".join([*parts, "rlimits", "no capabilities"])


@functools.cache
def probe_kernel() -> KernelSupport:
    """Probe once: the Landlock ABI, and whether ``unshare`` can make the namespaces."""
    if platform.system() != "Linux":
        return KernelSupport(0, False, f"containment needs Linux, this is {platform.system()}")
    abi = landlock.abi_version()
    namespaces, reason = _probe_namespaces()
    if not namespaces:
        return KernelSupport(abi, False, reason)
    if abi < 1:
        return KernelSupport(abi, True, "Landlock is not enabled in this kernel")
    return KernelSupport(abi, True)


def _probe_namespaces() -> tuple[bool, str | None]:
    for tool in ("unshare", "setpriv"):
        if shutil.which(tool) is None:
            return False, f"the util-linux tool {tool} is not installed"
    try:
        result = subprocess.run(
            ["unshare", *UNSHARE_OPTIONS, "--mount-proc", "true"],
            capture_output=True,
            timeout=10,
            env={"PATH": os.environ.get("PATH", os.defpath)},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"unshare failed: {error}"
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        return (
            False,
            f"user namespaces are not available ({detail[-1] if detail else 'unshare failed'})",
        )
    return True, None
