"""A real plugin host for tests and scripts: install plugins, seed data, drive them, inspect.

``PluginSandbox`` wraps a ``PluginHost`` on one migrated database with what a plugin author's
test needs: seeds (companies, agents, members, issues made by the board, heartbeat runs,
checkouts, cost events), the calls Paperclip's bridges make (actions, data, API requests, jobs,
tools, events) and inspection helpers returning records (issues, relations, documents and their
revisions, comments, activity, wakeups, runs, costs, the plugin's namespace rows, state, logs).
``SandboxDatabases`` makes fresh migrated databases fast (a template migrated once, copied per
use). ``sandbox.testing`` turns them into the ``plugin_sandbox`` pytest fixture;
``open_sandbox`` serves scripts.

This module does not import pytest, so the command line can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import sqlalchemy as sa
from sqlalchemy.engine import URL

from core import records
from core.agents import create_agent
from core.checkout import assert_checkout_owner
from core.comments import list_comments
from core.companies import create_company
from core.costs import record_cost_event
from core.documents import get_document, list_documents
from core.errors import NotFound
from core.event_bus import PluginEvent
from core.heartbeat_runs import RunCost, RunOutcome, claim_queued_runs, finish_run
from core.hosts import register_host
from core.ids import require_uuid
from core.issue_relations import relation_summary
from core.issues import (
    IssueCreate,
    IssuePatch,
    create_issue,
    issue_record,
    labels_by_issue,
    load_issue,
    update_issue,
)
from core.memberships import PrincipalType, add_membership
from core.plugin_database import PluginSqlSettings, StatementCache
from core.plugin_logs import list_logs
from core.plugin_state import StateKey, get_state
from core.read_models.pages import MAX_PAGE_ROWS, Page
from core.read_models.runs import (
    QueueFilter,
    RunRow,
    WakeupRow,
    list_runs,
    list_wakeups,
    runs_by_id,
)
from core.scoped_routes import LOCAL_BOARD_USER_ID, ApiCaller, ApiRequest, ApiResponse
from core.unit_of_work import UnitOfWork, read, write
from core.wakeups import IssueWakeup, enqueue_issue_wakeup, load_agent
from db import Database, lock_for_update, tables, templates
from db.embedded_postgres import EmbeddedPostgres
from db.templates import POSTGRES_URL_ENV as POSTGRES_URL_ENV  # the harness's public name
from sandbox.harness_records import DocumentRevision, IssueRelations
from sandbox.plugin_host import CallActor, PluginHost, PythonWorkers
from sandbox.plugin_package import SdkVersionWarning, sdk_version_warning
from sandbox.plugin_templates import PluginTemplates
from sandbox.spare_workers import SpareWorkers
from sandbox.worker_process import WorkerTimings

Backend = Literal["sqlite", "postgres"]
#: Seconds a worker has to shut down at a test's end (with spare workers) before it is killed.
TEARDOWN_SHUTDOWN_SECONDS = 1.0
#: How a seeded run is left: queued, claimed by a host, or ended.
SeedRunStatus = Literal["queued", "running", "succeeded", "failed", "timed_out"]
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class SandboxDatabases:
    """Fresh migrated databases, made fast: one migrated template, copied for every test
    (``db.templates.TemplateClones``: PostgreSQL copies are made and dropped in the
    background)."""

    def __init__(self, backend: Backend, directory: Path) -> None:
        self.backend = backend
        self.directory = directory
        self._server: EmbeddedPostgres | None = None
        self._clones: templates.TemplateClones | None = None
        #: Plugins installed once into templates of their own (``sandbox.plugin_templates``).
        self.plugin_templates: PluginTemplates | None = None
        #: Plugin SQL checked and rewritten once for the session's sandboxes: a pure function
        #: of the text, the namespace and (SQLite) the namespace's tables, so a test sees
        #: exactly what a fresh host would.
        settings = PluginSqlSettings.from_env()
        self.statements = StatementCache(settings.cache_size, max_bytes=settings.cache_bytes)

    async def start(self) -> None:
        """Migrate the template (and start PostgreSQL when needed)."""
        server_url: URL | None = None
        if self.backend == "postgres":
            server_url, self._server = templates.start_postgres(self.directory / "postgres")
        self._clones = templates.TemplateClones(self.directory, server_url)
        await self._clones.start()
        self.plugin_templates = PluginTemplates(self._clones)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        """A new migrated database, removed afterwards."""
        assert self._clones is not None, "start() first"
        async with self._clones.database() as db:
            yield db

    async def close(self) -> None:
        if self._clones is not None:
            await self._clones.close()
        if self._server is not None:
            self._server.stop()


class SandboxPlugin:
    """An installed plugin: call it the way Paperclip's bridges do, and look at what it did."""

    def __init__(self, sandbox: PluginSandbox, record: records.PluginRecord) -> None:
        self.sandbox = sandbox
        self.record = record

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def key(self) -> str:
        return self.record.plugin_key

    async def perform_action(
        self,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        company: records.Company | str | None = None,
        actor: CallActor | None = None,
    ) -> Any:
        """``performAction`` as the action bridge sends it; returns the handler's result.

        Raises:
            sandbox.protocol.RpcError: the handler failed (its code and message).
        """
        return await self.sandbox.host.perform_action(
            self.id, key, params, company_id=_company_id(company), actor=actor or CallActor()
        )

    async def get_data(
        self,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        company: records.Company | str | None = None,
    ) -> Any:
        """``getData`` as the data bridge sends it."""
        return await self.sandbox.host.get_data(
            self.id, key, params, company_id=_company_id(company)
        )

    async def api_request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        caller: ApiCaller | None = None,
    ) -> ApiResponse:
        """A request to the plugin's scoped API routes (``/api/plugins/<id>/api<path>``), with
        upstream's route matching, auth, company resolution and checkout policy.

        ``caller`` defaults to the local board (``ApiCaller.agent(...)`` acts as an agent); a
        JSON body gets ``content-type: application/json`` unless ``headers`` say otherwise.
        """
        sent = {"content-type": "application/json"} if body is not None else {}
        request = ApiRequest(method.upper(), path, sent | dict(headers or {}), body)
        return await self.sandbox.host.api_request(self.id, request, caller)

    async def run_job(self, job_key: str) -> None:
        """Run a declared job now, as a manual trigger does."""
        await self.sandbox.host.run_job(self.id, job_key)

    async def execute_tool(
        self,
        name: str,
        parameters: Mapping[str, Any],
        *,
        company: records.Company | str,
        agent: records.Agent | str,
        run_id: str | None = None,
        project_id: str | None = None,
    ) -> Any:
        """``executeTool`` as an agent run calls it."""
        run_context = {
            "agentId": _record_id(agent),
            "runId": run_id or str(uuid.uuid4()),
            "companyId": _record_id(company),
            "projectId": project_id,
        }
        return await self.sandbox.host.execute_tool(self.id, name, parameters, run_context)

    async def health(self) -> Any:
        """The worker's ``health`` answer."""
        return await self.sandbox.host.health(self.id)

    async def configure(self, config: Mapping[str, Any]) -> None:
        """Validate and store the plugin's config; the worker gets ``configChanged``."""
        await self.sandbox.host.configure(self.id, config)

    async def logs(self, level: str | None = None) -> list[records.PluginLogRecord]:
        """What the plugin logged (``ctx.logger``, metrics, stderr), oldest first."""
        await self.sandbox.host.logs.flush()
        lines = await list_logs(self.sandbox.db, self.id, limit=500, level=level)
        return list(reversed(lines))

    async def state(
        self,
        scope_kind: str,
        state_key: str,
        *,
        scope_id: str | None = None,
        namespace: str = "default",
    ) -> Any:
        """A ``ctx.state`` entry of the plugin (None when absent)."""
        key = StateKey(
            scopeKind=scope_kind, scopeId=scope_id, namespace=namespace, stateKey=state_key
        )
        return await get_state(self.sandbox.db, self.id, key)

    async def namespace_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a table in the plugin's database namespace, as plugins read them."""
        if not _TABLE_NAME.match(table):
            raise ValueError(f"not a plain table name: {table!r}")
        host = self.sandbox.host
        active = host.active(self.id)
        # A running worker's access, gathered at its activation, is the one its SQL runs with.
        access = (
            active.bridge.database if active is not None else await host.plugin_db.access(self.id)
        )
        return await host.plugin_db.query(access, f"SELECT * FROM {access.namespace}.{table}")


