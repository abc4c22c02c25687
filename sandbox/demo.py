"""``sandbox demo``: the whole product in one command, offline, on the default SQLite file.

It migrates the database, seeds a company with an engineer and a root issue, installs the
orchestration smoke plugin (the Python port of Paperclip's example, or our JS one on the
published npm SDK), runs its ``initialize-smoke`` action through a real worker, and shows what
the plugin did: the issue tree, blocker relation, document, queued wakeup, orchestration summary,
its own namespace row joined to ``public.issues``, and the activity attributed to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.plugin_registry import find_plugin
from core.read_models.runs import WakeupRow
from core.records import Company, Issue
from db import Database
from sandbox.harness import PluginSandbox
from sandbox.plugin_host import PluginHost
from sandbox.plugin_package import load_package
from sandbox.worker_launch import SANDBOX_ROOT

#: The demo plugins, in the repository's fixtures.
DEMO_PLUGINS = {
    "python": SANDBOX_ROOT / "fixtures" / "plugins" / "orchestration-smoke-python",
    "js": SANDBOX_ROOT / "fixtures" / "plugins" / "orchestration-smoke-js",
}


class DemoUnavailable(Exception):
    """The demo plugin cannot run here (not a checkout of the repository, or no npm install)."""


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What one demo run did, for printing."""

    plugin: dict[str, Any]
    company: Company
    result: dict[str, Any]
    issues: list[dict[str, Any]]
    wakeups: list[dict[str, Any]]
    activity: list[dict[str, Any]]
    namespace_rows: list[dict[str, Any]]

    def to_wire(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "company": self.company.to_wire(),
            "result": self.result,
            "issues": self.issues,
            "wakeups": self.wakeups,
            "activity": self.activity,
            "namespaceRows": self.namespace_rows,
        }


def demo_plugin(kind: str) -> Path:
    """The folder of the demo plugin of this kind.

    Raises:
        DemoUnavailable: the folder (or the JS plugin's npm install) is missing.
    """
    path = DEMO_PLUGINS[kind]
    if not (path / ("package.json" if kind == "js" else "manifest.json")).is_file():
        raise DemoUnavailable(
            f"the demo plugin is not at {path}: run the demo from a clone of the repository"
        )
    if kind == "js" and not (path / "node_modules" / "@paperclipai" / "plugin-sdk").is_dir():
        raise DemoUnavailable(f"the JS demo plugin needs its npm packages: cd {path} && npm ci")
    return path


async def run_demo(db: Database, kind: str) -> DemoRun:
    """Seed, install (once) and run the smoke plugin on ``db`` (migrated)."""
    path = demo_plugin(kind)
    sandbox = PluginSandbox(db)
    try:
        plugin_ref = await _installed(sandbox.host, path)
        company = await sandbox.add_company("Demo Co")
        agent = await sandbox.add_agent(company, "Engineer")
        root = await sandbox.add_issue(
            company, "Ship the demo", status="todo", assignee_agent_id=agent.id
        )
        result = await sandbox.host.perform_action(
            plugin_ref, "initialize-smoke", {"issueId": root.id}, company_id=company.id
        )
        plugin = await find_plugin(db, plugin_ref)
        assert plugin is not None
        access = await sandbox.host.plugin_db.access(plugin.id)
        namespace = access.namespace
        rows = await sandbox.host.plugin_db.query(
            access,
            f"SELECT s.billing_code, s.last_summary, i.identifier AS root_identifier "
            f"FROM {namespace}.smoke_runs s JOIN public.issues i ON i.id = s.root_issue_id "
            "WHERE s.root_issue_id = $1",
            [root.id],
        )
        return DemoRun(
            plugin={"id": plugin.id, "key": plugin.plugin_key, "version": plugin.version},
            company=company,
            result=result,
            issues=[_issue(row) for row in await sandbox.issues(company)],
            wakeups=[_wakeup(row) for row in await sandbox.wakeups(company)],
            activity=[
                {"action": entry.action, "actorType": entry.actor_type, "entityId": entry.entity_id}
                for entry in await sandbox.activity(company)
            ],
            namespace_rows=rows,
        )
    finally:
        await sandbox.close()


async def _installed(host: PluginHost, path: Path) -> str:
    """The demo plugin's key, installing it on first use (a later run reuses it)."""
    key = (await load_package(path)).manifest["id"]
    existing = await find_plugin(host.db, key)
    if existing is None or existing.status == "uninstalled":
        await host.install(path)
    elif existing.status != "ready":
        await host.enable(key)
    return key


def _issue(issue: Issue) -> dict[str, Any]:
    return {
        "id": issue.id,
        "identifier": issue.identifier,
        "title": issue.title,
        "status": issue.status,
        "parent": issue.parent_id,
        "originKind": issue.origin_kind,
    }


def _wakeup(wakeup: WakeupRow) -> dict[str, Any]:
    return {
        "agentId": wakeup.agent_id,
        "status": wakeup.status,
        "reason": wakeup.reason,
        "runId": wakeup.run_id,
    }


def demo_report(run: DemoRun) -> str:
    """The run, for people."""
    result = run.result
    lines = [
        f"Plugin {run.plugin['key']} {run.plugin['version']} ran initialize-smoke for "
        f"{run.company.name} ({run.company.issue_prefix}).",
        "",
        "Issues:",
        *(
            f"  {i['identifier']:<10} {i['status']:<12} {i['title']}"
            + ("" if i["parent"] is None else "   (child of the root)")
            for i in run.issues
        ),
        "",
        f"Blocker relation: child blocked by {_identifier(run, result['blockerIssueId'])} (done)",
        "Document: orchestration-smoke on the child",
        "Wakeups: " + ", ".join(f"{w['status']} ({w['reason']})" for w in run.wakeups),
        f"Orchestration summary: {len(result['subtreeIssueIds'])} issues in the subtree, "
        f"billing code {result['billingCode']}",
        f"Plugin table: {len(run.namespace_rows)} row joined to public.issues "
        f"(root {run.namespace_rows[0]['root_identifier'] if run.namespace_rows else '-'})",
        "",
        "Activity attributed to the plugin:",
        *(f"  {a['action']}" for a in run.activity if a["actorType"] == "plugin"),
    ]
    return "\n".join(lines)


def _identifier(run: DemoRun, issue_id: str) -> str:
    return next((i["identifier"] for i in run.issues if i["id"] == issue_id), issue_id)
