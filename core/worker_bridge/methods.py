"""The worker-to-host methods this host serves: each one's params model and what it runs.

``METHODS`` is the one table: a method absent from it is answered -32601. Host service methods
call the plugin's ``HostServices`` with their validated params; the rest are served here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from core import plugin_state
from core.agent_sessions import close_session, create_session, list_sessions
from core.agents import get_agent, list_agents, set_agent_paused
from core.approvals import get_approval, list_approvals
from core.capabilities import HUMAN_ATTRIBUTED_COMMENTS, require_capability
from core.companies import find_company, get_company, list_companies
from core.errors import HostError, InvalidInput, InvocationScopeDenied
from core.goals import create_goal, get_goal, list_goals, update_goal
from core.host_services import HostServices
from core.host_services import params as service_params
from core.invocation_scope import CallContext
from core.outbound_http import fetch
from core.params import NoParams
from core.plugin_config import get_config
from core.plugin_entities import list_entities, upsert_entity
from core.plugin_logs import LogMessage, Metric, log_line, metric_line
from core.plugin_state import StateKey
from core.unit_of_work import read, write
from core.worker_bridge import params

if TYPE_CHECKING:
    from core.worker_bridge.bridge import WorkerBridge

#: Actor fields the published SDK folds into ``issues.update``'s patch.
_ACTOR_FIELDS = ("actorAgentId", "actorUserId", "actorRunId")

Run = Callable[["WorkerBridge", Any, CallContext], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Method:
    """One worker-to-host method: how its params are parsed, and what it runs."""

    parse: Callable[[dict[str, Any]], BaseModel]
    run: Run


def _served_by(pick: Callable[[HostServices], Callable[[Any], Awaitable[Any]]]) -> Run:
    """A method that is one host service call with the validated params."""

    async def run(bridge: WorkerBridge, call: Any, context: CallContext) -> Any:
        return await pick(bridge.services)(call)

    return run


def _service(model: type[BaseModel], pick: Callable[[HostServices], Any]) -> Method:
    return Method(model.model_validate, _served_by(pick))


def _update_params(raw: dict[str, Any]) -> BaseModel:
    """The SDK folds the actor fields into ``patch``; the host takes them back out."""
    patch = raw.get("patch")
    if isinstance(patch, dict):
        actor = {field: patch[field] for field in _ACTOR_FIELDS if field in patch}
        patch = {key: value for key, value in patch.items() if key not in _ACTOR_FIELDS}
        raw = {**raw, **actor, "patch": patch}
    return service_params.UpdateIssue.model_validate(raw)


# -- config, state, database, logs --------------------------------------------------------------


async def _config_get(bridge: WorkerBridge, call: NoParams, context: CallContext) -> Any:
    return await get_config(bridge.db, bridge.plugin.plugin_id)


async def _state_get(bridge: WorkerBridge, key: StateKey, context: CallContext) -> Any:
    return await plugin_state.get_state(bridge.db, bridge.plugin.plugin_id, key)


async def _state_set(bridge: WorkerBridge, call: params.StateValue, context: CallContext) -> None:
    await plugin_state.set_state(bridge.db, bridge.plugin.plugin_id, call, call.value)


async def _state_delete(bridge: WorkerBridge, key: StateKey, context: CallContext) -> None:
    await plugin_state.delete_state(bridge.db, bridge.plugin.plugin_id, key)


async def _db_namespace(bridge: WorkerBridge, call: NoParams, context: CallContext) -> Any:
    return bridge.database.namespace


async def _db_query(bridge: WorkerBridge, call: params.SqlStatement, context: CallContext) -> Any:
    return await bridge.plugin_db.query(bridge.database, call.sql, call.params)


async def _db_execute(bridge: WorkerBridge, call: params.SqlStatement, context: CallContext) -> Any:
    return await bridge.plugin_db.execute(bridge.database, call.sql, call.params)


async def _log(bridge: WorkerBridge, call: LogMessage, context: CallContext) -> None:
    bridge.logs.add(log_line(bridge.plugin.plugin_id, call))


async def _metrics_write(bridge: WorkerBridge, call: Metric, context: CallContext) -> None:
    bridge.logs.add(metric_line(bridge.plugin.plugin_id, call))


async def _telemetry(
    bridge: WorkerBridge, call: params.TrackTelemetry, context: CallContext
) -> None:
    """Checked by its params model, then dropped: the sandbox sends no telemetry anywhere."""


# -- events ---------------------------------------------------------------------------------------


async def _events_emit(bridge: WorkerBridge, call: params.EmitEvent, context: CallContext) -> None:
    bridge.bus.for_plugin(bridge.plugin.plugin_key).emit(
        call.name, company_id=call.company_id, payload=call.payload
    )


async def _events_subscribe(
    bridge: WorkerBridge, call: params.SubscribeEvents, context: CallContext
) -> None:
    bridge.subscribe(call.event_pattern, call.filter)


# -- companies and agents -------------------------------------------------------------------------


async def _companies_list(bridge: WorkerBridge, call: params.Paging, context: CallContext) -> Any:
    companies = await list_companies(bridge.db)
    if context.invocation_scope is not None:  # upstream filters "all" to the scoped company
        companies = [c for c in companies if c.id == context.invocation_scope.company_id]
    return call.page(companies)


async def _companies_get(
    bridge: WorkerBridge, call: params.CompanyRef, context: CallContext
) -> Any:
    if not call.company_id:
        raise InvalidInput("companyId is required for this operation")
    return await get_company(bridge.db, call.company_id)


async def _agents_list(bridge: WorkerBridge, call: params.ListAgents, context: CallContext) -> Any:
    agents = await list_agents(bridge.db, company_id=call.company_id, status=call.status)
    return call.page(agents)


async def _agents_get(bridge: WorkerBridge, call: params.AgentRef, context: CallContext) -> Any:
    return await get_agent(bridge.db, agent_id=call.agent_id, company_id=call.company_id)


async def _agents_pause(bridge: WorkerBridge, call: params.AgentRef, context: CallContext) -> Any:
    return await set_agent_paused(
        bridge.db, agent_id=call.agent_id, company_id=call.company_id, paused=True
    )


async def _agents_resume(bridge: WorkerBridge, call: params.AgentRef, context: CallContext) -> Any:
    return await set_agent_paused(
        bridge.db, agent_id=call.agent_id, company_id=call.company_id, paused=False
    )


async def _secrets_resolve(
    bridge: WorkerBridge, call: params.ResolveSecret, context: CallContext
) -> str:
    """2026.916.1: the company is the invocation's (a named one must be it); outside an
    invocation there is none, and the call is refused (-32005)."""
    if context.invocation_scope is None:
        plugin = bridge.plugin
        reason = (
            "the worker referenced a missing, expired, or unknown invocation scope"
            if context.invalid_invocation_scope
            else "company context is required"
        )
        raise InvocationScopeDenied(
            f'Plugin "{plugin.plugin_id}" is not allowed to perform "secrets.resolve": '
            f"{reason} (plugin {plugin.plugin_key})"
        )

    async def company_of(reference: str) -> str | None:
        found = await find_company(bridge.db, reference)
        return None if found is None else found.id

    return await bridge.secrets.resolve(
        call.secret_ref,
        company_id=context.invocation_scope.company_id,
        config_path=call.config_path,
        company_of=company_of,
    )


async def _http_fetch(bridge: WorkerBridge, call: params.HttpFetch, context: CallContext) -> Any:
    return await fetch(call.url, call.init)


async def _span_record(bridge: WorkerBridge, call: params.RecordSpan, context: CallContext) -> None:
    """Upstream records a span only under a host trace (``traceparent``); the sandbox traces
    nothing, so the span is checked and dropped, and the call never fails."""


#: Methods that need an execution environment (local folders, managed skills and routines),
#: which the sandbox does not run: each answers with ``NoExecutionEnvironment``.
EXECUTION_ENVIRONMENT_METHODS = (
    "localFolders.declarations",
    "localFolders.configure",
    "localFolders.status",
    "localFolders.list",
    "localFolders.readText",
    "localFolders.writeTextAtomic",
    "localFolders.deleteFile",
    "skills.managed.get",
    "skills.managed.reconcile",
    "skills.managed.reset",
    "routines.managed.get",
    "routines.managed.reconcile",
    "routines.managed.reset",
    "routines.managed.update",
    "routines.managed.run",
)


class NoExecutionEnvironment(HostError):
    """A method of the execution-environment family: the sandbox does not run one."""


def _needs_execution_environment(method: str) -> Method:
    async def refuse(bridge: WorkerBridge, call: Any, context: CallContext) -> Any:
        raise NoExecutionEnvironment(
            f'Host method "{method}" needs an execution environment, which the sandbox does '
            "not run (see the README's list of refused methods)"
        )

    return Method(dict, refuse)


# -- approvals ------------------------------------------------------------------------------------


async def _approvals_list(
    bridge: WorkerBridge, call: params.ListApprovals, context: CallContext
) -> Any:
    async with read(bridge.db) as unit:
        return await list_approvals(unit, call.company_id, status=call.status)


async def _approvals_get(
    bridge: WorkerBridge, call: params.ApprovalRef, context: CallContext
) -> Any:
    async with read(bridge.db) as unit:
        return await get_approval(unit, call.company_id, call.approval_id)


# -- entities -------------------------------------------------------------------------------------


async def _entities_upsert(
    bridge: WorkerBridge, call: params.UpsertEntity, context: CallContext
) -> Any:
    async with write(bridge.db, None) as unit:
        given = call.model_dump(exclude_unset=True)
        return await upsert_entity(unit, bridge.plugin.plugin_id, given)


async def _entities_list(
    bridge: WorkerBridge, call: params.ListEntities, context: CallContext
) -> Any:
    async with read(bridge.db) as unit:
        return await list_entities(
            unit,
            bridge.plugin.plugin_id,
            entity_type=call.entity_type,
            external_id=call.external_id,
            limit=call.limit,
            offset=call.offset,
        )


async def _create_comment(
    bridge: WorkerBridge, call: service_params.CreateComment, context: CallContext
) -> Any:
    if call.actor_user_id:
        plugin = bridge.plugin
        require_capability(
            plugin.plugin_id,
            plugin.plugin_key,
            plugin.capabilities,
            "issues.createComment",
            HUMAN_ATTRIBUTED_COMMENTS,
        )
    return await bridge.services.issues.create_comment(call)


async def _sessions_create(
    bridge: WorkerBridge, call: params.CreateSession, context: CallContext
) -> Any:
    async with write(bridge.db, None) as unit:
        return await create_session(
            unit, bridge.plugin.plugin_key, call.company_id, call.agent_id, call.task_key
        )


async def _sessions_list(bridge: WorkerBridge, call: params.AgentRef, context: CallContext) -> Any:
    async with read(bridge.db) as unit:
        return await list_sessions(unit, bridge.plugin.plugin_key, call.company_id, call.agent_id)


async def _sessions_close(
    bridge: WorkerBridge, call: params.SessionRef, context: CallContext
) -> None:
    async with write(bridge.db, None) as unit:
        await close_session(unit, bridge.plugin.plugin_key, call.company_id, call.session_id)


# -- goals ----------------------------------------------------------------------------------------


async def _goals_list(bridge: WorkerBridge, call: params.ListGoals, context: CallContext) -> Any:
    async with read(bridge.db) as unit:
        found = await list_goals(unit, call.company_id, level=call.level, status=call.status)
    return call.page(found)


async def _goals_get(bridge: WorkerBridge, call: params.GoalRef, context: CallContext) -> Any:
    async with read(bridge.db) as unit:
        return await get_goal(unit, call.company_id, call.goal_id)


async def _goals_create(bridge: WorkerBridge, call: params.CreateGoal, context: CallContext) -> Any:
    async with write(bridge.db, None) as unit:
        return await create_goal(unit, call.company_id, call.model_dump(exclude={"company_id"}))


async def _goals_update(bridge: WorkerBridge, call: params.UpdateGoal, context: CallContext) -> Any:
    async with write(bridge.db, None) as unit:
        return await update_goal(unit, call.company_id, call.goal_id, call.patch or {})


METHODS: dict[str, Method] = {
    "config.get": Method(NoParams.model_validate, _config_get),
    "state.get": Method(StateKey.from_params, _state_get),
    "state.set": Method(params.StateValue.from_params, _state_set),
    "state.delete": Method(StateKey.from_params, _state_delete),
    "db.namespace": Method(NoParams.model_validate, _db_namespace),
    "db.query": Method(params.SqlStatement.model_validate, _db_query),
    "db.execute": Method(params.SqlStatement.model_validate, _db_execute),
    "log": Method(LogMessage.model_validate, _log),
    "metrics.write": Method(Metric.model_validate, _metrics_write),
    "telemetry.track": Method(params.TrackTelemetry.model_validate, _telemetry),
    "events.emit": Method(params.EmitEvent.model_validate, _events_emit),
    "events.subscribe": Method(params.SubscribeEvents.model_validate, _events_subscribe),
    "companies.list": Method(params.Paging.model_validate, _companies_list),
    "companies.get": Method(params.CompanyRef.model_validate, _companies_get),
    "agents.list": Method(params.ListAgents.model_validate, _agents_list),
    "agents.get": Method(params.AgentRef.model_validate, _agents_get),
    "agents.pause": Method(params.AgentRef.model_validate, _agents_pause),
    "agents.resume": Method(params.AgentRef.model_validate, _agents_resume),
    "span.record": Method(params.RecordSpan.model_validate, _span_record),
    **{name: _needs_execution_environment(name) for name in EXECUTION_ENVIRONMENT_METHODS},
    "secrets.resolve": Method(params.ResolveSecret.model_validate, _secrets_resolve),
    "http.fetch": Method(params.HttpFetch.model_validate, _http_fetch),
    "approvals.list": Method(params.ListApprovals.model_validate, _approvals_list),
    "approvals.get": Method(params.ApprovalRef.model_validate, _approvals_get),
    "entities.upsert": Method(params.UpsertEntity.model_validate, _entities_upsert),
    "entities.list": Method(params.ListEntities.model_validate, _entities_list),
    "agents.sessions.create": Method(params.CreateSession.model_validate, _sessions_create),
    "agents.sessions.list": Method(params.AgentRef.model_validate, _sessions_list),
    "agents.sessions.close": Method(params.SessionRef.model_validate, _sessions_close),
    "goals.list": Method(params.ListGoals.model_validate, _goals_list),
    "goals.get": Method(params.GoalRef.model_validate, _goals_get),
    "goals.create": Method(params.CreateGoal.model_validate, _goals_create),
    "goals.update": Method(params.UpdateGoal.model_validate, _goals_update),
    "activity.log": _service(service_params.LogActivity, lambda s: s.activity.log),
    "issues.list": _service(service_params.ListIssues, lambda s: s.issues.list),
    "issues.get": _service(service_params.IssueRef, lambda s: s.issues.get),
    "issues.create": _service(service_params.CreateIssue, lambda s: s.issues.create),
    "issues.update": Method(_update_params, _served_by(lambda s: s.issues.update)),
    "issues.relations.get": _service(service_params.IssueRef, lambda s: s.issues.relations.get),
    "issues.relations.setBlockedBy": _service(
        service_params.SetBlockedBy, lambda s: s.issues.relations.set_blocked_by
    ),
    "issues.relations.addBlockers": _service(
        service_params.EditBlockers, lambda s: s.issues.relations.add_blockers
    ),
    "issues.relations.removeBlockers": _service(
        service_params.EditBlockers, lambda s: s.issues.relations.remove_blockers
    ),
    "issues.assertCheckoutOwner": _service(
        service_params.CheckoutOwner, lambda s: s.issues.assert_checkout_owner
    ),
    "issues.getSubtree": _service(service_params.GetSubtree, lambda s: s.issues.get_subtree),
    "issues.requestWakeup": _service(
        service_params.RequestWakeup, lambda s: s.issues.request_wakeup
    ),
    "issues.requestWakeups": _service(
        service_params.RequestWakeups, lambda s: s.issues.request_wakeups
    ),
    "issues.summaries.getOrchestration": _service(
        service_params.GetOrchestration, lambda s: s.issues.summaries.get_orchestration
    ),
    "issues.listComments": _service(service_params.IssueRef, lambda s: s.issues.list_comments),
    "issues.createComment": Method(service_params.CreateComment.model_validate, _create_comment),
    "issues.listAttachments": _service(
        service_params.IssueRef, lambda s: s.issues.list_attachments
    ),
    "issues.getAttachmentContent": _service(
        service_params.AttachmentRef, lambda s: s.issues.get_attachment_content
    ),
    "issues.documents.list": _service(service_params.IssueRef, lambda s: s.issues.documents.list),
    "issues.documents.get": _service(service_params.DocumentRef, lambda s: s.issues.documents.get),
    "issues.documents.upsert": _service(
        service_params.UpsertDocument, lambda s: s.issues.documents.upsert
    ),
    "issues.documents.delete": _service(
        service_params.DocumentRef, lambda s: s.issues.documents.delete
    ),
}
