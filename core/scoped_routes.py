"""A plugin's scoped API routes (``/api/plugins/:pluginId/api/*``), without the HTTP.

``dispatch_api_request`` takes the plugin record the URL named, the request (plugin-local path,
headers, parsed JSON body) and the caller (upstream's ``req.actor``), runs upstream's checks in
upstream's order (reference/scoped-api-routes.md §6, steps 3-16), calls the worker's
``handleApiRequest`` and returns the response to write. Every outcome is an ``ApiResponse``;
refusals and errors have the body ``{"error": message}`` with upstream's message:

- 404 no record, 503 not ready or no worker, 404 no ``api.routes.register`` capability;
- 400 a malformed percent-escape in a path parameter (upstream: 500; we follow its advice);
- 404 no route; then the route's auth mode, company, company access and checkout policy
  (401, 403, 400, 422, 404, 409); then 415 for non-JSON content and 413 for big bodies;
- the worker's answer (status 200-599, allowlisted headers), or its error mapped to a status.

The HTTP layer keeps what happens before the handler: resolving ``:pluginId`` (id or key) to a
record, the host-wide JSON parser, building the caller from credentials and the
``x-paperclip-run-id`` header, and the board mutation origin guard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from core.errors import Conflict
from core.event_bus import EventBus
from core.host_services import build_host_services
from core.host_services.params import CheckoutOwner
from core.ids import as_identifier, as_uuid
from core.records import PluginRecord
from db import Database, DatabaseError, tables

#: Largest request body, measured as the UTF-8 length of its JSON re-serialisation.
PLUGIN_API_BODY_LIMIT_BYTES = 1_000_000

#: The only worker response headers copied to the HTTP response.
PLUGIN_SCOPED_API_RESPONSE_HEADER_ALLOWLIST = frozenset(
    {"cache-control", "etag", "last-modified", "x-request-id"}
)

#: The only request headers forwarded to the worker (upstream keeps this list inline, unnamed);
#: ``authorization`` and ``cookie`` never are.
PLUGIN_SCOPED_API_REQUEST_HEADER_ALLOWLIST = frozenset(
    {"accept", "content-type", "user-agent", "x-paperclip-run-id", "x-request-id"}
)

#: The capability a plugin needs to serve scoped routes.
API_ROUTES_CAPABILITY = "api.routes.register"

#: The user id upstream's auth middleware gives the operator in local trusted mode.
LOCAL_BOARD_USER_ID = "local-board"

#: Methods that never need write access to a company.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: A ``%`` not followed by two hex digits: ``decodeURIComponent`` throws on it.
_MALFORMED_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Membership:
    """A board user's membership of one company (an entry of upstream's ``memberships``)."""

    status: str = "active"
    role: str | None = None


@dataclass(frozen=True)
class ApiCaller:
    """Who calls the route: upstream's ``req.actor``, built by the HTTP layer's authentication.

    ``run_id`` is what upstream's middleware takes from ``x-paperclip-run-id`` (or an agent JWT).
    ``local_trusted`` boards are the sandbox's operator (source ``local_implicit``) and pass
    every company check; other boards need the company in ``company_ids`` (active memberships)
    and, when ``memberships`` is given, an active non-viewer membership to write.
    """

    kind: Literal["board", "agent", "none"]
    user_id: str | None = None
    agent_id: str | None = None
    company_id: str | None = None
    run_id: str | None = None
    local_trusted: bool = True
    company_ids: frozenset[str] = frozenset()
    memberships: Mapping[str, Membership] | None = None
    instance_admin: bool = False

    @classmethod
    def local_board(cls, *, run_id: str | None = None) -> ApiCaller:
        """The operator in local trusted mode, as upstream's middleware builds it."""
        return cls("board", user_id=LOCAL_BOARD_USER_ID, run_id=run_id, instance_admin=True)

    @classmethod
    def board(
        cls,
        user_id: str,
        *,
        company_ids: Sequence[str] = (),
        memberships: Mapping[str, Membership] | None = None,
        instance_admin: bool = False,
        run_id: str | None = None,
    ) -> ApiCaller:
        """A signed-in board user (session or board key): company checks apply."""
        return cls(
            "board",
            user_id=user_id,
            run_id=run_id,
            local_trusted=False,
            company_ids=frozenset(company_ids),
            memberships=memberships,
            instance_admin=instance_admin,
        )

    @classmethod
    def agent(cls, agent_id: str, company_id: str, *, run_id: str | None = None) -> ApiCaller:
        """An agent of one company, optionally inside a run."""
        return cls("agent", agent_id=agent_id, company_id=company_id, run_id=run_id)

    @classmethod
    def anonymous(cls) -> ApiCaller:
        """No credentials."""
        return cls("none")


