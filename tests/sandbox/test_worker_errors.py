"""Worker exceptions that point to the fix: a handler's exception reaches ``plugin logs``, the
CLI and the exception a test sees with its type and traceback (Python) or stack (JS), whatever
the worker (a Python process, in-process, or Node on the published SDK, unchanged).

Before: ``Error: 'parentId' (WORKER_ERROR -32002)``, no type, no trace, nothing in the logs.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db import Database
from sandbox.harness import PluginSandbox
from sandbox.plugin_package import SUPPORTED_SDK_VERSIONS, SdkVersionWarning, sdk_version_warning
from sandbox.protocol import ErrorCode, RpcError
from sandbox.worker_connection import STRAY_OUTPUT_HINT, PluginHandlerError
from tests.fixtures.author_projects import run_pytest, write_project
from tests.fixtures.workers import JS_SMOKE, ROOT, ensure_npm_installed
from tests.sandbox.test_plugin_cli import ok, sandbox, seeded

ERRORS_PYTHON = ROOT / "fixtures" / "plugins" / "errors-python"
ERRORS_JS = ROOT / "fixtures" / "plugins" / "errors-js"
KEYS = {
    ERRORS_PYTHON: "sandbox-fixtures.errors-python",
    ERRORS_JS: "sandbox-fixtures.errors-js",
}
#: What each worker kind raises in ``create-child``, and a line of its trace.
FAILURES = {
    "python": ("KeyError", "'parentId'", 'return params["parentId"]'),
    "python-inprocess": ("KeyError", "'parentId'", 'return params["parentId"]'),
    "js": (
        "TypeError",
        "Cannot read properties of undefined (reading 'id')",
        f"at parentOf (file://{ERRORS_JS}/worker.mjs:8:",
    ),
}
KINDS = pytest.mark.parametrize("kind", list(FAILURES))
#: An SDK version the sandbox does not support, and what the install says of it.
UNSUPPORTED_SDK = "2026.1001.0"
UNSUPPORTED_SDK_WARNING = (
    f"{KEYS[ERRORS_JS]} uses @paperclipai/plugin-sdk {UNSUPPORTED_SDK}; the sandbox supports"
    " 2026.707.0 and 2026.916.1 (pin one: npm install --save-exact"
    " @paperclipai/plugin-sdk@2026.916.1)"
)


@pytest.fixture(scope="session")
def errors_js_installed() -> None:
    ensure_npm_installed(ERRORS_JS)


@pytest.fixture
async def plugin_sandbox(
    db: Database, kind: str, request: pytest.FixtureRequest
) -> AsyncIterator[PluginSandbox]:
    if kind == "js":
        request.getfixturevalue("errors_js_installed")
    workers = "in-process" if kind == "python-inprocess" else "subprocess"
    sandbox = PluginSandbox(db, python_workers=workers)
    try:
        yield sandbox
    finally:
        await sandbox.close()


def _package(kind: str) -> Path:
    return ERRORS_JS if kind == "js" else ERRORS_PYTHON


@KINDS
async def test_an_exception_carries_its_type_and_trace(
    plugin_sandbox: PluginSandbox, kind: str
) -> None:
    plugin = await plugin_sandbox.install(_package(kind))
    company = await plugin_sandbox.add_company()
    error_type, message, frame = FAILURES[kind]

    with pytest.raises(PluginHandlerError) as raised:
        await plugin.perform_action("create-child", {}, company=company)

    error = raised.value
    # The answer on the wire is upstream's: -32002 with the message alone.
    assert (error.code, error.message) == (ErrorCode.WORKER_ERROR, message)
    assert error.error_type == error_type
    assert frame in error.trace
    # What pytest prints for it: the type, then the worker's trace.
    assert str(error).startswith(f"{error_type}: {message}\n\n")
    assert frame in str(error)

    [line] = await plugin.logs(level="error")
    assert line.message == f"performAction create-child failed: {error_type}: {message}"
    assert line.meta is not None and line.meta["errorType"] == error_type
    assert frame in line.meta["stack"]


@KINDS
async def test_a_data_handler_failure_is_reported_under_its_key(
    plugin_sandbox: PluginSandbox, kind: str
) -> None:
    plugin = await plugin_sandbox.install(_package(kind))
    expected = "RangeError" if kind == "js" else "ZeroDivisionError"

    with pytest.raises(PluginHandlerError) as raised:
        await plugin.get_data("broken")

    assert raised.value.error_type == expected
    [line] = await plugin.logs(level="error")
    assert line.message.startswith(f"getData broken failed: {expected}: ")


@KINDS
async def test_a_host_refusal_the_plugin_let_through_keeps_its_code_and_no_trace(
    plugin_sandbox: PluginSandbox, kind: str
) -> None:
    plugin = await plugin_sandbox.install(_package(kind))
    company = await plugin_sandbox.add_company()

    with pytest.raises(RpcError) as raised:
        await plugin.perform_action("refused", {}, company=company)

    assert type(raised.value) is RpcError
    assert raised.value.code == ErrorCode.INVOCATION_SCOPE_DENIED
    assert raised.value.message == (
        f'Plugin "{plugin.id}" is not allowed to perform "issues.get": requested company'
        f' "not-a-company" but the current invocation is scoped to company "{company.id}"'
        f" (plugin {plugin.key})"
    )
    assert await plugin.logs(level="error") == []


@pytest.mark.parametrize("kind", ["js"])
async def test_a_stray_stdout_line_is_warned_about_with_the_fix(
    plugin_sandbox: PluginSandbox, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = await plugin_sandbox.install(ERRORS_JS)
    company = await plugin_sandbox.add_company()
    caplog.set_level(logging.WARNING, logger="sandbox.worker_connection")

    assert await plugin.perform_action("stdout", {}, company=company) == "written"

    [warning] = [r.getMessage() for r in caplog.records if "unparseable" in r.getMessage()]
    assert warning.endswith(
        "unparseable message from worker: stray line on stdout (stdout carries the worker"
        " protocol; log with ctx.logger (Python: or print(..., file=sys.stderr);"
        " JS: console.error))"
    )
    assert STRAY_OUTPUT_HINT in warning


# -- the CLI ------------------------------------------------------------------------------------


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stderr.splitlines()[-1]


@pytest.mark.parametrize("package", [ERRORS_PYTHON, ERRORS_JS], ids=["python", "js"])
def test_the_cli_names_the_type_and_shows_the_trace_with_v(
    empty_database_url: str, package: Path, errors_js_installed: None
) -> None:
    db, key = empty_database_url, KEYS[package]
    kind = "js" if package == ERRORS_JS else "python"
    error_type, message, frame = FAILURES[kind]
    prefix = seeded(db, "--prefix", "ACM")["company"]["issuePrefix"]
    installed = sandbox(db, "plugin", "install", str(package))
    ok(installed)
    assert "warning" not in installed.stderr  # the supported SDK version

    default = sandbox(db, "action", key, "create-child", "--company", prefix)
    assert _error_line(default) == (
        f"Error: {error_type}: {message} (WORKER_ERROR -32002)"
        " -- rerun as 'sandbox -v action ...' for the traceback"
    )
    assert frame not in default.stderr

    verbose = sandbox(db, "-v", "action", key, "create-child", "--company", prefix)
    assert _error_line(verbose) == f"Error: {error_type}: {message} (WORKER_ERROR -32002)"
    assert frame in verbose.stderr

    logs = ok(sandbox(db, "plugin", "logs", key, "--level", "error")).splitlines()
    head = f"  error   performAction create-child failed: {error_type}: {message}"
    assert logs[0].endswith(f'{head}  {{"errorType": "{error_type}"}}')
    # The stack, indented under its line.
    assert any(line.startswith("    ") and frame in line for line in logs[1:])


# -- pytest, in a plugin author's project -------------------------------------------------------

AUTHOR_TEST = """
from sandbox.testing import PluginSandbox