class PluginSandbox:
    """A real host on one database: install plugins, seed data, drive and inspect.

    Every inspection helper returns records (attribute access, immutable), oldest first:
    ``core.records`` types, the read models' ``WakeupRow`` / ``RunRow``, and the harness's
    ``IssueRelations`` / ``DocumentRevision`` (``sandbox.harness_records``). Only a plugin's own
    tables (``SandboxPlugin.namespace_rows``) come back as dicts, since their columns are the
    plugin's.

    Args:
        db: a migrated database.
        python_workers: ``"subprocess"`` (as Paperclip runs workers) or ``"in-process"``.
        timings: the workers' timeouts (``WorkerTimings``: ``call`` 30 s, ``initialize`` 15 s
            ... as upstream); shorter ones make a hanging handler fail fast in a test.
        spare_workers: worker processes kept between tests (``sandbox.spare_workers``).
        templates: installed-plugin templates of ``db``'s ``SandboxDatabases``; with
            ``spare_workers``, installing a package as the first use of ``db`` copies its
            template instead (``sandbox.plugin_templates``).
        statements: plugin SQL checked once for every sandbox that shares it (``statements`` of
            ``db``'s ``SandboxDatabases``).
    """

    def __init__(
        self,
        db: Database,
        *,
        python_workers: PythonWorkers = "subprocess",
        timings: WorkerTimings | None = None,
        spare_workers: SpareWorkers | None = None,
        templates: PluginTemplates | None = None,
        statements: StatementCache | None = None,
    ) -> None:
        self.db = db
        self.host = PluginHost(
            db,
            python_workers=python_workers,
            timings=timings,
            spare_workers=spare_workers,
            statements=statements,
        )
        self._spare_workers = spare_workers
        self._templates = templates
        self._run_host_id: str | None = None
        self._connecting: asyncio.Future[None] | None = None

    async def close(self, *, discard: bool = False) -> None:
        """Stop the workers and store their last logs. With spare workers, each gets
        ``shutdown`` and ``TEARDOWN_SHUTDOWN_SECONDS`` to end, so that its process can serve
        the next test; without (or after that), each is killed: nothing looks at them after
        this. ``discard=True`` skips storing the last logs and capability counts, for a caller
        that drops the database right after (the ``plugin_sandbox`` fixture)."""
        if self._connecting is not None:
            with contextlib.suppress(Exception):  # a statement that needed one said why
                await self._connecting
        if self._spare_workers is None:
            await self.host.close(graceful=False, discard=discard)
        else:
            await self.host.close(within=TEARDOWN_SHUTDOWN_SECONDS, discard=discard)

    async def install(
        self, path: str | os.PathLike[str], *, config: Mapping[str, Any] | None = None
    ) -> SandboxPlugin:
        """Install and start the plugin in ``path`` (manifest checks, migrations, worker).

        A JS plugin on an SDK version the sandbox does not support gets an ``SdkVersionWarning``.
        """
        prepared = None
        if self._templates is not None and self._spare_workers is not None:
            prepared = await self._templates.install(self.db, path, config, self._spare_workers)
        if prepared is not None:
            # SQLite: the copy's connections open while the worker starts and the test goes
            # on (each reads the schema); close() waits for them.
            self._connecting = asyncio.ensure_future(self.db.connect_ahead())
            record = await self.host.start_prepared(prepared)
        else:
            record = await self.host.install(path, config=config)
        if record.package_path is not None:
            warning = sdk_version_warning(Path(record.package_path), record.plugin_key)
            if warning is not None:
                warnings.warn(warning, SdkVersionWarning, stacklevel=2)
        return SandboxPlugin(self, record)

    # -- seeding ----------------------------------------------------------------------------

    async def add_company(self, name: str = "Acme", **columns: Any) -> records.Company:
        """A company (``issue_prefix``, ``budget_monthly_cents`` ... may be given)."""
        return await create_company(self.db, name=name, **columns)

    async def add_agent(
        self,
        company: records.Company | str,
        name: str = "Engineer",
        *,
        role: str = "engineer",
        status: str = "idle",
        **columns: Any,
    ) -> records.Agent:
        """An agent of the company, idle and wakeable by default."""
        return await create_agent(
            self.db, company_id=_record_id(company), name=name, role=role, status=status, **columns
        )

    async def add_member(
        self,
        company: records.Company | str,
        principal_id: str,
        *,
        principal_type: PrincipalType = "user",
        role: str | None = "member",
        status: str = "active",
    ) -> records.CompanyMembership:
        """A company membership: a board user (``"user"``) or an agent. The host asks for an
        active user membership before an issue may be assigned to that user."""
        return await add_membership(
            self.db,
            company_id=_record_id(company),
            principal_type=principal_type,
            principal_id=principal_id,
            role=role,
            status=status,
        )

    async def add_issue(
        self, company: records.Company | str, title: str = "Issue", **fields: Any
    ) -> records.Issue:
        """An issue made by the board (``status``, ``assignee_agent_id``, ``parent_id`` ...)."""
        values = IssueCreate.model_validate({**fields, "title": title})
        async with write(self.db, None) as unit:
            issue, _ = await create_issue(
                unit,
                company_id=_record_id(company),
                values=values,
                origin_kind="manual",
            )
        return issue

    async def add_run(
        self,
        issue: records.Issue | str,
        *,
        agent: records.Agent | str | None = None,
        status: SeedRunStatus = "queued",
        error: str | None = None,
        cost: RunCost | None = None,
        comment: str | None = None,
    ) -> RunRow:
        """A heartbeat run of ``agent`` (the issue's assignee by default) on the issue, taken
        through the host's own lifecycle: the board wakes the agent (``queued``), a host claims
        the run (``running``: the issue's execution lock, the agent ``running``), and it ends
        (``succeeded`` / ``failed`` / ``timed_out``, with ``error``; ``cost`` records a cost
        event with the issue's billing code; a succeeded run leaves ``comment`` on the issue).
        Subscribed plugins get the run's events.

        Raises:
            ValueError: no agent to run, or the host did not queue a run (its wakeup status).
        """
        if status not in get_args(SeedRunStatus):
            raise ValueError(f"a seeded run is one of {get_args(SeedRunStatus)}, not {status!r}")
        async with write(self.db, self.host.bus) as unit:
            row = await _issue_row(unit, issue, lock=True)
            company_id = str(row["company_id"])
            agent_id = _record_id(agent) if agent is not None else row["assignee_agent_id"]
            if agent_id is None:
                raise ValueError("the issue has no assignee: pass agent=")
            outcome = await enqueue_issue_wakeup(
                unit,
                IssueWakeup(
                    company_id=company_id,
                    agent_id=str(agent_id),
                    issue_id=str(row["id"]),
                    source="on_demand",
                    trigger_detail="manual",
                    reason="sandbox_seed",
                    payload={"issueId": str(row["id"])},
                    context_snapshot={"issueId": str(row["id"])},
                    requested_by_actor_type="user",
                    requested_by_actor_id=LOCAL_BOARD_USER_ID,
                ),
                agent=await load_agent(unit, company_id, str(agent_id)),
                issue=row,
            )
        if outcome.run_id is None:
            raise ValueError(f"the host queued no run: the wakeup was {outcome.status}")
        run_id = outcome.run_id
        if status != "queued":
            host_id = await self._run_host()
            now = datetime.now(UTC)
            await claim_queued_runs(
                self.db, host_id=host_id, limit=1, now=now, bus=self.host.bus, only=[run_id]
            )
            if status != "running":
                finish = RunOutcome(status=status, error=error, cost=cost, comment=comment)
                await finish_run(
                    self.db, run_id, host_id=host_id, outcome=finish, now=now, bus=self.host.bus
                )
        await self.host.drain()
        [run] = await runs_by_id(self.db, [run_id])
        return run

    async def add_checkout(
        self, issue: records.Issue | str, agent: records.Agent | str | None = None
    ) -> records.CheckoutOwnership:
        """Check the issue out to ``agent`` (its assignee by default) as upstream's checkout
        does: ``in_progress``, assigned to the agent, locked by a running run of it. Calls as
        that run (``ApiCaller.agent(agent_id, company_id, run_id=...)``) pass the checkout
        policy; other agents' runs get ``Issue run ownership conflict``."""
        async with write(self.db, self.host.bus) as unit:
            row = await _issue_row(unit, issue, lock=True)
            agent_id = _record_id(agent) if agent is not None else row["assignee_agent_id"]
            if agent_id is None:
                raise ValueError("the issue has no assignee: pass agent=")
            patch = IssuePatch(status="in_progress", assignee_agent_id=str(agent_id)).given()
            await update_issue(unit, row, patch)
        run = await self.add_run(str(row["id"]), agent=str(agent_id), status="running")
        async with write(self.db, self.host.bus) as unit:
            row = await _issue_row(unit, str(row["id"]), lock=True)
            return await assert_checkout_owner(
                unit, row, actor_agent_id=str(agent_id), actor_run_id=run.id
            )

    async def add_cost_event(
        self,
        company: records.Company | str,
        agent: records.Agent | str,
        cost_cents: int,
        *,
        provider: str = "anthropic",
        model: str = "claude-sonnet-4",
        issue: records.Issue | str | None = None,
        **fields: Any,
    ) -> records.CostEvent:
        """A billed model call of the agent, as the cost service records it (the month's spend
        of agent and company follows; ``billing_code``, ``input_tokens``, ``heartbeat_run_id``
        ... may be given)."""
        async with write(self.db, self.host.bus) as unit:
            event = await record_cost_event(
                unit,
                company_id=_record_id(company),
                agent_id=_record_id(agent),
                provider=provider,
                model=model,
                cost_cents=cost_cents,
                issue_id=None if issue is None else _record_id(issue),
                **fields,
            )
        await self.host.drain()
        return event

    async def _run_host(self) -> str:
        """The host that claims seeded runs (registered on first use)."""
        if self._run_host_id is None:
            host = await register_host(
                self.db, hostname="plugin-sandbox", pid=os.getpid(), url="", now=datetime.now(UTC)
            )
            self._run_host_id = host.id
        return self._run_host_id

    # -- driving ----------------------------------------------------------------------------

    async def emit_event(
        self,
        event_type: str,
        *,
        company: records.Company | str,
        payload: Mapping[str, Any] | None = None,
        entity_type: str | None = None,
        entity_id: str | None = None,
        actor_type: str = "system",
        actor_id: str | None = None,
    ) -> PluginEvent:
        """Publish a domain event and wait until every subscribed plugin has handled it."""
        event = PluginEvent(
            event_type=event_type,
            company_id=_record_id(company),
            actor_type=actor_type,
            actor_id=actor_id,
            entity_type=entity_type,
            entity_id=entity_id,
            payload=dict(payload or {}),
        )
        self.host.emit_event(event)
        await self.host.drain()
        return event

    # -- inspection -------------------------------------------------------------------------

    async def activity(
        self, company: records.Company | str | None = None, *, action: str | None = None
    ) -> list[records.ActivityEntry]:
        """Activity rows, oldest first."""
        log = tables.activity_log
        query = sa.select(log).order_by(log.c.created_at, log.c.id)
        if company is not None:
            query = query.where(log.c.company_id == _company_id(company))
        if action is not None:
            query = query.where(log.c.action == action)
        async with read(self.db) as unit:
            rows = (await unit.session.execute(query)).mappings().all()
        return [records.ActivityEntry.model_validate(row) for row in rows]

    async def issues(self, company: records.Company | str) -> list[records.Issue]:
        """The company's issues with their labels, oldest first."""
        issues = tables.issues
        query = (
            sa.select(issues)
            .where(issues.c.company_id == _record_id(company))
            .order_by(issues.c.created_at, issues.c.id)
        )
        async with read(self.db) as unit:
            rows = (await unit.session.execute(query)).mappings().all()
            labels = await labels_by_issue(unit, [row["id"] for row in rows])
        return [issue_record(row, labels.get(str(row["id"]), [])) for row in rows]

    async def issue(self, issue: records.Issue | str) -> records.Issue:
        """The issue as it is now (an id, or a record read earlier)."""
        async with read(self.db) as unit:
            row = await _issue_row(unit, issue)
            return await load_issue(unit, row["id"])

    async def relations(self, issue: records.Issue | str) -> IssueRelations:
        """What blocks the issue and what it blocks, its parent and its children."""
        issues = tables.issues
        async with read(self.db) as unit:
            row = await _issue_row(unit, issue)
            summary = await relation_summary(unit, str(row["company_id"]), row["id"])
            parent = None if row["parent_id"] is None else await load_issue(unit, row["parent_id"])
            children = (
                await unit.session.execute(
                    sa.select(issues.c.id)
                    .where(issues.c.parent_id == row["id"])
                    .order_by(issues.c.created_at, issues.c.id)
                )
            ).scalars()
            loaded = [await load_issue(unit, child) for child in children.all()]
        return IssueRelations(
            blocked_by=summary.blocked_by,
            blocks=summary.blocks,
            parent=parent,
            children=tuple(loaded),
        )

    async def comments(self, issue: records.Issue | str) -> list[records.Comment]:
        """The issue's comments, oldest first."""
        async with read(self.db) as unit:
            found = await list_comments(unit, await _issue_row(unit, issue))
        return list(reversed(found))

    async def documents(self, issue: records.Issue | str) -> list[records.Document]:
        """The issue's documents with their latest body, by key (system keys left out)."""
        async with read(self.db) as unit:
            return await list_documents(unit, await _issue_row(unit, issue))

    async def document_revisions(
        self, issue: records.Issue | str, key: str
    ) -> list[DocumentRevision]:
        """Every revision of the issue's document ``key``, oldest (number 1) first.

        Raises:
            core.errors.NotFound: the issue has no document under ``key``.
        """
        revisions = tables.document_revisions
        async with read(self.db) as unit:
            document = await get_document(unit, await _issue_row(unit, issue), key)
            if document is None:
                raise NotFound(f"Document not found: {key}")
            rows = (
                await unit.session.execute(
                    sa.select(revisions)
                    .where(revisions.c.document_id == document.id)
                    .order_by(revisions.c.revision_number)
                )
            ).mappings()
            return [DocumentRevision.model_validate(row) for row in rows]

    async def wakeups(self, company: records.Company | str | None = None) -> list[WakeupRow]:
        """Agent wakeup requests, oldest first (with the issue and who asked)."""
        return await _all_pages(list_wakeups, self.db, QueueFilter(company_id=_company_id(company)))

    async def runs(self, company: records.Company | str | None = None) -> list[RunRow]:
        """Heartbeat runs, oldest first (with their issue, status, error and timings)."""
        return await _all_pages(list_runs, self.db, QueueFilter(company_id=_company_id(company)))

    async def costs(self, company: records.Company | str | None = None) -> list[records.CostEvent]:
        """Cost events, oldest first (by when the model call happened)."""
        events = tables.cost_events
        query = sa.select(events).order_by(events.c.occurred_at, events.c.id)
        if company is not None:
            query = query.where(events.c.company_id == _company_id(company))
        async with read(self.db) as unit:
            rows = (await unit.session.execute(query)).mappings().all()
        return [records.CostEvent.model_validate(row) for row in rows]


