"""A plugin's outbound HTTP (``ctx.http.fetch``), as upstream allows it.

Only ``http:`` and ``https:``. The host name is resolved once and the request goes to the first
address that is not private or reserved (so a name cannot be re-pointed at the local network
between the check and the connection), with the original ``Host`` and TLS server name.
Redirects are not followed; the request times out after 30 s; the body is read up to 200 MiB.
The refusals are upstream's words.

``SANDBOX_HTTP_ALLOW_PRIVATE=1`` lets plugins reach private and loopback addresses, which
Paperclip refuses: for a plugin author's local mock server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

from core.errors import InvalidInput

#: The variable that lets plugins reach private addresses.
ALLOW_PRIVATE_SETTING = "SANDBOX_HTTP_ALLOW_PRIVATE"
DNS_TIMEOUT_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 30.0
MAX_BODY_BYTES = 200 * 1024 * 1024


class FetchFailed(InvalidInput):
    """The request could not be made or its answer read (upstream answers with a plain
    ``Error``)."""


def _private(address: str) -> bool:
    """Upstream's list of private and reserved addresses (not every reserved range)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        first, second = ip.packed[0], ip.packed[1]
        return (
            first in (10, 127)
            or (first == 172 and 16 <= second <= 31)
            or (first == 192 and second == 168)
            or (first == 169 and second == 254)
            or str(ip) == "0.0.0.0"
        )
    text = ip.exploded
    return str(ip) in ("::1", "::") or text.startswith(("fc", "fd", "fe80"))


def _checked_url(url: Any) -> SplitResult:
    text = str(url)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise InvalidInput(f"Invalid URL: {text}") from None
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.hostname):
        raise InvalidInput(f"Invalid URL: {text}")
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f'Disallowed protocol "{parts.scheme}:" — only http: and https: are permitted'
        )
    return parts


async def _safe_address(hostname: str) -> str:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(DNS_TIMEOUT_SECONDS):
            found = await loop.getaddrinfo(hostname, None, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise FetchFailed(
            f"DNS lookup timed out after {int(DNS_TIMEOUT_SECONDS * 1000)}ms for {hostname}"
        ) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise FetchFailed(f"DNS resolution failed for {hostname}: {reason}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise FetchFailed(f"DNS resolution returned no results for {hostname}")
    if os.environ.get(ALLOW_PRIVATE_SETTING) == "1":
        return addresses[0]
    safe = [address for address in addresses if not _private(address)]
    if not safe:
        raise FetchFailed(f"All resolved IPs for {hostname} are in private/reserved ranges")
    return safe[0]


def _body(init: Mapping[str, Any]) -> bytes | None:
    body = init.get("body")
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bool):
        return str(body).lower().encode()
    if isinstance(body, dict):
        return b"[object Object]"  # what JavaScript's String() makes of an object
    return str(body).encode()


def _no_default_headers(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Send only what the plugin set (and Host), as Node's ``http.request`` does: no
    ``Accept-Encoding`` of httpx's own, so the body is never compressed behind its back."""
    client.headers.clear()
    return client


async def fetch(url: Any, init: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Make the request; the answer as upstream gives it: status, status text, lower-case
    headers (repeated ones joined with ``", "``) and the body as text."""
    parts = _checked_url(url)
    init = init or {}
    hostname = parts.hostname or ""
    address = await _safe_address(hostname.strip("[]"))
    pinned = f"[{address}]" if ":" in address else address
    netloc = pinned if parts.port is None else f"{pinned}:{parts.port}"
    target = parts._replace(netloc=netloc).geturl()
    host = parts.netloc.rsplit("@", 1)[-1]
    headers = {str(key): str(value) for key, value in dict(init.get("headers") or {}).items()}
    headers = {key: value for key, value in headers.items() if key.lower() != "host"}
    headers["Host"] = host
    auth = (parts.username or "", parts.password or "") if parts.username else None
    extensions = {"sni_hostname": hostname} if parts.scheme == "https" else {}
    method = str(init.get("method") or "GET").upper()
    try:
        async with (
            httpx.AsyncClient(follow_redirects=False, timeout=REQUEST_TIMEOUT_SECONDS) as client,
            _no_default_headers(client).stream(
                method,
                target,
                headers=headers,
                content=_body(init),
                auth=auth,
                extensions=extensions,
            ) as response,
        ):
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise FetchFailed(f"Response body exceeded {MAX_BODY_BYTES} bytes")
    except httpx.TimeoutException:
        raise FetchFailed("This operation was aborted") from None
    except httpx.HTTPError as error:
        raise FetchFailed(f"fetch failed: {error}") from None
    joined: dict[str, str] = {}
    for key, value in response.headers.multi_items():
        name = key.lower()
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return {
        "status": response.status_code,
        "statusText": response.reason_phrase,
        "headers": joined,
        "body": bytes(body).decode("utf-8", errors="replace"),
    }


__all__ = ["ALLOW_PRIVATE_SETTING", "FetchFailed", "fetch"]
