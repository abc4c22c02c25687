"""What a contained worker may read and write, and the resource limits it runs under.

``ContainmentSettings`` holds the switch and the limits, with defaults and ``SANDBOX_*``
environment overrides. ``jail_spec`` turns a worker's command into what the jail prelude
applies: the paths it may read (its plugin folder, its language runtime, the system's libraries,
the few files of ``/etc`` that programs read at start, and the sandbox's SDK packages for Python
workers — not the folder around them, where a database file may sit), the one folder it may
write, and the limits.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from core.settings import EnvironmentSettings
from sandbox.worker_launch import NODE_BOOTSTRAP

#: Environment variables that override the defaults, by setting name.
ENVIRONMENT = {
    "enabled": "SANDBOX_CONTAINMENT",
    "memory_bytes": "SANDBOX_WORKER_MEMORY_BYTES",
    "open_files": "SANDBOX_WORKER_OPEN_FILES",
    "processes": "SANDBOX_WORKER_PROCESSES",
    "cpu_seconds": "SANDBOX_WORKER_CPU_SECONDS",
}

#: System paths every worker reads: programs, shared libraries, time zones (under /usr).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
#: Files of /etc read at start (dynamic linker, local time, user and host lookups).
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
)
#: The packages of the sandbox a Python worker imports: the SDK and the records it parses.
SDK_PACKAGES = ("sandbox", "paperclip_records")


class ContainmentSettings(EnvironmentSettings):
    """Whether workers are contained, and their limits."""

    ENVIRONMENT = ENVIRONMENT

    #: ``SANDBOX_CONTAINMENT=off`` runs every worker uncontained (for trusted code only); it
    #: takes ``on`` or ``off`` (also ``1``/``0``, ``true``/``false``).
    enabled: bool = True
    #: Address space (RLIMIT_AS): the one rlimit that counts every mapping a worker can fill
    #: (RLIMIT_DATA misses shared anonymous memory, ``mmap.mmap(-1, n)``; Linux ignores
    #: RLIMIT_RSS). It counts reservations too: at rest, a worker on SDK 2026.916.1 maps
    #: 1.15 GiB under Node 24.22 and 0.78 GiB under Node 20.20 (Node 24's V8 reserves two more
    #: regions, of 256 and 128 MiB, next to the 512 MiB code range both reserve), so 1 GiB
    #: stops Node 24 at start; 2 GiB leaves it about 0.85 GiB for the plugin's own memory.
    memory_bytes: int = Field(default=2 << 30, gt=0)
    #: Open file descriptors (RLIMIT_NOFILE).
    open_files: int = Field(default=256, gt=0)
    #: Processes of the worker's user (RLIMIT_NPROC); the kernel does not apply it to real root.
    processes: int = Field(default=64, gt=0)
    #: CPU seconds per worker process (RLIMIT_CPU); a restarted worker starts a new count.
    cpu_seconds: int = Field(default=3600, gt=0)


def _runtime_paths(executable: str, env: Mapping[str, str]) -> list[str]:
    """The installation a worker's interpreter runs from."""
    found = shutil.which(executable, path=env.get("PATH")) or executable
    paths = [str(Path(found).resolve().parent.parent)]
    if os.path.realpath(found) == os.path.realpath(sys.executable):
        paths += [sys.prefix, sys.base_prefix]  # a venv and the Python it was made from
    return paths


def jail_spec(
    *,
    argv: tuple[str, ...],
    env: Mapping[str, str],
    cwd: Path,
    root: Path,
    private: Path,
    sdk_root: Path,
    settings: ContainmentSettings,
    landlock_abi: int,
) -> dict[str, Any]:
    """What the jail applies to one worker (see ``jail``).

    Args:
        argv, env, cwd: the worker's command, environment and package root.
        root: an empty folder the jail mounts the new root on.
        private: the worker's own temporary folder, its only writable place.
        sdk_root: the folder holding the sandbox's packages (added for Python workers).
    """
    read = [*SYSTEM_PATHS, *ETC_FILES, str(cwd.resolve()), *_runtime_paths(argv[0], env)]
    if "PYTHONPATH" in env:
        read += [str(sdk_root / package) for package in SDK_PACKAGES]
    read += [path for path in env.get("NODE_PATH", "").split(os.pathsep) if path]
    if str(NODE_BOOTSTRAP) in argv:  # the sandbox's own modules that start a Node worker
        read.append(str(NODE_BOOTSTRAP.parent))
    return {
        "argv": list(argv),
        "env": dict(env),
        "cwd": str(cwd.resolve()),
        "root": str(root),
        "read": sorted({os.path.abspath(path) for path in read if os.path.lexists(path)}),
        "write": str(private),
        "landlock_abi": landlock_abi,
        "limits": {
            "memory_bytes": settings.memory_bytes,
            "open_files": settings.open_files,
            "processes": settings.processes,
            "cpu_seconds": settings.cpu_seconds,
        },
    }
