"""Who is calling: upstream's actor middleware (server/src/middleware/auth.ts), for the sandbox.

The sandbox serves in upstream's ``local_trusted`` deployment mode by default:

- no ``Authorization: Bearer`` header: the local operator, a board actor whose source is
  ``local_implicit`` (user ``local-board``, instance admin, every company);
- a bearer token that is an agent API key (``core.agent_keys``): that agent, in the key's
  company (source ``agent_key``); using the key stamps its ``last_used_at``;
- a bearer token that is unknown or revoked, or whose agent is terminated or pending approval:
  upstream's middleware does not refuse it, it keeps the default actor, so in local trusted mode
  the caller is the local operator, and with ``local_trusted=False`` nobody (type ``none``,
  whom routes answer 401/403). We keep that behaviour: routes that need an agent then answer
  403 "Agent access required".
- ``x-paperclip-run-id`` (trimmed) is the actor's run id, whoever the actor is.

Not modelled: sessions and board API keys (the sandbox has no users), agent JWTs, and the
later release's check that the run id names an existing run (400 "Invalid/Unknown
X-Paperclip-Run-Id header"); a run id that names no run simply owns no checkout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import Headers
from starlette.requests import Request

from core.agent_keys import find_agent_by_key
from core.plugin_registry import find_plugin
from core.records import PluginRecord
from core.scoped_routes import ApiCaller, Refused, check_company_access
from db import Database

#: Where the actor came from (upstream's ``req.actor.source``).
ActorSource = Literal["local_implicit", "agent_key", "none"]


@dataclass(frozen=True, slots=True)
class RequestActor:
    """The caller of one request, and how it was authenticated."""

    caller: ApiCaller
    source: ActorSource
    key_id: str | None = None


async def resolve_actor(db: Database, headers: Headers, *, local_trusted: bool) -> RequestActor:
    """The request's actor (see the module docstring)."""
    run_id = (headers.get("x-paperclip-run-id") or "").strip() or None
    default = (
        RequestActor(ApiCaller.local_board(run_id=run_id), "local_implicit")
        if local_trusted
        else RequestActor(ApiCaller("none", run_id=run_id), "none")
    )
    authorization = headers.get("authorization")
    if not authorization or not authorization.lower().startswith("bearer "):
        return default
    token = authorization[len("bearer ") :].strip()
    if not token:
        return default
    holder = await find_agent_by_key(db, token)
    if holder is None:
        return default
    caller = ApiCaller.agent(holder.agent.id, holder.key.company_id, run_id=run_id)
    return RequestActor(caller, "agent_key", holder.key.id)


def require_board(actor: RequestActor) -> None:
    """Upstream's ``assertBoard``."""
    if actor.caller.kind != "board":
        raise Refused(403, "Board access required")


async def board_request(request: Request) -> tuple[RequestActor, PluginRecord]:
    """The board caller of a plugin route and the plugin its ``{plugin_id}`` names.

    Raises:
        Refused: 403 "Board access required", 404 "Plugin not found".
    """
    db = request.app.state.host.db
    actor = await resolve_actor(db, request.headers, local_trusted=request.app.state.local_trusted)
    require_board(actor)
    plugin = await find_plugin(db, request.path_params["plugin_id"])
    if plugin is None:
        raise Refused(404, "Plugin not found")
    return actor, plugin


def require_company_access(actor: RequestActor, company_id: str, method: str) -> None:
    """Upstream's ``assertCompanyAccess`` (routes/authz.ts): the scoped routes' rule, plus 401
    for a caller without credentials."""
    if actor.caller.kind == "none":
        raise Refused(401, "Unauthorized")
    check_company_access(actor.caller, company_id, method.upper())
