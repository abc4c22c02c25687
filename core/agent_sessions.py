"""A plugin's sessions with an agent (``ctx.agents.sessions``): ``agent_task_sessions`` rows
whose task key is ``plugin:<pluginKey>:session:<uuid>``, so each plugin sees only its own.

As upstream, a session is ``active`` until it is closed, and closing deletes it. A task key the
plugin chooses is stored as given, and such a session is then not the plugin's to list or close
(upstream's behaviour).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import sqlalchemy as sa

from core.errors import NotFound
from core.ids import as_uuid, require_company
from core.unit_of_work import UnitOfWork
from core.wakeups import load_agent
from db import tables


def _prefix(plugin_key: str) -> str:
    return f"plugin:{plugin_key}:session:"


def _plugins_own(plugin_key: str) -> Any:
    """Task keys of the plugin's sessions: an exact, case-sensitive prefix on both backends."""
    prefix = _prefix(plugin_key)
    task_key = tables.agent_task_sessions.c.task_key
    return sa.func.substr(task_key, 1, len(prefix)) == prefix


def _session(row: Mapping[str, Any]) -> dict[str, Any]:
    """A session as upstream answers it (always ``active``: a closed one is deleted)."""
    created = row["created_at"].astimezone(UTC)
    return {
        "sessionId": str(row["id"]),
        "agentId": str(row["agent_id"]),
        "companyId": str(row["company_id"]),
        "status": "active",
        "createdAt": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


async def create_session(
    unit: UnitOfWork, plugin_key: str, company_id: Any, agent_id: Any, task_key: str | None
) -> dict[str, Any]:
    """Open a session with the company's agent."""
    company = require_company(company_id)
    agent = as_uuid(agent_id)
    if agent is None:
        raise NotFound("Agent not found")
    found = await load_agent(unit, company, agent)
    row = {
        "id": str(uuid.uuid4()),
        "company_id": company,
        "agent_id": agent,
        "adapter_type": found["adapter_type"],
        "task_key": task_key or f"{_prefix(plugin_key)}{uuid.uuid4()}",
        "created_at": unit.now,
        "updated_at": unit.now,
    }
    await unit.session.execute(sa.insert(tables.agent_task_sessions).values(row))
    return _session(row)


async def list_sessions(
    unit: UnitOfWork, plugin_key: str, company_id: Any, agent_id: Any
) -> list[dict[str, Any]]:
    """The plugin's sessions with the agent, newest first."""
    agent = as_uuid(agent_id)
    if agent is None:
        return []
    sessions = tables.agent_task_sessions
    rows = await unit.session.execute(
        sa.select(sessions)
        .where(
            sessions.c.agent_id == agent,
            sessions.c.company_id == require_company(company_id),
            _plugins_own(plugin_key),
        )
        .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
    )
    return [_session(row) for row in rows.mappings()]


async def close_session(
    unit: UnitOfWork, plugin_key: str, company_id: Any, session_id: Any
) -> None:
    """Close (delete) one of the plugin's sessions."""
    sessions = tables.agent_task_sessions
    wanted = as_uuid(session_id)
    deleted = 0
    if wanted is not None:
        result = await unit.session.execute(
            sa.delete(sessions).where(
                sessions.c.id == wanted,
                sessions.c.company_id == require_company(company_id),
                _plugins_own(plugin_key),
            )
        )
        deleted = result.rowcount
    if deleted == 0:
        raise NotFound(f"Session not found: {session_id}")


__all__ = ["close_session", "create_session", "list_sessions"]
