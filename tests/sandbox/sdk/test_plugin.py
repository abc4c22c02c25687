"""define_plugin (sandbox/sdk/_plugin.py)."""

from __future__ import annotations

import pytest

from sandbox.sdk import Plugin, define_plugin


def test_a_plugin_is_its_setup_and_hooks() -> None:
    def setup(ctx: object) -> None:
        pass

    def health() -> dict[str, str]:
        return {"status": "ok"}

    plugin = define_plugin(setup=setup, on_health=health)
    assert plugin == Plugin(setup=setup, on_health=health)
    assert plugin.on_shutdown is None


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        define_plugin(lambda ctx: None)  # type: ignore[misc]


@pytest.mark.parametrize("option", ["setup", "on_health", "on_api_request"])
def test_hooks_must_be_callable(option: str) -> None:
    options = {"setup": lambda ctx: None, option: "not callable"}
    with pytest.raises(TypeError, match=f"{option} must be callable"):
        define_plugin(**options)  # type: ignore[arg-type]
