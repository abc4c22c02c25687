"""The HTTP server of ``sandbox serve`` (Starlette): ``create_app(host)`` is the whole API."""

from sandbox.serve.http.app import create_app

__all__ = ["create_app"]
