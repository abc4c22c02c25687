"""What the sandbox does not run: the execution-environment family answers with a message
naming the method; ``span.record`` is accepted and dropped (no host trace), as upstream without
a ``traceparent``."""

from __future__ import annotations

import pytest

from core.errors import HostError
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
