"""The HTTP server of ``sandbox serve`` (Starlette): ``create_app(host)`` is the whole API."""

from sandbox.server.app import create_app

__all__ = ["create_app"]