async def test_create_child(plugin_sandbox: PluginSandbox):
    plugin = await plugin_sandbox.install({plugin!r})
    company = await plugin_sandbox.add_company()
    await plugin.perform_action("create-child", {{}}, company=company)
"""


def test_pytest_shows_the_workers_traceback(backend: str, tmp_path: Path) -> None:
    project = write_project(tmp_path, AUTHOR_TEST.format(plugin=str(ERRORS_PYTHON)))
    result = run_pytest(project, "-q", f"--sandbox-backend={backend}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PluginHandlerError: KeyError: 'parentId'" in result.stdout
    assert 'return params["parentId"]' in result.stdout
    assert f'File "{ERRORS_PYTHON / "worker.py"}", line' in result.stdout


# -- the SDK version at install -----------------------------------------------------------------


def _js_copy(tmp_path: Path, *, sdk_version: str) -> Path:
    """The errors-js plugin in ``tmp_path`` with an installed SDK claiming ``sdk_version``: its
    package.json says so, its code is the real SDK's (so the worker still runs). A copy, not
    symlinks: a contained worker reads nothing outside its folder."""
    package = tmp_path / "errors-js"
    shutil.copytree(ERRORS_JS, package, ignore=shutil.ignore_patterns(".npm-install.lock"))
    installed = package / "node_modules" / "@paperclipai" / "plugin-sdk" / "package.json"
    metadata = json.loads(installed.read_text())
    installed.write_text(json.dumps(metadata | {"version": sdk_version}))
    return package


def test_install_warns_about_an_unsupported_sdk_version(
    empty_database_url: str, tmp_path: Path, errors_js_installed: None
) -> None:
    package = _js_copy(tmp_path, sdk_version=UNSUPPORTED_SDK)

    installed = sandbox(empty_database_url, "plugin", "install", str(package))

    assert ok(installed).startswith(f"Installed {KEYS[ERRORS_JS]} 0.1.0 (ready)")
    assert installed.stderr.splitlines()[-1] == f"warning: {UNSUPPORTED_SDK_WARNING}"


@pytest.mark.parametrize("kind", ["js"])
async def test_the_pytest_fixture_warns_about_an_unsupported_sdk_version(
    plugin_sandbox: PluginSandbox, kind: str, tmp_path: Path
) -> None:
    package = _js_copy(tmp_path, sdk_version=UNSUPPORTED_SDK)

    with pytest.warns(SdkVersionWarning) as warned:
        plugin = await plugin_sandbox.install(package)

    [warning] = warned
    assert str(warning.message) == UNSUPPORTED_SDK_WARNING
    assert warning.filename == __file__  # points at the test's install line
    assert await plugin.perform_action("stdout", {}, company=await plugin_sandbox.add_company())


@pytest.mark.parametrize("kind", ["js"])
@pytest.mark.parametrize(
    ("package", "version"),
    [
        pytest.param(ERRORS_JS, "2026.916.1", id="2026.916.1"),
        pytest.param(JS_SMOKE, "2026.707.0", id="2026.707.0"),
    ],
)
async def test_each_supported_sdk_version_installs_without_a_warning(
    plugin_sandbox: PluginSandbox,
    kind: str,
    package: Path,
    version: str,
    js_smoke_installed: None,
) -> None:
    pinned = json.loads((package / "package.json").read_text())["dependencies"]
    assert pinned == {"@paperclipai/plugin-sdk": version}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plugin = await plugin_sandbox.install(package)

    assert [w for w in caught if issubclass(w.category, SdkVersionWarning)] == []
    assert (await plugin.health())["status"] == "ok"


def test_without_node_modules_an_exact_dependency_is_judged(tmp_path: Path) -> None:
    package = tmp_path / "plugin"
    package.mkdir()

    def depends_on(version: str) -> str | None:
        dependencies = {"@paperclipai/plugin-sdk": version}
        (package / "package.json").write_text(json.dumps({"dependencies": dependencies}))
        return sdk_version_warning(package, "acme.plugin")

    assert depends_on("2026.500.0") is not None
    assert "uses @paperclipai/plugin-sdk 2026.500.0;" in (depends_on("2026.500.0") or "")
    for supported in SUPPORTED_SDK_VERSIONS:
        assert depends_on(supported) is None
    assert depends_on("^2026.707.0") is None  # a range is not judged
    assert sdk_version_warning(ERRORS_PYTHON, "python.plugin") is None  # not a JS plugin
