"""Finding and loading a plugin package from its folder (sandbox/plugin_package.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import NotFound
from sandbox.plugin_package import PluginPackageError, load_package, worker_entrypoint
from tests.fixtures.workers import JS_SMOKE, PYTHON_SMOKE


async def test_a_js_package_names_its_manifest_module_in_package_json(
    js_smoke_installed: None,
) -> None:
    package = await load_package(JS_SMOKE)
    assert package.package_name == "@paperclip-sandbox/orchestration-smoke-js"
    assert package.manifest_path == JS_SMOKE / "manifest.mjs"
    assert package.manifest["id"] == "sandbox-fixtures.orchestration-smoke-js"
    # the module's default export, with its spread route fields evaluated by Node
    assert [route["path"] for route in package.manifest["apiRoutes"]] == [
        "/issues/:issueId/smoke",
        "/issues/:issueId/smoke",
    ]


async def test_a_python_package_keeps_a_manifest_json() -> None:
    package = await load_package(PYTHON_SMOKE)
    assert (package.package_name, package.manifest_path.name) == (
        "orchestration-smoke-python",
        "manifest.json",
    )
    assert package.manifest["id"] == "paperclipai.plugin-orchestration-smoke-example"


async def test_upstreams_fallbacks_are_tried_in_order(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "manifest.js").write_text("export default { id: 'from-dist' };\n")
    (tmp_path / "manifest.js").write_text("export default { id: 'from-root' };\n")
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "type": "module"}))
    assert (await load_package(tmp_path)).manifest == {"id": "from-dist"}


async def test_unusable_packages_get_upstreams_messages(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=f"^Local plugin path does not exist: {tmp_path}/nope$"):
        await load_package(tmp_path / "nope")

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "package.json").write_text(json.dumps({"name": "@acme/empty"}))
    with pytest.raises(
        PluginPackageError,
        match=rf"^Package @acme/empty at {empty} does not appear to be a Paperclip plugin "
        r"\(no manifest found\)\.$",
    ):
        await load_package(empty)

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.js").write_text("export default {\n")
    with pytest.raises(
        PluginPackageError,
        match=rf"^Failed to load manifest module at {broken}/manifest\.js: SyntaxError",
    ):
        await load_package(broken)

    (broken / "manifest.js").unlink()
    (broken / "manifest.json").write_text("[1, 2]")
    with pytest.raises(PluginPackageError, match="the manifest is not an object$"):
        await load_package(broken)


def test_the_worker_entrypoint_must_be_inside_the_package(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text("")
    assert worker_entrypoint(tmp_path, "k", "./worker.py") == "./worker.py"
    assert worker_entrypoint(tmp_path, "k", "python:my_plugin.worker") == "python:my_plugin.worker"
    with pytest.raises(
        PluginPackageError,
        match=rf'^Worker entrypoint not found for plugin "k"\. Checked: {tmp_path}/dist/worker',
    ):
        worker_entrypoint(tmp_path, "k", "./dist/worker.js")
    with pytest.raises(PluginPackageError, match=r"\(outside the package\)$"):
        worker_entrypoint(tmp_path / "sub", "k", "../worker.py")


async def test_node_evaluates_a_manifest_module_again_only_when_a_package_file_changed(
    tmp_path: Path,
) -> None:
    """Installs of an unchanged JS package reuse what Node printed; any edit is read afresh."""
    evaluations = tmp_path / "evaluations.log"  # outside the package: each evaluation adds a line
    package = tmp_path / "package"
    package.mkdir()
    (package / "package.json").write_text(
        json.dumps(
            {"name": "counted", "type": "module", "paperclipPlugin": {"manifest": "./m.mjs"}}
        )
    )
    (package / "m.mjs").write_text(
        'import { appendFileSync } from "node:fs";\n'
        'import { version } from "./version.mjs";\n'
        f"appendFileSync({json.dumps(str(evaluations))}, 'x\\n');\n"
        'export default { id: "counted", version };\n'
    )
    (package / "version.mjs").write_text('export const version = "1.0.0";\n')

    async def installed() -> tuple[str, int]:
        manifest = (await load_package(package)).manifest
        return manifest["version"], len(evaluations.read_text().splitlines())

    assert await installed() == ("1.0.0", 1)
    assert await installed() == ("1.0.0", 1)  # unchanged: not evaluated again

    (package / "version.mjs").write_text('export const version = "1.0.10";\n')  # an import edited
    assert await installed() == ("1.0.10", 2)
    assert await installed() == ("1.0.10", 2)

    (package / "notes.txt").write_text("a file added")
    assert await installed() == ("1.0.10", 3)
    (package / "node_modules").mkdir()
    (package / "node_modules" / "left-out.js").write_text("dependencies are not watched")
    assert await installed() == ("1.0.10", 3)
    (package / "node_modules" / ".package-lock.json").write_text("{}")  # but npm installs are
    assert await installed() == ("1.0.10", 4)
