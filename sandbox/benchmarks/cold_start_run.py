"""One cold start, in the fresh interpreter ``sandbox bench cold-start`` spawns for it.

    python -m sandbox.benchmarks.cold_start_run DATABASE PLUGIN_DIR

From nothing to the first answer: import the host, open the database (PostgreSQL: start the
embedded server), migrate it, install the plugin (its migrations, worker spawn, ``initialize``),
seed a company, an agent and an issue, and run the first ``initialize-smoke``. Prints one JSON
line of phase durations in milliseconds as soon as the answer is in, then shuts everything down
(not measured). Only the standard library is imported before the clock starts; the host's
modules are imported inside ``_cold_start`` because importing them is a measured phase, the way
the ``sandbox`` command imports them (``sandbox/startup.py``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


class _Laps:
    """Milliseconds between consecutive marks, by the name of the phase each mark ends."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = round((now - self.last) * 1000, 1)
        self.last = now


async def _cold_start(database: str, plugin_dir: str) -> None:
    laps = _Laps()
    from sandbox.startup import collector_paused

    with collector_paused():
        from core.agents import create_agent
        from core.companies import create_company
        from core.issues import IssueCreate, create_issue
        from core.unit_of_work import write
        from db import migrate
        from db.connect import open_database
        from sandbox.plugin_host import PluginHost

    laps.mark("imports")
    async with open_database(database) as db:
        laps.mark("database")
        await migrate.upgrade(db)
        laps.mark("migrate")
        async with PluginHost(db) as host:
            plugin = await host.install(plugin_dir)
            laps.mark("install")
            company = await create_company(db, name="Cold Start")
            agent = await create_agent(db, company_id=company.id, name="Engineer", role="engineer")
            values = IssueCreate.model_validate({"title": "Root", "assignee_agent_id": agent.id})
            async with write(db, None) as unit:
                root, _ = await create_issue(
                    unit, company_id=company.id, values=values, origin_kind="manual"
                )
            laps.mark("seed")
            result = await host.perform_action(
                plugin.id,
                "initialize-smoke",
                {"issueId": root.id, "assigneeAgentId": agent.id},
                company_id=company.id,
            )
            laps.mark("first_action")
            if result["rootIssueId"] != root.id:
                raise RuntimeError(f"initialize-smoke answered for another issue: {result}")
            print(json.dumps(laps.phases), flush=True)


if __name__ == "__main__":
    asyncio.run(_cold_start(*sys.argv[1:3]))