@dataclass(frozen=True)
class ApiRequest:
    """A request to the plugin's routes.

    ``path`` is plugin-local (after ``/api/plugins/:pluginId/api``), still percent-encoded, and
    may carry a ``?query``. Header values may be lists (joined with ", " when forwarded).
    """

    method: str
    path: str
    headers: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class ApiResponse:
    """What to write: the status, the headers, and a JSON body (None with 204: no body)."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class RouteMatch:
    """The manifest route a request matched, with its decoded path parameters."""

    route: Mapping[str, Any]
    params: dict[str, str]


class MalformedPath(ValueError):
    """A path parameter segment holds a malformed percent-escape."""


class Refused(Exception):
    """A check of a route failed; the request gets ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def match_api_route(routes: Sequence[Any], method: str, path: str) -> RouteMatch | None:
    """The first route (manifest order) whose method and path match, or None.

    As upstream: the method must be equal (HEAD is not GET); empty segments are dropped, so
    trailing and doubled slashes do not matter; segment counts must be equal; ``:name``
    segments bind the URL-decoded request segment; literal segments must equal the raw one.

    Raises:
        MalformedPath: a parameter segment of any candidate route cannot be decoded. Every
            route is tried before the first match is taken, as upstream does.
    """
    candidates = [_match(route, method, path) for route in routes]
    return next((match for match in candidates if match is not None), None)


def _match(route: Any, method: str, path: str) -> RouteMatch | None:
    if not isinstance(route, Mapping) or route.get("method") != method:
        return None
    route_path = route.get("path")
    if not isinstance(route_path, str):
        return None
    route_segments = [segment for segment in route_path.split("/") if segment]
    request_segments = [segment for segment in path.split("/") if segment]
    if len(route_segments) != len(request_segments):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(route_segments, request_segments, strict=True):
        if expected.startswith(":"):
            params[expected[1:]] = _decode(actual)
        elif expected != actual:
            return None
    return RouteMatch(route, params)


def _decode(segment: str) -> str:
    """``decodeURIComponent``: ``%XX`` escapes as UTF-8, ``+`` kept; malformed input raises."""
    try:
        if _MALFORMED_ESCAPE.search(segment):
            raise ValueError(segment)
        return unquote(segment, errors="strict")
    except ValueError as error:  # UnicodeDecodeError included
        raise MalformedPath(f"Failed to decode param '{segment}'") from error


