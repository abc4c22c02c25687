"""Landlock through its three system calls (``landlock_create_ruleset``, ``landlock_add_rule``,
``landlock_restrict_self``); standard library only, as the jail prelude imports it.

A ruleset handles a set of rights; whatever it handles is denied unless a rule allows it
beneath a path. ABI 4 adds TCP bind/connect rights, ABI 6 scopes abstract Unix sockets and
signals to the sandbox's own domain.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Iterable

# x86_64 and the generic syscall table (aarch64, riscv64) share these numbers.
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

#: Rights that apply to a file (a rule on a file may only name these).
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
#: Reading and running what lies beneath a path.
READ_RIGHTS = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR


def fs_rights(abi: int) -> int:
    """Every filesystem right the kernel's ABI knows."""
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= 1 << 13  # refer
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI, or 0 when Landlock is absent or disabled."""
    if platform.system() != "Linux":
        return 0
    version = _libc.syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    return max(version, 0)


def restrict_self(
    *, abi: int, read: Iterable[str], write: Iterable[str], devices: Iterable[str]
) -> None:
    """Confine this thread and its future children: read and run beneath ``read``, everything
    beneath ``write``, read and write the ``devices`` files; no TCP (ABI >= 4); no abstract Unix
    socket or signal outside the domain (ABI >= 6).

    Raises:
        OSError: a system call failed (a path in the lists must exist).
    """
    handled = fs_rights(abi)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _check(_libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0), "ruleset")
    try:
        rules = [(path, READ_RIGHTS) for path in read]
        rules += [(path, handled) for path in write]
        rules += [(path, FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE) for path in devices]
        for path, rights in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                if not os.path.isdir(path):
                    rights &= FILE_RIGHTS
                rule = _PathBeneathAttr(rights & handled, fd)
                _check(
                    _libc.syscall(
                        _SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0
                    ),
                    f"rule for {path}",
                )
            finally:
                os.close(fd)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(_libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0), "restrict_self")
    finally:
        os.close(ruleset)
