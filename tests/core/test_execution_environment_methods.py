"""What the sandbox does not run: the execution-environment family answers with a message
naming the method; ``span.record`` is accepted and dropped (no host trace), as upstream without
a ``traceparent``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.errors import HostError
from core.worker_bridge import handled_methods
from core.worker_bridge.methods import EXECUTION_ENVIRONMENT_METHODS
from tests.fixtures.bridge import bridge_for
from tests.fixtures.orchestration import World


@pytest.mark.parametrize("method", EXECUTION_ENVIRONMENT_METHODS)
async def test_execution_environment_methods_say_why_they_are_refused(
    world: World, method: str
) -> None:
    bridge = await bridge_for(world)
    with pytest.raises(HostError) as refused:
        await bridge.call(method, companyId=world.company_id, folderKey="repo")
    assert refused.value.message == (
        f'Host method "{method}" needs an execution environment, which the sandbox does not '
        "run (see the README's list of refused methods)"
    )


async def test_span_record_is_accepted_without_a_trace(world: World) -> None:
    bridge = await bridge_for(world)
    assert (
        await bridge.call(
            "span.record", name="sync", attributes={"n": 1}, status={"code": 0}, startTimeMs=1
        )
        is None
    )
    assert await bridge.call("span.record") is None


def test_the_readme_names_exactly_the_refused_methods_and_counts_the_served() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Worker-to-host methods", 1)[1].split("\n## ", 1)[0]
    refused = section.split("These answer that", 1)[1].split("Not served yet", 1)[0]
    listed = re.findall(r"`([a-zA-Z]+(?:\.[a-zA-Z]+)+)`", refused.split(":", 1)[1])
    assert listed == list(EXECUTION_ENVIRONMENT_METHODS)
    served = len(handled_methods()) - len(EXECUTION_ENVIRONMENT_METHODS)
    assert f"The sandbox serves {served} of them" in " ".join(section.split())


async def test_the_refusal_comes_after_the_capability_gate(world: World) -> None:
    bridge = await bridge_for(world, ("issues.read",))
    with pytest.raises(Exception, match='missing required capability "local.folders"'):
        await bridge.call("localFolders.list", companyId=world.company_id, folderKey="repo")
    with pytest.raises(Exception, match='missing required capability "routines.managed"'):
        await bridge.call("routines.managed.run", companyId=world.company_id, routineKey="r")