async def dispatch_api_request(
    db: Database,
    plugin: PluginRecord | None,
    request: ApiRequest,
    caller: ApiCaller,
    *,
    worker_running: bool,
    call_worker: Callable[[dict[str, Any]], Awaitable[Any]],
    bus: EventBus | None = None,
) -> ApiResponse:
    """Serve one request to a plugin's scoped routes (upstream's steps 3-16).

    Args:
        plugin: the record ``:pluginId`` resolved to, or None when there is none.
        worker_running: whether the plugin's worker is up (upstream's ``isRunning``).
        call_worker: sends ``handleApiRequest`` with the given ``PluginApiRequestInput`` to the
            plugin's worker and returns its answer. JSON-RPC failures are recognised by an
            integer ``code`` attribute.
        bus: where the activity of a checkout adoption is published.

    Returns:
        The response; this function does not raise for a refused or failed request.
    """
    if plugin is None:
        return _error(404, "Plugin not found")
    if plugin.status != "ready":
        return _error(503, f"Plugin is not ready (current status: {plugin.status})")
    if not worker_running:
        return _error(503, "Plugin worker is not running")
    manifest = plugin.manifest_json
    if API_ROUTES_CAPABILITY not in (manifest.get("capabilities") or ()):
        return _error(404, "Plugin does not expose scoped API routes")
    method = request.method.upper()
    path, _, query_string = request.path.partition("?")
    path = path or "/"
    try:
        match = match_api_route(manifest.get("apiRoutes") or (), method, path)
    except MalformedPath as error:
        return _error(400, str(error))
    if match is None:
        return _error(404, "Plugin API route not found")
    try:
        result = await _checked_call(
            db,
            plugin,
            request,
            caller,
            match,
            method=method,
            path=path,
            query=_parse_query(query_string),
            call_worker=call_worker,
            bus=bus,
        )
    except Exception as error:
        return _error_response(error)
    return _worker_response(result)


async def _checked_call(
    db: Database,
    plugin: PluginRecord,
    request: ApiRequest,
    caller: ApiCaller,
    match: RouteMatch,
    *,
    method: str,
    path: str,
    query: dict[str, str | list[str]],
    call_worker: Callable[[dict[str, Any]], Awaitable[Any]],
    bus: EventBus | None,
) -> Any:
    """Steps 9-15: everything that may refuse the request, then the worker call."""
    route, params = match.route, match.params
    _check_auth(route.get("auth"), caller)
    company_id = await _resolve_company(db, route, params, query, request.body, caller)
    if not company_id:
        raise Refused(400, "Unable to resolve company for plugin API route")
    check_company_access(caller, company_id, method)
    await _enforce_checkout(db, plugin, route, params, company_id, caller, bus)
    content_type = _header(request.headers, "content-type")
    if method != "GET" and content_type and not _is_json(content_type):
        raise Refused(415, "Plugin API routes accept JSON requests only")
    body = request.body
    if len(_json_bytes(body)) > PLUGIN_API_BODY_LIMIT_BYTES:
        raise Refused(413, "Plugin API request body is too large")
    return await call_worker(
        {
            "routeKey": route.get("routeKey"),
            "method": method,
            "path": path,
            "params": params,
            "query": query,
            "body": body,
            "actor": _worker_actor(caller),
            "companyId": company_id,
            "headers": _forwarded_headers(request.headers),
        }
    )


def _check_auth(auth: Any, caller: ApiCaller) -> None:
    """Upstream's ``assertScopedApiAuth``; any other mode behaves as ``board-or-agent``."""
    if auth == "board":
        if caller.kind != "board":
            raise Refused(403, "Board access required")
        return
    if auth == "webhook":
        raise Refused(
            422, "Webhook-scoped plugin API routes require a signature verifier and are not enabled"
        )
    if caller.kind == "none":
        raise Refused(401, "Unauthorized")
    if auth == "agent" and caller.kind != "agent":
        raise Refused(403, "Agent access required")


async def _resolve_company(
    db: Database,
    route: Mapping[str, Any],
    params: Mapping[str, str],
    query: Mapping[str, str | list[str]],
    body: Any,
    caller: ApiCaller,
) -> str | None:
    """The company the request acts for, per the route's ``companyResolution`` (not checked)."""
    resolution = route.get("companyResolution")
    if not isinstance(resolution, Mapping):
        return caller.company_id if caller.kind == "agent" else None
    source = resolution.get("from")
    if source == "body":
        value = body.get(resolution.get("key")) if isinstance(body, Mapping) else None
        return value if isinstance(value, str) else None
    if source == "query":
        value = query.get(resolution.get("key") or "")
        return value if isinstance(value, str) else None  # a repeated key is a list
    reference = params.get(resolution.get("param") or "")
    issue = await _find_issue(db, reference) if reference else None
    return None if issue is None else str(issue["company_id"])


