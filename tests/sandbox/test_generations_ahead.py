"""Python worker generations forked ahead of their test (``sandbox.sdk.generations``): what the
worker writes while it is imported reaches its own test, a worker that does not serve through
``run_worker`` still gets every test, and nothing waits on after the session.

Each test runs several plugin tests in a row the way the ``plugin_sandbox`` fixture does: a
fresh database from ``SandboxDatabases``, a ``PluginSandbox`` sharing one ``SpareWorkers``.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from sandbox.harness import PluginSandbox, SandboxDatabases
from sandbox.protocol import RpcError
from sandbox.scaffold import create_plugin
from sandbox.spare_workers import SpareWorkers

ROUNDS = 3

LOUD_WORKER = """
import os
import sys

print("stdout while importing")
print("stderr while importing", file=sys.stderr)

from sandbox.sdk import define_plugin, run_worker


async def setup(ctx):
    async def ping(params, context):
        return {"pid": os.getpid()}

    ctx.actions.register("ping", ping)


plugin = define_plugin(setup=setup)

if __name__ == "__main__":
    run_worker(plugin)
"""

CRASHING_WORKER = """
import os

from sandbox.sdk import define_plugin, run_worker


async def setup(ctx):
    async def ping(params, context):
        return {"pid": os.getpid()}

    async def crash(params, context):
        os._exit(3)

    ctx.actions.register("ping", ping)
    ctx.actions.register("crash", crash)


plugin = define_plugin(setup=setup)

if __name__ == "__main__":
    run_worker(plugin)
"""

#: A worker that speaks the protocol itself, without the SDK's run_worker.
RAW_WORKER = """
import json
import os
import sys

for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    method = message.get("method")
    result = {
        "initialize": {"ok": True, "supportedMethods": []},
        "performAction": {"pid": os.getpid()},
    }.get(method)
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\\n")
    sys.stdout.flush()
    if method == "shutdown":
        break
"""


@pytest.fixture
async def databases(backend: str, tmp_path: Path) -> AsyncIterator[SandboxDatabases]:
    started = SandboxDatabases(backend, tmp_path / "databases")  # type: ignore[arg-type]
    await started.start()
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
def spares() -> Iterator[SpareWorkers]:
    kept = SpareWorkers()
    yield kept
    kept.close()  # again, after a test that closed it: nothing left to end


def _plugin(directory: Path, key: str, worker: str) -> Path:
    root = create_plugin(key, "python", directory).root
    (root / "worker.py").write_text(textwrap.dedent(worker))
    return root


async def _test_after_test(
    databases: SandboxDatabases, spares: SpareWorkers, package: Path
) -> list[tuple[int, int, list[str]]]:
    """Run ``ROUNDS`` tests of the plugin in a row; per test the generation's pid, the
    process's pid and the messages of the plugin's log."""
    seen = []
    for _ in range(ROUNDS):
        async with databases.database() as db:
            sandbox = PluginSandbox(db, spare_workers=spares, templates=databases.plugin_templates)
            try:
                plugin = await sandbox.install(package)
                company = await sandbox.add_company("Acme")
                result = await plugin.perform_action("ping", {}, company=company)
                process = sandbox.host.active(plugin.key).worker.pid
                messages = [line.message for line in await plugin.logs()]
            finally:
                await sandbox.close(discard=True)
        seen.append((result["pid"], process, messages))
    return seen


async def test_what_a_worker_writes_while_imported_reaches_each_test(
    databases: SandboxDatabases, spares: SpareWorkers, tmp_path: Path
) -> None:
    package = _plugin(tmp_path / "plugins", "ahead.loud", LOUD_WORKER)
    seen = await _test_after_test(databases, spares, package)
    generations = [generation for generation, _, _ in seen]
    assert len(set(generations)) == ROUNDS  # a new process for every test
    assert len({process for _, process, _ in seen}) == 1  # forked by one process
    for _, _, messages in seen:
        assert sum("stderr while importing" in message for message in messages) == 1
        assert sum("stdout while importing" in message for message in messages) == 1


async def test_a_worker_without_run_worker_serves_every_test(
    databases: SandboxDatabases, spares: SpareWorkers, tmp_path: Path
) -> None:
    package = _plugin(tmp_path / "plugins", "ahead.raw", RAW_WORKER)
    seen = await _test_after_test(databases, spares, package)
    assert len({generation for generation, _, _ in seen}) == ROUNDS
    assert len({process for _, process, _ in seen}) == 1


async def test_a_generation_that_crashes_ends_its_process(
    databases: SandboxDatabases, spares: SpareWorkers, tmp_path: Path
) -> None:
    package = _plugin(tmp_path / "plugins", "ahead.crashing", CRASHING_WORKER)
    processes = []
    for crash in (True, False):
        async with databases.database() as db:
            sandbox = PluginSandbox(db, spare_workers=spares, templates=databases.plugin_templates)
            try:
                plugin = await sandbox.install(package)
                company = await sandbox.add_company("Acme")
                await plugin.perform_action("ping", {}, company=company)
                processes.append(sandbox.host.active(plugin.key).worker.pid)
                if crash:
                    with pytest.raises(RpcError):
                        await plugin.perform_action("crash", {}, company=company)
            finally:
                await sandbox.close(discard=True)
    assert processes[0] != processes[1]


async def test_the_next_generation_waits_ahead_and_ends_with_the_session(
    databases: SandboxDatabases, spares: SpareWorkers, tmp_path: Path
) -> None:
    package = _plugin(tmp_path / "plugins", "ahead.closed", LOUD_WORKER)
    seen = await _test_after_test(databases, spares, package)
    # The generations process, and the next test's generation forked from it ahead.
    forked = await _until(lambda: len(_generations(seen[0][1])) == 2)
    processes = _generations(seen[0][1])
    spares.close()
    assert forked
    assert await _until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in processes))


async def _until(condition: Callable[[], bool]) -> bool:
    """Whether ``condition()`` came true within 10 s."""
    for _ in range(200):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


def _generations(root: int) -> list[int]:
    """The processes under ``root`` (the worker as the host started it, maybe in a jail)
    running ``sandbox.sdk.generations``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        waiting.extend(children.get(pid, []))
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"\0-m\0sandbox.sdk.generations\0" in command:
            found.append(pid)
    return found
