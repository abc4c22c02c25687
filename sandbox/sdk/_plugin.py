"""``define_plugin``: a plugin is its ``setup`` plus optional lifecycle hooks.

Every hook and handler may be a plain function or a coroutine function.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sandbox.sdk._types import (
    ApiRequestInput,
    ApiResponse,
    ConfigValidation,
    HealthResult,
    WebhookInput,
)

if TYPE_CHECKING:
    from sandbox.sdk._context import PluginContext

T = TypeVar("T")
MaybeAwaitable: TypeAlias = T | Awaitable[T]


async def maybe_await(value: MaybeAwaitable[T]) -> T:
    """The value, awaited first when a handler returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass(frozen=True, slots=True)
class Plugin:
    """A plugin definition, as ``define_plugin`` builds it."""

    setup: Callable[[PluginContext], MaybeAwaitable[None]]
    on_health: Callable[[], MaybeAwaitable[HealthResult | dict[str, Any]]] | None = None
    on_config_changed: Callable[[dict[str, Any]], MaybeAwaitable[None]] | None = None
    on_shutdown: Callable[[], MaybeAwaitable[None]] | None = None
    on_validate_config: (
        Callable[[dict[str, Any]], MaybeAwaitable[ConfigValidation | dict[str, Any]]] | None
    ) = None
    on_webhook: Callable[[WebhookInput], MaybeAwaitable[None]] | None = None
    on_api_request: (
        Callable[[ApiRequestInput], MaybeAwaitable[ApiResponse | dict[str, Any]]] | None
    ) = None


def define_plugin(
    *,
    setup: Callable[[PluginContext], MaybeAwaitable[None]],
    on_health: Callable[[], MaybeAwaitable[HealthResult | dict[str, Any]]] | None = None,
    on_config_changed: Callable[[dict[str, Any]], MaybeAwaitable[None]] | None = None,
    on_shutdown: Callable[[], MaybeAwaitable[None]] | None = None,
    on_validate_config: (
        Callable[[dict[str, Any]], MaybeAwaitable[ConfigValidation | dict[str, Any]]] | None
    ) = None,
    on_webhook: Callable[[WebhookInput], MaybeAwaitable[None]] | None = None,
    on_api_request: (
        Callable[[ApiRequestInput], MaybeAwaitable[ApiResponse | dict[str, Any]]] | None
    ) = None,
) -> Plugin:
    """Define a plugin.

    Args:
        setup: called once by ``initialize`` with the plugin's ``ctx``; registers data,
            action, job, tool and event handlers.
        on_health: answers ``health``; without it the worker reports ``{"status": "ok"}``.
        on_config_changed: called with the new instance config.
        on_shutdown: called before the worker exits on ``shutdown``.
        on_validate_config: answers ``validateConfig`` (the host's "test configuration").
        on_webhook: handles deliveries to the manifest's webhook endpoints.
        on_api_request: handles the manifest's scoped API routes.

    Raises:
        TypeError: ``setup`` or a hook is not callable.
    """
    plugin = Plugin(
        setup=setup,
        on_health=on_health,
        on_config_changed=on_config_changed,
        on_shutdown=on_shutdown,
        on_validate_config=on_validate_config,
        on_webhook=on_webhook,
        on_api_request=on_api_request,
    )
    for name in Plugin.__dataclass_fields__:
        hook = getattr(plugin, name)
        if (hook is not None or name == "setup") and not callable(hook):
            raise TypeError(f"{name} must be callable")
    return plugin
