"""Fixtures of the sandbox runtime tests: worker kinds and the recording host."""

from __future__ import annotations

import pytest

from tests.fixtures.workers import JS_SMOKE, RecordingHost, ensure_npm_installed


@pytest.fixture(scope="session")
def js_probe_installed() -> None:
    """The JS probe's pinned SDK, installed once per run; a failed install fails the tests."""
    ensure_npm_installed()


@pytest.fixture(scope="session")
def js_smoke_installed() -> None:
    """The JS orchestration smoke plugin's pinned SDK, installed once per run."""
    ensure_npm_installed(JS_SMOKE)


@pytest.fixture
def kind(request: pytest.FixtureRequest) -> str:
    """A wire-probe kind (parametrize with ``indirect=True``); JS needs its npm install."""
    name: str = request.param
    if name == "js":
        request.getfixturevalue("js_probe_installed")
    return name


@pytest.fixture
def host() -> RecordingHost:
    return RecordingHost()
