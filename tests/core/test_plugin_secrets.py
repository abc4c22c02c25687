"""``secrets.resolve`` through the worker bridge (2026.916.1): ``secret_ref`` bindings of the
invocation's company, read from the user's secrets file, with upstream's refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidInput, InvocationScopeDenied, Unprocessable
from core.invocation_scope import CallContext
from core.plugin_secrets import RATE_LIMIT, SECRETS_FILE_SETTING, SecretsFileInvalid
from tests.fixtures.bridge import KEY, bridge_for, scoped
from tests.fixtures.orchestration import World, make_world

TOKEN = "5b1c6a3e-0f1d-4c8e-9a7b-2f3e4d5c6b7a"
OTHER = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


def _ref(secret_id: str = TOKEN, **more: object) -> dict[str, object]:
    return {"type": "secret_ref", "secretId": secret_id, **more}


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: World) -> Path:
    path = tmp_path / "secrets.toml"
    monkeypatch.setenv(SECRETS_FILE_SETTING, str(path))
    monkeypatch.setenv("SANDBOX_TEST_TOKEN", "from-the-environment")
    path.write_text(
        f"""
[[secret]]
id = "{TOKEN}"
company = "{world.prefix}"
plugins = ["{KEY}"]
value = "sk-live-123"

[[secret]]
id = "{TOKEN}"
company = "{world.prefix}"
plugins = ["{KEY}"]
value_env = "SANDBOX_TEST_TOKEN"
version = 2

[[secret]]
id = "{OTHER}"
company = "{world.company_id}"
plugins = ["{KEY}"]
value = "a"
config_path = "first"

[[secret]]
id = "{OTHER}"
company = "{world.company_id}"
plugins = ["{KEY}"]
value = "b"
config_path = "second"
"""
    )
    return path


async def test_a_bound_secret_of_the_invocations_company(world: World, secrets: Path) -> None:
    bridge = await bridge_for(world)
    scope = scoped(world.company_id)
    assert await bridge.call("secrets.resolve", scope, secretRef=_ref()) == "sk-live-123"
    assert (
        await bridge.call("secrets.resolve", scope, secretRef=_ref(version=2))
        == "from-the-environment"
    )
    assert (
        await bridge.call("secrets.resolve", scope, secretRef=_ref(OTHER), configPath="second")
        == "b"
    )
    assert (
        await bridge.call("secrets.resolve", scope, secretRef=_ref(), companyId=world.company_id)
        == "sk-live-123"
    )


async def test_upstreams_refusals(world: World, secrets: Path) -> None:
    bridge = await bridge_for(world)
    scope = scoped(world.company_id)
    refused = 'Use { type: "secret_ref", secretId, version? }'
    for reference, rendered in (
        (TOKEN, TOKEN),
        ("  ", "<empty>"),
        ({"type": "secret_ref", "secretId": "nope"}, '{"type":"secret_ref","secretId":"nope"}'),
        (_ref(version=0), f'{{"type":"secret_ref","secretId":"{TOKEN}","version":0}}'),
    ):
        with pytest.raises(InvalidInput) as error:
            await bridge.call("secrets.resolve", scope, secretRef=reference)
        assert error.value.message == f"Invalid secret reference for plugin: {rendered}. {refused}"
    with pytest.raises(Unprocessable, match=f"^Secret is not bound to plugin:{bridge.plugin_id}$"):
        await bridge.call("secrets.resolve", scope, secretRef=_ref(version=3))
    with pytest.raises(
        Unprocessable, match=f"^Secret is not bound to plugin:{bridge.plugin_id} at third$"
    ):
        await bridge.call("secrets.resolve", scope, secretRef=_ref(OTHER), configPath="third")
    with pytest.raises(
        Unprocessable, match="^Plugin secret reference is ambiguous; pass configPath"
    ):
        await bridge.call("secrets.resolve", scope, secretRef=_ref(OTHER))


async def test_only_the_invocations_company(world: World, secrets: Path) -> None:
    bridge = await bridge_for(world)
    other = await make_world(world.db, name="Other")
    with pytest.raises(InvocationScopeDenied, match="company context is required"):
        await bridge.call("secrets.resolve", secretRef=_ref())
    with pytest.raises(InvocationScopeDenied, match="unknown invocation scope"):
        await bridge.call(
            "secrets.resolve", CallContext(invalid_invocation_scope=True), secretRef=_ref()
        )
    with pytest.raises(InvocationScopeDenied, match=f'requested company "{other.company_id}"'):
        await bridge.call(
            "secrets.resolve",
            scoped(world.company_id),
            secretRef=_ref(),
            companyId=other.company_id,
        )
    with pytest.raises(Unprocessable, match="^Secret is not bound"):
        await bridge.call("secrets.resolve", scoped(other.company_id), secretRef=_ref())


async def test_thirty_a_minute(world: World, secrets: Path) -> None:
    bridge = await bridge_for(world)
    scope = scoped(world.company_id)
    for _ in range(RATE_LIMIT):
        await bridge.call("secrets.resolve", scope, secretRef=_ref())
    with pytest.raises(InvalidInput, match="^Rate limit exceeded for secret resolution$"):
        await bridge.call("secrets.resolve", scope, secretRef=_ref())


async def test_a_broken_file_says_where(world: World, secrets: Path) -> None:
    bridge = await bridge_for(world)
    secrets.write_text(f'[[secret]]\nid = "{TOKEN}"\ncompany = "x"\nplugins = []\n')
    with pytest.raises(SecretsFileInvalid, match="give exactly one of value and value_env"):
        await bridge.call("secrets.resolve", scoped(world.company_id), secretRef=_ref())
