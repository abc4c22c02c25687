"""The parity matrix: every test that asks for ``db`` runs once on SQLite and once on PostgreSQL.

``--backend sqlite`` (or ``postgres``) runs one leg on purpose; nothing ever skips a leg quietly.
If PostgreSQL cannot start, the run stops with the reason. A backend test that skips fails the
run, and the summary ends with one line counting the tests of each backend.

JavaScript plugins run on Node 24 that the tests install themselves (``SANDBOX_NODE``, see
``tests.fixtures.node_install``); if it cannot be installed the run stops with the reason.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from db import Database, Dialect, create_db
from db.templates import clone_sqlite
from sandbox.testing import parity_legs, report_outcome
from tests.fixtures.databases import (
    POSTGRES_RESET_SQL,
    PostgresTestServer,
    build_sqlite_template,
    create_empty_database,
    create_worker_database,
    drop_database_named,
)
from tests.fixtures.node_install import TEST_NODE_ENV, use_session_node

#: The backends every storage test runs on, by their ``Dialect`` names.
BACKENDS = tuple(dialect.value for dialect in Dialect)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("both", *BACKENDS),
        default="both",
        help="Run storage tests on both backends (default) or on one on purpose.",
    )


def selected_backends(config: pytest.Config) -> tuple[str, ...]:
    choice = config.getoption("--backend")
    return BACKENDS if choice == "both" else (choice,)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres_only: runs only when the PostgreSQL leg is selected"
    )
    config.pluginmanager.register(ParityReport(), "parity-report")
    # Before the xdist workers start, so they inherit it; each worker checks it again (under
    # the install's lock, a few stat calls once installed).
    try:
        use_session_node()
    except RuntimeError as error:
        raise pytest.UsageError(
            f"Node for the tests of JavaScript plugins could not be installed: {error}\n"
            f"Set {TEST_NODE_ENV} to a Node 24.11+ binary to use that one instead."
        ) from error
    if _is_xdist_worker(config) or "postgres" not in selected_backends(config):
        return
    server = PostgresTestServer()
    try:
        server.start()
    except Exception as error:
        server.stop()
        raise pytest.UsageError(
            f"PostgreSQL for the parity matrix could not start: {error}\n"
            "Set SANDBOX_TEST_POSTGRES_URL to use another server, or pass --backend sqlite "
            "to run only the SQLite leg on purpose."
        ) from error
    config.stash[_SERVER] = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        server.stop()


_SERVER = pytest.StashKey[PostgresTestServer]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", selected_backends(metafunc.config), indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend this test runs on: ``"sqlite"`` or ``"postgres"``."""
    name: str = request.param
    request.node.user_properties.append(("backend", name))
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_worker_url(pytestconfig: pytest.Config) -> Iterator[URL]:
    worker = getattr(pytestconfig, "workerinput", {}).get("workerid", "main")
    url, name = create_worker_database(worker)
    yield url
    drop_database_named(name)


@pytest.fixture
async def db(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Database]:
    """A migrated, empty database on the test's backend."""
    started = time.perf_counter()
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        database = create_db(clone_sqlite(template, tmp_path / "sandbox.db"))
    else:
        database = create_db(request.getfixturevalue("postgres_worker_url"))
        async with database.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute(POSTGRES_RESET_SQL)
    request.node.user_properties.append(("db_ready_ms", (time.perf_counter() - started) * 1000))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database that exists but was never migrated, on the test's backend."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    url, name = create_empty_database()
    yield url.render_as_string(hide_password=False)
    drop_database_named(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres_only`` leave with the PostgreSQL leg when it is deselected."""
    if "postgres" in selected_backends(config):
        return
    kept = [item for item in items if item.get_closest_marker("postgres_only") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


class ParityReport:
    """Counts outcomes per backend (also across xdist workers) and guards against skips."""

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, str]] = defaultdict(dict)
        self.ready_ms: dict[str, list[float]] = defaultdict(list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        backend = properties.get("backend")
        if backend is None:
            return
        if report.when == "setup" and "db_ready_ms" in properties:
            self.ready_ms[backend].append(float(properties["db_ready_ms"]))
        if self.outcomes[backend].get(report.nodeid) in (None, "passed"):
            self.outcomes[backend][report.nodeid] = report_outcome(report)

    def skipped(self) -> list[str]:
        return sorted(
            nodeid
            for results in self.outcomes.values()
            for nodeid, outcome in results.items()
            if outcome == "skipped"
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.outcomes:
            return
        notes = {
            backend: f"clean database in {statistics.median(waits):.1f} ms median"
            for backend, waits in self.ready_ms.items()
            if waits
        }
        line = "parity matrix: " + parity_legs(self.outcomes, notes)
        terminalreporter.write_line(line, bold=True)
        for nodeid in self.skipped():
            terminalreporter.write_line(f"backend test skipped (not allowed): {nodeid}", red=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.skipped() and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
