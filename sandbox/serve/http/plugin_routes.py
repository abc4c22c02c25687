"""``/api/plugins/{pluginId}/api/*``: a plugin's scoped API routes over HTTP.

The checks themselves are ``core.scoped_routes.dispatch_api_request`` (through
``PluginHost.api_request``); this module does what upstream does before its handler: the
host-wide JSON body parser, the actor, and the plugin-local path, still percent-encoded.
``{pluginId}`` is the plugin's row id or its key.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from core.scoped_routes import ApiRequest, multi_dict
from sandbox.plugin_host import PluginHost
from sandbox.serve.http.actors import resolve_actor
from sandbox.serve.http.responses import BadRequestBody, json_answer, json_error, read_json_body

#: The plugin-local remainder of the raw (still percent-encoded) request path.
_RAW_REMAINDER = re.compile(r"^/api/plugins/[^/]+/api(?P<rest>/.*)?$", re.IGNORECASE)

#: What ``quote`` keeps of a decoded remainder when the raw path is not available.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


async def scoped_api_route(request: Request) -> Response:
    """Any method: the plugin's matching scoped route, checked and answered by its worker."""
    rest = _plugin_local_path(request)
    if rest is None:  # e.g. /api/plugins/x/apifoo: not the scoped mount
        return json_error(404, "API route not found")
    host: PluginHost = request.app.state.host
    try:
        body = await read_json_body(request)
    except BadRequestBody as error:
        return json_error(400, error.message)
    actor = await resolve_actor(
        host.db, request.headers, local_trusted=request.app.state.local_trusted
    )
    query = request.scope.get("query_string", b"").decode("latin-1")
    api_request = ApiRequest(
        method=request.method,
        path=rest + (f"?{query}" if query else ""),
        headers=_headers(request),
        body=body,
    )
    answer = await host.api_request(request.path_params["plugin_id"], api_request, actor.caller)
    return json_answer(answer.status, answer.body, answer.headers)


def _plugin_local_path(request: Request) -> str | None:
    """The path after ``/api/plugins/<id>/api``, still percent-encoded; ``/`` when empty."""
    raw = request.scope.get("raw_path")
    text = raw.decode("latin-1") if isinstance(raw, bytes) else None
    match = _RAW_REMAINDER.match(text) if text else None
    if match is not None:
        return match.group("rest") or "/"
    rest = request.path_params.get("rest", "")
    if rest and not rest.startswith("/"):
        return None
    return quote(rest, safe=_PATH_SAFE) or "/"


def _headers(request: Request) -> dict[str, str | list[str]]:
    """Request headers by lower-case name; a repeated header becomes a list."""
    return multi_dict(
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in request.headers.raw
    )