Row = TypeVar("Row", WakeupRow, RunRow)


async def _all_pages(
    list_page: Callable[..., Awaitable[Page[Row]]], db: Database, queue_filter: QueueFilter
) -> list[Row]:
    """Every row of a newest-first read model, oldest first."""
    rows: list[Row] = []
    before = None
    while True:
        page = await list_page(db, queue_filter, before=before, limit=MAX_PAGE_ROWS)
        rows.extend(page.items)
        if page.next is None:
            return list(reversed(rows))
        before = page.next


async def _issue_row(
    unit: UnitOfWork, issue: records.Issue | str, *, lock: bool = False
) -> Mapping[str, Any]:
    """The ``issues`` row of a record or an id (any company's)."""
    issues = tables.issues
    query = sa.select(issues).where(issues.c.id == require_uuid(_record_id(issue), "issueId"))
    if lock:
        query = lock_for_update(unit.dialect, query)
    row = (await unit.session.execute(query)).mappings().first()
    if row is None:
        raise NotFound("Issue not found")
    return row


def _record_id(record: Any) -> str:
    """The id of a record, or the id itself."""
    return str(getattr(record, "id", record))


def _company_id(company: records.Company | str | None) -> str | None:
    return None if company is None else _record_id(company)


@asynccontextmanager
async def open_sandbox(
    backend: Backend = "sqlite",
    *,
    directory: Path | None = None,
    python_workers: PythonWorkers = "subprocess",
) -> AsyncIterator[PluginSandbox]:
    """A sandbox on a fresh database outside pytest (scripts, notebooks)."""
    with tempfile.TemporaryDirectory(prefix="plugin-sandbox-") as scratch:
        databases = SandboxDatabases(backend, directory or Path(scratch))
        await databases.start()
        try:
            async with databases.database() as db:
                sandbox = PluginSandbox(db, python_workers=python_workers)
                try:
                    yield sandbox
                finally:
                    await sandbox.close()
        finally:
            await databases.close()
