"""One worker process serving a plugin for test after test (``python -m sandbox.sdk.generations``).

``TARGET`` is what follows ``python`` in a plain worker's command: the worker's file, or
``-m MODULE``. The ``plugin_sandbox`` fixture starts Python workers this way so that a test
does not pay for an interpreter and the SDK: this process imports the SDK once, builds its
record validators, then forks one *generation* per test. A generation is a new process that
runs the worker as ``python TARGET`` would, from the state this process had before the first
fork, so nothing one test's worker did (module state, threads, files it opened) reaches the
next test's worker.

The host and this process agree on two lines (``sandbox.worker_generations`` is the host's end):

- when a generation exited with code 0 (after ``shutdown``, or because stdin closed) and left no
  process behind, ``END_OF_GENERATION`` goes to stderr, then to stdout; then one line is read
  from stdin: ``NEXT_GENERATION`` forks the next generation, anything else (or the end of
  stdin) ends this process;
- any other end of a generation (an error exit, a signal, a process left running, which is
  killed) ends this process the same way, so the host sees what a plain worker would show.

Between generations the private temporary folder of a contained worker (``TMPDIR``) is emptied.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import runpy
import shutil
import signal
import sys
import traceback
from pathlib import Path
from typing import NoReturn

#: Written by this process when a generation ended cleanly.
END_OF_GENERATION = b'{"jsonrpc":"2.0","method":"sandbox/generation.ended"}\n'
#: Written by the host to start the next generation.
NEXT_GENERATION = b'{"jsonrpc":"2.0","method":"sandbox/generation.next"}\n'

_PR_SET_CHILD_SUBREAPER = 36


def main(target: list[str]) -> NoReturn:
    """Serve generations of the worker ``target`` until the host stops asking for them."""
    if not target or (target[0] == "-m" and len(target) != 2):
        sys.exit("usage: python -m sandbox.sdk.generations (WORKER_FILE | -m MODULE)")
    _load_sdk()
    # Orphans of a generation become this process's children, so none goes unnoticed.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    while True:
        status = _generation(target)
        if _left_behind() or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            _end_like(status)
        try:
            for fd in (2, 1):
                os.write(fd, END_OF_GENERATION)
        except OSError:  # the host is gone
            os._exit(0)
        if _read_line(0) != NEXT_GENERATION:
            os._exit(0)
        _empty_private_folder()


def _load_sdk() -> None:
    """Import the SDK and build every record validator, once for all generations.

    What is loaded is then frozen out of the garbage collector's reach: a collection in a
    generation would otherwise touch every object, and copy every page, inherited from here.
    """
    import sandbox.sdk  # noqa: F401  (the import is the point)
    from paperclip_records import unbuilt_record_types

    for record_type in unbuilt_record_types():
        record_type.model_rebuild()
    gc.collect()
    gc.freeze()


def _generation(target: list[str]) -> int:
    """Fork a generation running ``target``; its wait status once it has ended."""
    pid = os.fork()
    if pid == 0:
        _run(target)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return status
        except InterruptedError:
            continue


def _run(target: list[str]) -> NoReturn:
    """In the forked child: run the worker as ``python TARGET`` would, then exit."""
    code: int | str | None = 0
    try:
        if target[0] == "-m":
            sys.argv = [target[1]]
            runpy.run_module(target[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(target)
            sys.path[0] = str(Path(target[0]).resolve().parent)
            runpy.run_path(target[0], run_name="__main__")
    except SystemExit as exit:
        code = exit.code
    except BaseException:
        traceback.print_exc()
        code = 1
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)


def _left_behind() -> bool:
    """Whether the generation left processes running (they are killed) or we cannot tell."""
    _reap()
    try:
        children = {
            int(pid)
            for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()
        }
    except OSError:
        return True
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap()
    return bool(children)


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass


def _end_like(status: int) -> NoReturn:
    """End this process as the generation ended: with its code, or by its signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _read_line(fd: int) -> bytes:
    """One line from ``fd``, read byte by byte so nothing after it is taken from the pipe."""
    os.set_blocking(fd, True)  # a generation's event loop left the shared pipe non-blocking
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return bytes(line)


def _empty_private_folder() -> None:
    folder = os.environ.get("TMPDIR")
    if not folder or not os.path.isdir(folder):
        return
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


if __name__ == "__main__":
    main(sys.argv[1:])
