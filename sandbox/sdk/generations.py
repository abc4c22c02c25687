"""One worker process serving a plugin for test after test (``python -m sandbox.sdk.generations``).

``TARGET`` is what follows ``python`` in a plain worker's command: the worker's file, or
``-m MODULE``. The ``plugin_sandbox`` fixture starts Python workers this way so that a test
does not pay for an interpreter and the SDK: this process imports the SDK once, builds its
record validators, then forks one *generation* per test. A generation is a new process that
runs the worker as ``python TARGET`` would, from the state this process had before the first
fork, so nothing one test's worker did (module state, threads, files it opened) reaches the
next test's worker.

The host and this process agree on two lines (``sandbox.worker_generations`` is the host's end):

- when a generation exits with code 0 (after ``shutdown``, or because stdin closed) and leaves no
  process behind, ``END_OF_GENERATION`` goes to stderr, then to stdout; then one line is read
  from stdin: ``NEXT_GENERATION`` starts the next generation, anything else (or the end of
  stdin) ends this process. A generation on its way out says so first (its pid, on a pipe of
  this process): the line goes out while the kernel still tears the process down (about 2 ms
  for a fork of this process), and it is reaped before the next one starts;
- any other end of a generation (an error exit, a signal, a process left running, which is
  killed) ends this process the same way, so the host sees what a plain worker would show.

Between generations the private temporary folder of a contained worker (``TMPDIR``) is emptied.

**Forked ahead.** A worker on the SDK reaches ``run_worker`` before it reads anything from the
host, and ``run_worker`` tells this process so (``sandbox.sdk._stdio.before_serving``). Once a
generation has, the next one is forked as soon as the last one ended, before the host asks for
it: it runs the worker's module up to ``run_worker`` with nothing on stdin and its output
held in memory, and waits there. ``NEXT_GENERATION`` lets it go on: its stdin, stdout and stderr
become the process's again, what it wrote so far is written to them, and it serves. So the
interpreter's fork and the worker's import are not part of a test. A generation forked ahead
that ends before ``run_worker`` also waits for ``NEXT_GENERATION`` before its output and its
end reach the host (and the next ones are forked when asked for again).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import runpy
import select
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
#: How a generation's pid is written to this process.
_PID_BYTES = 4


def main(target: list[str]) -> NoReturn:
    """Serve generations of the worker ``target`` until the host stops asking for them."""
    if not target or (target[0] == "-m" and len(target) != 2):
        sys.exit("usage: python -m sandbox.sdk.generations (WORKER_FILE | -m MODULE)")
    _load_sdk()
    # Orphans of a generation become this process's children, so none goes unnoticed.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # A generation writes a byte to ``serving`` when it reaches run_worker, and its pid to
    # ``exiting`` just before it exits with code 0.
    served, serving = os.pipe()
    os.set_blocking(served, False)
    ending, exiting = os.pipe()
    ahead: _Ahead | None = None
    while True:
        pid = ahead.start() if ahead is not None else _fork(target, _Start(serving, exiting))
        if _exits_cleanly(pid, ending):
            # The host hears of the end while the kernel still tears the process down.
            if _kill_left_behind(exiting=pid):
                _end_like(_wait(pid))
            _announce_end()
            status = _wait(pid)
            if not _exited_ok(status):
                _end_like(status)
        else:
            status = _wait(pid)
            if _left_behind() or not _exited_ok(status):
                _end_like(status)
            _announce_end()
        _empty_private_folder()
        ahead = _fork_ahead(target, serving, exiting) if _drained(served) else None
        if _read_line(0) != NEXT_GENERATION:
            if ahead is not None:
                ahead.cancel()
            os._exit(0)


def _load_sdk() -> None:
    """Import the SDK and build every record validator, once for all generations.

    What is loaded is then frozen out of the garbage collector's reach: a collection in a
    generation would otherwise touch every object, and copy every page, inherited from here.
    """
    import pkgutil  # noqa: F401  (runpy.run_path imports it in every generation otherwise)

    import sandbox.sdk  # noqa: F401  (the import is the point)
    from paperclip_records import unbuilt_record_types

    for record_type in unbuilt_record_types():
        record_type.model_rebuild()
    gc.collect()
    gc.freeze()


class _Start:
    """In a generation's process: what ``run_worker`` calls before it serves
    (``sandbox.sdk._stdio.before_serving``), and what tells this process of a clean exit."""

    def __init__(self, serving: int, exiting: int) -> None:
        self._serving = serving
        self._exiting = exiting

    def __call__(self) -> None:
        os.write(self._serving, b"s")

    def before_exit(self) -> None:
        """Called when the worker ends, whether it served or not."""

    def exiting_cleanly(self) -> None:
        """Called just before the process exits with code 0."""
        os.write(self._exiting, os.getpid().to_bytes(_PID_BYTES, "little"))


class _HeldStart(_Start):
    """In a generation forked ahead: the worker waits for ``NEXT_GENERATION`` (a byte on
    ``gate``), with nothing to read on stdin and stdout and stderr held in memory till then."""

    def __init__(self, serving: int, exiting: int, gate: int) -> None:
        super().__init__(serving, exiting)
        self._gate = gate
        self._waited = False
        self._real = [os.dup(fd) for fd in (0, 1, 2)]
        nothing, closed = os.pipe()  # reads find the end at once
        os.close(closed)
        os.dup2(nothing, 0)
        os.close(nothing)
        for fd in (1, 2):
            held = os.memfd_create(f"generation-output-{fd}")
            os.dup2(held, fd)
            os.close(held)

    def __call__(self) -> None:
        super().__call__()
        self._wait()

    def before_exit(self) -> None:
        self._wait()

    def _wait(self) -> None:
        if self._waited:
            return
        self._waited = True
        if not os.read(self._gate, 1):  # this process ended without starting us
            os._exit(0)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        for fd, real in zip((0, 1, 2), self._real, strict=True):
            held = os.dup(fd)
            os.dup2(real, fd)
            os.close(real)
            if fd != 0:
                _replay(held, fd)
            os.close(held)


def _replay(held: int, fd: int) -> None:
    """Write what the memory file ``held`` holds to ``fd``."""
    os.lseek(held, 0, os.SEEK_SET)
    while chunk := os.read(held, 1 << 16):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


class _Ahead:
    """This process's end of a generation forked ahead."""

    def __init__(self, pid: int, gate: int) -> None:
        self.pid = pid
        self._gate = gate

    def start(self) -> int:
        """Let it go on; its pid."""
        with contextlib.suppress(OSError):  # it ended already: its status says how
            os.write(self._gate, b"g")
        os.close(self._gate)
        return self.pid

    def cancel(self) -> None:
        os.close(self._gate)  # it ends at once, without a word
        _wait(self.pid)


