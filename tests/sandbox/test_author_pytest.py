"""The plugin author's pytest run: a project of their own, only the installed pytest plugin.

Each test writes a small project into ``tmp_path`` and runs pytest on it in a subprocess, as an
author would: the README's snippet with ``-W error``, both backends in one run with their
summary line, and worker timeouts from the command line or a marker.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.fixtures.author_projects import run_pytest, write_project
from tests.fixtures.workers import ROOT

SMOKE_PLUGIN = ROOT / "fixtures" / "plugins" / "orchestration-smoke-python"
PROBE_PLUGIN = ROOT / "fixtures" / "plugins" / "wire-probe-python"


def _readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"\n## {title}\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def _code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def _pytest(project: Path, *arguments: str, env: dict[str, str] | None = None) -> str:
    """Run pytest in ``project`` with every warning an error; returns its output."""
    result = run_pytest(
        project, *arguments, strict_warnings=True, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_readme_snippet_passes_on_both_backends_without_warnings(tmp_path: Path) -> None:
    section = _readme_section("Testing a plugin")
    [config] = _code_blocks(section, "ini")
    [snippet] = _code_blocks(section, "python")
    assert "path/to/my-plugin" in snippet
    (tmp_path / "pytest.ini").write_text(config)
    (tmp_path / "test_plugin.py").write_text(
        snippet.replace('"path/to/my-plugin"', repr(str(SMOKE_PLUGIN)))
    )

    output = _pytest(tmp_path, "-v", "--sandbox-backend=both")

    assert "test_plugin.py::test_smoke[sqlite] PASSED" in output
    assert "test_plugin.py::test_smoke[postgres] PASSED" in output
    assert (
        "plugin_sandbox parity matrix: sqlite: 1 tests (1 passed) | postgres: 1 tests (1 passed)"
    ) in output


BACKENDS_AND_TIMEOUTS = """
import pytest

from sandbox.protocol import RpcTimeout

PROBE = {probe!r}


async def test_each_backend(plugin_sandbox, sandbox_backend):
    assert plugin_sandbox.db.dialect.value == sandbox_backend
    company = await plugin_sandbox.add_company()
    assert [c.name for c in [company]] == ["Acme"]


async def test_only_sqlite_passes(plugin_sandbox, sandbox_backend):
    assert sandbox_backend == "sqlite"


@pytest.mark.sandbox_timeouts(call=0.25)
async def test_a_marker_shortens_the_call_timeout(plugin_sandbox):
    plugin = await plugin_sandbox.install(PROBE)
    with pytest.raises(RpcTimeout, match='^RPC call "performAction" timed out after 250ms$'):
        await plugin.perform_action("sleep", {{"ms": 5000}})


async def test_the_option_sets_the_call_timeout(plugin_sandbox, pytestconfig):
    plugin = await plugin_sandbox.install(PROBE)
    if pytestconfig.getoption("--sandbox-worker-timeout") is None:
        assert await plugin.perform_action("sleep", {{"ms": 10}}) == 10
        return
    with pytest.raises(RpcTimeout, match='^RPC call "performAction" timed out after 300ms$'):
        await plugin.perform_action("sleep", {{"ms": 5000}})
"""


def _backends_project(tmp_path: Path) -> Path:
    return write_project(tmp_path, BACKENDS_AND_TIMEOUTS.format(probe=str(PROBE_PLUGIN)))


def test_sandbox_backend_both_runs_each_test_on_each_backend(tmp_path: Path) -> None:
    project = _backends_project(tmp_path)
    result = run_pytest(
        project, "-v", "--sandbox-worker-timeout=0.3", env={**os.environ, "SANDBOX_BACKEND": "both"}
    )

    output = result.stdout
    assert result.returncode == 1, output + result.stderr  # the postgres leg fails on purpose
    for backend in ("sqlite", "postgres"):
        assert f"test_plugin.py::test_each_backend[{backend}] PASSED" in output
        assert (
            f"test_plugin.py::test_a_marker_shortens_the_call_timeout[{backend}] PASSED" in output
        )
        assert f"test_plugin.py::test_the_option_sets_the_call_timeout[{backend}] PASSED" in output
    assert "test_plugin.py::test_only_sqlite_passes[postgres] FAILED" in output
    assert (
        "plugin_sandbox parity matrix: sqlite: 4 tests (4 passed) | "
        "postgres: 4 tests (3 passed, 1 failed)"
    ) in output


def test_one_backend_keeps_plain_test_names(tmp_path: Path) -> None:
    project = _backends_project(tmp_path)

    output = _pytest(project, "-v", "-k", "not only_sqlite", "--sandbox-backend=sqlite")

    assert "test_plugin.py::test_each_backend PASSED" in output
    assert "test_plugin.py::test_the_option_sets_the_call_timeout PASSED" in output
    assert "plugin_sandbox parity matrix: sqlite: 3 tests (3 passed)" in output
