"""A real plugin host for tests and scripts: install plugins, seed data, drive them, inspect.

``PluginSandbox`` wraps a ``PluginHost`` on one migrated database with what a plugin author's
test needs: seeds (companies, agents, issues made by the board), the calls Paperclip's bridges
make (actions, data, API requests, jobs, tools, events) and inspection helpers (activity,
wakeups, runs, the plugin's namespace rows, state and logs). ``SandboxDatabases`` makes fresh
migrated databases fast (a template migrated once, copied per use). ``sandbox.testing`` turns
them into the ``plugin_sandbox`` pytest fixture; ``open_sandbox`` serves scripts.

This module does not import pytest, so the command line can use it.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import URL

from core import records
from core.agents import create_agent
from core.companies import create_company
from core.event_bus import PluginEvent
from core.issues import IssueCreate, create_issue
from core.plugin_logs import list_logs
from core.plugin_state import StateKey, get_state
from core.scoped_routes import ApiCaller, ApiRequest, ApiResponse
from core.unit_of_work import write
from db import Database, create_db, tables, templates
from db.embedded_postgres import EmbeddedPostgres, drop_database
from db.templates import POSTGRES_URL_ENV as POSTGRES_URL_ENV  # the harness's public name
from sandbox.plugin_host import CallActor, PluginHost, PythonWorkers

Backend = Literal["sqlite", "postgres"]
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class SandboxDatabases:
    """Fresh migrated databases, made fast: one migrated template, copied for every test."""

    def __init__(self, backend: Backend, directory: Path) -> None:
        self.backend = backend
        self.directory = directory
        self._server: EmbeddedPostgres | None = None
        self._server_url: URL | None = None
        self._template: Path | str | None = None

    async def start(self) -> None:
        """Migrate the template (and start PostgreSQL when needed)."""
        if self.backend == "sqlite":
            self._template = await templates.build_sqlite_template(self.directory / "template.db")
            return
        self._server_url, self._server = templates.start_postgres(self.directory / "postgres")
        name = f"sandbox_plugin_template_{uuid.uuid4().hex[:8]}"
        await templates.build_postgres_template(self._server_url, name)
        self._template = name

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        """A new migrated database, removed afterwards."""
        assert self._template is not None, "start() first"
        if self.backend == "sqlite":
            path = self.directory / f"test-{uuid.uuid4().hex[:12]}.db"
            db = create_db(templates.clone_sqlite(Path(self._template), path))
            try:
                yield db
            finally:
                await db.dispose()
                templates.remove_sqlite(path)
            return
        assert self._server_url is not None
        name = f"sandbox_plugin_test_{uuid.uuid4().hex[:12]}"
        url = await templates.clone_postgres(self._server_url, str(self._template), name)
        db = create_db(url)
        try:
            yield db
        finally:
            await db.dispose()
            await drop_database(self._server_url, name)

    async def close(self) -> None:
        if self._server_url is not None and isinstance(self._template, str):
            await drop_database(self._server_url, self._template)
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
        plugin_db = self.sandbox.host.plugin_db
        access = await plugin_db.access(self.id)
        return await plugin_db.query(access, f"SELECT * FROM {access.namespace}.{table}")


class PluginSandbox:
    """A real host on one database: install plugins, seed data, drive and inspect.

    Args:
        db: a migrated database.
        python_workers: ``"subprocess"`` (as Paperclip runs workers) or ``"in-process"``.
    """

    def __init__(self, db: Database, *, python_workers: PythonWorkers = "subprocess") -> None:
        self.db = db
        self.host = PluginHost(db, python_workers=python_workers)

    async def close(self) -> None:
        await self.host.close()

    async def install(
        self, path: str | os.PathLike[str], *, config: Mapping[str, Any] | None = None
    ) -> SandboxPlugin:
        """Install and start the plugin in ``path`` (manifest checks, migrations, worker)."""
        return SandboxPlugin(self, await self.host.install(path, config=config))

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
        return [records.ActivityEntry.model_validate(row) for row in await self._rows(query)]

    async def wakeups(self, company: records.Company | str | None = None) -> list[dict[str, Any]]:
        """Agent wakeup requests (``agent_wakeup_requests`` rows), oldest first."""
        return await self._company_rows(tables.agent_wakeup_requests, company)

    async def runs(self, company: records.Company | str | None = None) -> list[dict[str, Any]]:
        """Heartbeat runs (``heartbeat_runs`` rows), oldest first."""
        return await self._company_rows(tables.heartbeat_runs, company)

    async def issues(self, company: records.Company | str) -> list[dict[str, Any]]:
        """The company's issues (``issues`` rows), oldest first."""
        return await self._company_rows(tables.issues, company)

    async def _company_rows(
        self, table: sa.Table, company: records.Company | str | None
    ) -> list[dict[str, Any]]:
        query = sa.select(table).order_by(table.c.created_at, table.c.id)
        if company is not None:
            query = query.where(table.c.company_id == _company_id(company))
        return await self._rows(query)

    async def _rows(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            return [dict(row) for row in (await session.execute(query)).mappings()]


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
