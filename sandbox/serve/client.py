"""The CLI's way into a running ``sandbox serve``: each plugin keeps one worker, as upstream.

While a host serves a database, ``sandbox action``, ``data``, ``health`` and ``api`` on that
database send their call to the host's HTTP server instead of starting a second worker. The host
is found in ``sandbox_hosts`` (alive: it beat recently); without one the commands start the worker
themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from core.hosts import list_live_hosts
from core.scoped_routes import ApiResponse
from db import Database
from db.types import utcnow

#: A host that has not beaten for this long is not asked (the serve default marks it dead at 10 s).
LIVE_WITHIN = timedelta(seconds=10)


class HostCallFailed(Exception):
    """The host answered a bridge call with an error body ``{code, message}``; a handler's
    exception also names its ``error_type`` and ``trace``."""

    def __init__(
        self, status: int, code: str, message: str, *, error_type: str = "", trace: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_type = error_type
        self.trace = trace


@dataclass(frozen=True)
class HostClient:
    """Calls one running host over HTTP; plugins are named by their row id."""

    url: str
    timeout: float = 330.0  # above the host's own longest worker call (5 minutes)

    async def action(
        self, plugin: str, key: str, params: dict[str, Any], company_id: str | None
    ) -> Any:
        return await self._bridge(plugin, "action", key, params, company_id)

    async def data(
        self, plugin: str, key: str, params: dict[str, Any], company_id: str | None
    ) -> Any:
        return await self._bridge(plugin, "data", key, params, company_id)

    async def health(self, plugin: str) -> Any:
        """The worker's own health answer, as the host's plugin health route reports it."""
        response = await self._request("GET", f"/api/plugins/{plugin}/health")
        body = _json(response)
        if response.status_code >= 400 or not isinstance(body, dict):
            raise HostCallFailed(response.status_code, "", _message(body, response))
        if "worker" in body:
            return body["worker"]
        failed = [check["message"] for check in body.get("checks", ()) if not check["passed"]]
        raise HostCallFailed(response.status_code, "", "; ".join(failed) or "no worker answer")

    async def api(
        self,
        plugin: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        agent_key: str | None = None,
        run_id: str | None = None,
    ) -> ApiResponse:
        """A scoped-route request, answered as the route answered (never raises for a status)."""
        headers: dict[str, str] = {}
        if agent_key is not None:
            headers["authorization"] = f"Bearer {agent_key}"
        if run_id is not None:
            headers["x-paperclip-run-id"] = run_id
        url = f"/api/plugins/{plugin}/api{path if path.startswith('/') else '/' + path}"
        response = await self._request(method, url, json=body, headers=headers)
        return ApiResponse(
            status=response.status_code,
            headers=dict(response.headers),
            body=_json(response) if response.content else None,
        )

    async def _bridge(
        self, plugin: str, kind: str, key: str, params: dict[str, Any], company_id: str | None
    ) -> Any:
        payload: dict[str, Any] = {"key": key, "params": params}
        if company_id is not None:
            payload["companyId"] = company_id
        response = await self._request("POST", f"/api/plugins/{plugin}/bridge/{kind}", json=payload)
        body = _json(response)
        if response.status_code >= 400:
            fields = body if isinstance(body, dict) else {}
            raise HostCallFailed(
                response.status_code,
                str(fields.get("code", "")),
                _message(body, response),
                error_type=str(fields.get("errorType", "")),
                trace=str(fields.get("trace", "")),
            )
        return body.get("data") if isinstance(body, dict) else body

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=self.timeout) as client:
            try:
                return await client.request(method, path, **kwargs)
            except httpx.HTTPError as error:
                raise OSError(f"the host at {self.url} did not answer: {error}") from None


async def running_host(db: Database) -> HostClient | None:
    """A client of a host serving this database, or None when none is alive."""
    hosts = await list_live_hosts(db, now=utcnow(), dead_after=LIVE_WITHIN)
    return HostClient(hosts[0].url) if hosts else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _message(body: Any, response: httpx.Response) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return f"HTTP {response.status_code}: {body}"
