"""What the ``ctx`` clients need from the worker runtime, and their parameter helpers."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from paperclip_records import Record
from sandbox.sdk._types import Actor

R = TypeVar("R", bound=Record)


class HostChannel(Protocol):
    """The worker's line to the host (the runtime implements it)."""

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Send a worker-to-host request and return its result (``RpcError`` on failure)."""
        ...

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Send a worker-to-host notification."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine in the background for as long as the worker runs."""
        ...


def compact(params: dict[str, Any]) -> dict[str, Any]:
    """Drop None values: the published SDK leaves undefined options out of the params."""
    return {key: value for key, value in params.items() if value is not None}


def actor_fields(actor: Actor | None) -> dict[str, Any]:
    """An actor flattened into ``actorAgentId``, ``actorUserId`` and ``actorRunId``."""
    if actor is None:
        return {}
    return compact(
        {"actorAgentId": actor.agent_id, "actorUserId": actor.user_id, "actorRunId": actor.run_id}
    )


def one(model: type[R], value: Any) -> R:
    return model.model_validate(value)


def optional(model: type[R], value: Any) -> R | None:
    return None if value is None else model.model_validate(value)


def many(model: type[R], value: Any) -> list[R]:
    return [model.model_validate(item) for item in value or []]
