"""A manifest module that prints too much is refused, with the limit named, before the host
reads all of it (sandbox/plugin_package.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.plugin_package import PluginPackageError, load_package

LIMIT_MESSAGE = "the manifest is over the 1.0 MB limit (SANDBOX_PLUGIN_MANIFEST_MAX_BYTES)"


async def test_a_manifest_module_printing_150_mb_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.js").write_text(
        "for (let n = 0; n < 150; n++) process.stdout.write('x'.repeat(1024 * 1024));\n"
        "export default { id: 'loud' };\n"
    )
    with pytest.raises(PluginPackageError) as raised:
        await load_package(tmp_path)
    assert raised.value.message.endswith(LIMIT_MESSAGE)


async def test_a_manifest_json_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"id": "big", "pad": "y" * 2_000_000}))
    with pytest.raises(PluginPackageError) as raised:
        await load_package(tmp_path)
    assert raised.value.message.endswith(LIMIT_MESSAGE)


async def test_the_limit_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_PLUGIN_MANIFEST_MAX_BYTES", "4000000")
    (tmp_path / "manifest.json").write_text(json.dumps({"id": "big", "pad": "y" * 2_000_000}))
    assert (await load_package(tmp_path)).manifest["id"] == "big"
