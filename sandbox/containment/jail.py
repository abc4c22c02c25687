"""The jail prelude: confine this process tree, then run the worker.

Run as ``python -S -m sandbox.containment.jail SPEC`` inside fresh user, PID, network and
mount namespaces (``unshare`` makes them; see ``launcher``), where it is PID 1. ``SPEC`` is the
JSON of a ``policy.JailSpec``. It:

1. builds a new root: a read-only tmpfs holding bind mounts of the paths the worker may read
   (read-only), its private temporary folder (read-write), a fresh ``/proc`` of the new PID
   namespace and a few devices; then ``pivot_root``s into it and drops the old root. Nothing
   else exists for the worker: not the host's database file, not the embedded PostgreSQL's
   socket (Landlock does not govern ``connect`` on a Unix socket's path; an absent path does);
2. forks the worker, which sets its resource limits, drops every capability, restricts itself
   with Landlock (the same paths; no TCP; signals and abstract Unix sockets only inside its
   domain) and execs the worker's command;
3. stays as PID 1: forwards ``SIGTERM``/``SIGINT``/``SIGHUP`` to the worker, reaps orphans, and
   exits with the worker's status (``128 + n`` for a signal ``n``). When PID 1 exits the kernel
   kills every process left in the namespace, whatever it holds or however it detached.

Standard library only: this runs before every contained worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import platform
import resource
import signal
import sys
import traceback
from typing import Any

from sandbox.containment import landlock

_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_REMOUNT = 32
_MS_NOATIME = 1024
_MS_NODIRATIME = 2048
_MS_BIND = 4096
_MS_REC = 16384
_MS_RELATIME = 1 << 21
_MS_STRICTATIME = 1 << 24
_MNT_DETACH = 2
_PR_CAPBSET_DROP = 24
_CAP_LAST = 63
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}
#: Device files a worker reads and writes.
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
_DEVICE_LINKS = {
    "/dev/fd": "/proc/self/fd",
    "/dev/stdin": "/proc/self/fd/0",
    "/dev/stdout": "/proc/self/fd/1",
    "/dev/stderr": "/proc/self/fd/2",
}
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    if _libc.mount(encode(source), target.encode(), encode(fstype), flags, encode(data)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _kept_flags(path: str) -> int:
    """The flags of the mount holding ``path`` that a user namespace may not clear."""
    flags = os.statvfs(path).f_flag
    kept = 0
    for st, ms in (
        (os.ST_NOSUID, _MS_NOSUID),
        (os.ST_NODEV, _MS_NODEV),
        (os.ST_NOEXEC, _MS_NOEXEC),
        (os.ST_NOATIME, _MS_NOATIME),
        (os.ST_NODIRATIME, _MS_NODIRATIME),
        (os.ST_RELATIME, _MS_RELATIME),
    ):
        if flags & st:
            kept |= ms
    if not flags & (os.ST_NOATIME | os.ST_RELATIME):
        kept |= _MS_STRICTATIME
    return kept


def _mount_point(target: str, *, directory: bool) -> None:
    os.makedirs(target if directory else os.path.dirname(target), exist_ok=True)
    if not directory and not os.path.exists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))


def _bind(source: str, root: str, *, writable: bool) -> None:
    target = root + source
    if os.path.islink(source):
        # A top-level symlink such as /lib -> usr/lib: the same link in the new root.
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.readlink(source), target)
        return
    _mount_point(target, directory=os.path.isdir(source))
    _mount(source, target, None, _MS_BIND | _MS_REC)
    flags = _MS_REMOUNT | _MS_BIND | _MS_NOSUID | _kept_flags(source)
    _mount(None, target, None, flags if writable else flags | _MS_RDONLY)


def _covered(path: str, bound: list[str]) -> bool:
    return any(path == done or path.startswith(done.rstrip("/") + "/") for done in bound)


def build_root(spec: dict[str, Any]) -> None:
    """Make the new root (see the module docstring) and move into it."""
    root = spec["root"]
    _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=1m")
    bound: list[str] = []
    for path in sorted(spec["read"], key=lambda p: (p.count("/"), p)):
        if os.path.lexists(path) and not _covered(path, bound):
            _bind(path, root, writable=False)
            bound.append(path)
    _bind(spec["write"], root, writable=True)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount("proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    for device in DEVICES:
        _mount_point(root + device, directory=False)
        _mount(device, root + device, None, _MS_BIND)
    for link, target in _DEVICE_LINKS.items():
        os.symlink(target, root + link)
    _mount(None, root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir(root)
    number = _SYS_PIVOT_ROOT[platform.machine()]
    if _libc.syscall(number, b".", b".") != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"pivot_root: {os.strerror(errno)}")
    if _libc.umount2(b".", _MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"umount old root: {os.strerror(errno)}")
    os.chdir("/")


def _confine_and_exec(spec: dict[str, Any]) -> None:
    limits = spec["limits"]
    for kind, value in (
        (resource.RLIMIT_AS, limits["memory_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(kind, (value, value))
    # SIGXCPU at the limit (the jail names it); the hard limit's SIGKILL a second later.
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for cap in range(_CAP_LAST + 1):  # root in the namespace keeps no capability after exec
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the kernel's last capability
    landlock.restrict_self(
        abi=spec["landlock_abi"],
        read=[*spec["read"], "/proc"],
        write=[spec["write"]],
        devices=DEVICES,
    )
    os.chdir(spec["cwd"])
    os.execvpe(spec["argv"][0], spec["argv"], spec["env"])


def _end_note(status: int, limits: dict[str, int]) -> str | None:
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return f"Worker used its {limits['cpu_seconds']} s of CPU time (SANDBOX_WORKER_CPU_SECONDS)"
    return None


def main(argv: list[str]) -> int:
    """Confine, run the worker, and return its exit status."""
    spec = json.loads(argv[0])
    for sig in _FORWARDED:  # until the worker runs, a stop request just ends the jail
        signal.signal(sig, lambda number, frame: os._exit(128 + number))
    build_root(spec)
    worker = os.fork()
    if worker == 0:
        try:
            _confine_and_exec(spec)
        except BaseException:
            traceback.print_exc()
        os._exit(127)

    def forward(number: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, number)

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    while True:
        pid, status = os.wait()
        if pid == worker:
            break
    note = _end_note(status, spec["limits"])
    if note:
        print(note, file=sys.stderr, flush=True)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