async def _find_issue(db: Database, reference: str) -> Mapping[str, Any] | None:
    """The issue named by a UUID or an identifier (``PAP-12``) in any company, as upstream's
    ``getById``: the route has no company yet, it is derived from the issue."""
    issues = tables.issues
    issue_id = as_uuid(reference)
    identifier = None if issue_id else as_identifier(reference)
    if issue_id is None and identifier is None:
        return None
    condition = issues.c.id == issue_id if issue_id else issues.c.identifier == identifier
    query = sa.select(
        issues.c.id, issues.c.company_id, issues.c.status, issues.c.assignee_agent_id
    ).where(condition)
    async with db.read() as session:
        return (await session.execute(query)).mappings().first()


def check_company_access(caller: ApiCaller, company_id: str, method: str) -> None:
    """Upstream's ``assertCompanyAccess`` (authz.ts at the baseline).

    Callers without credentials never get here: every auth mode has refused them already.
    """
    if caller.kind == "agent":
        if caller.company_id != company_id:
            raise Refused(403, "Agent key cannot access another company")
        return
    if caller.kind == "board" and caller.local_trusted:
        return
    if company_id not in caller.company_ids:
        raise Refused(403, "User does not have access to this company")
    if method in _SAFE_METHODS or caller.instance_admin or caller.memberships is None:
        return
    membership = caller.memberships.get(company_id)
    if membership is None or membership.status != "active":
        raise Refused(403, "User does not have active company access")
    if membership.role == "viewer":
        raise Refused(403, "Viewer access is read-only")


async def _enforce_checkout(
    db: Database,
    plugin: PluginRecord,
    route: Mapping[str, Any],
    params: Mapping[str, str],
    company_id: str,
    caller: ApiCaller,
    bus: EventBus | None,
) -> None:
    """Upstream's ``enforceScopedApiCheckout``; boards are never checked.

    ``required-for-agent-in-progress`` is upstream's lenient rule, kept on purpose: the agent
    must own the checkout only when the issue is in progress AND assigned to it; any other
    same-company agent may call the route for that issue. ``always-for-agent`` (and any other
    policy but ``none``) always requires the caller's run to own the checkout. A stale checkout
    is adopted by the caller's live run, writing the issue and an activity row, exactly as the
    ``issues.assertCheckoutOwner`` host service does (whose code runs here).
    """
    policy = route.get("checkoutPolicy") or "none"
    if policy == "none" or caller.kind != "agent":
        return
    reference = params.get("issueId")  # always this name, whatever companyResolution says
    if not reference:
        raise Refused(
            422, "Checkout-protected plugin API routes require an issueId route parameter"
        )
    issue = await _find_issue(db, reference)
    if issue is None or str(issue["company_id"]) != company_id:
        raise Refused(404, "Issue not found")
    agent_id = as_uuid(caller.agent_id)
    assignee = issue["assignee_agent_id"]
    owned = agent_id is not None and assignee is not None and str(assignee) == agent_id
    if policy == "required-for-agent-in-progress" and not (
        issue["status"] == "in_progress" and owned
    ):
        return
    run_id = (caller.run_id or "").strip()
    if not run_id:
        raise Refused(401, "Agent run id required")
    if not caller.agent_id:
        raise Refused(403, "Agent authentication required")
    if as_uuid(run_id) is None:
        # No run has this id, so it cannot own the checkout (the core check reads a non-UUID
        # as "no run", which a stale checkout would let pass).
        raise Conflict("Issue run ownership conflict")
    services = build_host_services(db, plugin.id, plugin.plugin_key, bus)
    await services.issues.assert_checkout_owner(
        CheckoutOwner(
            issue_id=str(issue["id"]),  # the resolved row, also when the URL named PAP-12
            company_id=company_id,
            actor_agent_id=caller.agent_id,
            actor_run_id=run_id,
        )
    )