def _fork(target: list[str], start: _Start) -> int:
    """Fork a generation running ``target``; its pid."""
    pid = os.fork()
    if pid == 0:
        _run(target, start)
    return pid


def _fork_ahead(target: list[str], serving: int, exiting: int) -> _Ahead:
    gate, opening = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(opening)
        try:
            start = _HeldStart(serving, exiting, gate)
        except BaseException:  # no descriptor left: this child must not go on as the parent
            traceback.print_exc()
            os._exit(1)
        _run(target, start)
    os.close(gate)
    return _Ahead(pid, opening)


def _exits_cleanly(pid: int, ending: int) -> bool:
    """Wait until the generation ``pid`` says it exits with code 0 (True: it may still be
    exiting) or ends without saying so (False)."""
    process = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([ending, process], [], [])
            if ending in ready:
                said = os.read(ending, _PID_BYTES)
                if int.from_bytes(said, "little") == pid:  # not a process it forked
                    return True
            elif process in ready:
                return False
    finally:
        os.close(process)


def _exited_ok(status: int) -> bool:
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _announce_end() -> None:
    """``END_OF_GENERATION`` to stderr, then stdout; this process ends if the host is gone."""
    try:
        for fd in (2, 1):
            os.write(fd, END_OF_GENERATION)
    except OSError:
        os._exit(0)


def _wait(pid: int) -> int:
    """The wait status of the generation ``pid`` once it has ended."""
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def _drained(served: int) -> bool:
    """Whether a generation wrote to the ``served`` pipe since the last call."""
    written = False
    with contextlib.suppress(BlockingIOError):
        while os.read(served, 64):
            written = True
    return written


def _run(target: list[str], start: _Start) -> NoReturn:
    """In the forked child: run the worker as ``python TARGET`` would, then exit."""
    from sandbox.sdk import _stdio

    _stdio.before_serving = start
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
    start.before_exit()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    if not code:
        start.exiting_cleanly()
    os._exit(code or 0)


def _left_behind() -> bool:
    """Whether the generation left processes running (they are killed) or we cannot tell."""
    _reap()
    try:
        children = _children("/proc/self/task")
    except OSError:
        return True
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap()
    return bool(children)


def _kill_left_behind(*, exiting: int) -> bool:
    """Whether the generation ``exiting`` (exiting now, not reaped) left processes running, as
    its children or already as ours (they are killed); True when we cannot tell."""
    found = set()
    # Its children first: while it exits they become ours, and then the second read finds
    # them (what cannot be read of it any more is gone with it).
    with contextlib.suppress(OSError):
        found = _children(f"/proc/{exiting}/task")
    try:
        found |= _children("/proc/self/task") - {exiting}
    except OSError:
        return True
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return bool(found)


def _children(tasks: str) -> set[int]:
    """The children of every thread in ``tasks`` (a ``/proc/PID/task`` folder)."""
    return {
        int(pid)
        for task in Path(tasks).iterdir()
        for pid in (task / "children").read_text().split()
    }


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