def _parse_query(query_string: str) -> dict[str, str | list[str]]:
    """Express 5's simple query parser: strings, and lists of strings for repeated keys."""
    return multi_dict(parse_qsl(query_string, keep_blank_values=True))


def multi_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Pairs by key, as Express reads queries and headers: a repeated key becomes a list."""
    found: dict[str, str | list[str]] = {}
    for key, value in pairs:
        current = found.get(key)
        if current is None:
            found[key] = value
        elif isinstance(current, list):
            current.append(value)
        else:
            found[key] = [current, value]
    return found


def _header(headers: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return _header_text(value)
    return None


def _header_text(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ", ".join(value)


def _forwarded_headers(headers: Mapping[str, str | Sequence[str]]) -> dict[str, str]:
    return {
        key.lower(): _header_text(value)
        for key, value in headers.items()
        if key.lower() in PLUGIN_SCOPED_API_REQUEST_HEADER_ALLOWLIST
    }


def _is_json(content_type: str) -> bool:
    """Whether the media type (parameters such as charset ignored) is ``application/json``."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _json_bytes(value: Any) -> bytes:
    """``JSON.stringify`` as UTF-8: compact, non-ASCII left as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _worker_actor(caller: ApiCaller) -> dict[str, Any]:
    if caller.kind == "agent":
        return {
            "actorType": "agent",
            "actorId": caller.agent_id or "unknown-agent",
            "agentId": caller.agent_id,
            "userId": None,
            "runId": caller.run_id,
        }
    user_id = caller.user_id or "board"
    return {
        "actorType": "user",
        "actorId": user_id,
        "agentId": None,
        "userId": user_id,
        "runId": caller.run_id,
    }


def _worker_response(result: Any) -> ApiResponse:
    """Upstream's response mapping; a result that is not an object (None included) is an
    empty answer, 200 with a null body (upstream fails with a TypeError on None)."""
    answer = result if isinstance(result, Mapping) else {}
    status = answer.get("status")
    if isinstance(status, float) and status.is_integer():
        status = int(status)
    if not _is_int(status) or not 200 <= status <= 599:
        status = 200
    headers: dict[str, str] = {}
    declared = answer.get("headers")
    for name, value in declared.items() if isinstance(declared, Mapping) else ():
        lower = str(name).lower()
        if lower not in PLUGIN_SCOPED_API_RESPONSE_HEADER_ALLOWLIST:
            continue
        if isinstance(value, str):
            headers[lower] = value
        elif _is_int(value):
            headers[lower] = str(value)
    return ApiResponse(status, headers, None if status == 204 else answer.get("body"))


def _error_response(error: Exception) -> ApiResponse:
    """Upstream's mapping of what steps 9-15 raise: the error's own HTTP status, else the
    status of its JSON-RPC code, else 500. The body carries the error's message, except for
    storage failures, whose driver messages stay private (the reference's advice)."""
    status = _error_status(error)
    if status is None and isinstance(error, DatabaseError | sa_exc.SQLAlchemyError):
        return _error(500, "Internal server error")
    message = getattr(error, "message", None)
    return _error(status or 500, message if isinstance(message, str) else str(error))


#: Statuses of JSON-RPC codes; any other code is 502 (the worker failed).
_RPC_CODE_STATUS = {
    -32001: 403,  # CAPABILITY_DENIED
    -32005: 403,  # INVOCATION_SCOPE_DENIED (2026.707.0)
    -32004: 501,  # METHOD_NOT_IMPLEMENTED: the plugin has no onApiRequest
}


def _error_status(error: Exception) -> int | None:
    """An HTTP error status (400-599) the error carries, else the status of its JSON-RPC
    ``code`` (duck-typed: any integer ``code``), else None."""
    status = getattr(error, "status", None)
    if _is_int(status) and 400 <= status <= 599:
        return int(status)
    code = getattr(error, "code", None)
    return _RPC_CODE_STATUS.get(code, 502) if _is_int(code) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _error(status: int, message: str) -> ApiResponse:
    return ApiResponse(status, {}, {"error": message})
