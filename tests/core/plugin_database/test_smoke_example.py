"""Upstream's orchestration smoke example: its migration and every statement of its worker.

The worker upserts a ``smoke_runs`` row with ``$6::jsonb`` and ``EXCLUDED``, then reads it back
joined to ``public.issues``; the results must be the same on both backends. Deleting issues
must cascade into (and set NULL in) the plugin's table as the migration declares.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from core.plugin_database import PluginAccess, PluginDatabase
from db import Database
from db.models import Issue
from tests.fixtures.plugin_database import (
    SMOKE_NAMESPACE,
    SMOKE_PACKAGE,
    install_plugin,
    namespace_tables,
    smoke_manifest,
)
from tests.fixtures.rows import add_company, add_issue

ROOT = uuid.UUID("20000000-0000-4000-8000-000000000001")
CHILD = uuid.UUID("20000000-0000-4000-8000-000000000002")
BLOCKER = uuid.UUID("20000000-0000-4000-8000-000000000003")
RUN = uuid.UUID("30000000-0000-4000-8000-000000000001")

UPSERT = f"""
INSERT INTO {SMOKE_NAMESPACE}.smoke_runs
  (id, root_issue_id, child_issue_id, blocker_issue_id, billing_code, last_summary)
VALUES ($1, $2, $3, $4, $5, $6::jsonb)
ON CONFLICT (id) DO UPDATE SET
  child_issue_id = EXCLUDED.child_issue_id,
  blocker_issue_id = EXCLUDED.blocker_issue_id,
  billing_code = EXCLUDED.billing_code,
  last_summary = EXCLUDED.last_summary,
  updated_at = now()
"""
SUMMARY = f"""
SELECT s.root_issue_id, s.child_issue_id, s.blocker_issue_id, s.billing_code,
       i.title AS issue_title, s.last_summary
FROM {SMOKE_NAMESPACE}.smoke_runs s
JOIN public.issues i ON i.id = s.root_issue_id
WHERE s.root_issue_id = $1
"""
JOINED_ROWS = f"""
SELECT s.id, s.billing_code, i.title AS root_title
FROM {SMOKE_NAMESPACE}.smoke_runs s
JOIN public.issues i ON i.id = s.root_issue_id
WHERE s.root_issue_id = $1
"""
BILLING = f"plugin-smoke:{ROOT}"


async def _smoke(db: Database) -> tuple[PluginDatabase, PluginAccess]:
    company = await add_company(db)
    for issue_id, title in ((ROOT, "Root"), (CHILD, "Orchestration smoke child"),
                            (BLOCKER, "Orchestration smoke blocker")):  # fmt: skip
        await add_issue(db, company, title=title, id=issue_id)
    plugin_manifest = smoke_manifest()
    plugin_id = await install_plugin(db, plugin_manifest)
    plugin_db = PluginDatabase(db)
    namespace = await plugin_db.apply_migrations(plugin_id, plugin_manifest, SMOKE_PACKAGE)
    assert namespace is not None and namespace.namespace_name == SMOKE_NAMESPACE
    return plugin_db, await plugin_db.access(plugin_id)


def _snapshot(wakeup_queued: bool) -> str:
    return json.dumps(
        {
            "childIssueId": str(CHILD),
            "blockerIssueId": str(BLOCKER),
            "wakeupQueued": wakeup_queued,
            "subtreeIssueIds": [str(ROOT), str(CHILD), str(BLOCKER)],
        }
    )


def _params(summary: str) -> list[Any]:
    return [str(RUN), str(ROOT), str(CHILD), str(BLOCKER), BILLING, summary]


async def test_migration_creates_the_smoke_table(db: Database) -> None:
    plugin_db, _ = await _smoke(db)
    assert await namespace_tables(plugin_db, SMOKE_NAMESPACE) == {
        "smoke_runs": [
            "id",
            "root_issue_id",
            "child_issue_id",
            "blocker_issue_id",
            "billing_code",
            "last_summary",
            "created_at",
            "updated_at",
        ]
    }


async def test_worker_statements_give_the_same_results(db: Database) -> None:
    plugin_db, access = await _smoke(db)

    assert await plugin_db.execute(access, UPSERT, _params(_snapshot(False))) == {"rowCount": 1}
    # The same id again takes the DO UPDATE path with EXCLUDED values.
    assert await plugin_db.execute(access, UPSERT, _params(_snapshot(True))) == {"rowCount": 1}

    summary = await plugin_db.query(access, SUMMARY, [str(ROOT)])
    assert summary == [
        {
            "root_issue_id": str(ROOT),
            "child_issue_id": str(CHILD),
            "blocker_issue_id": str(BLOCKER),
            "billing_code": BILLING,
            "issue_title": "Root",
            "last_summary": {
                "childIssueId": str(CHILD),
                "wakeupQueued": True,
                "blockerIssueId": str(BLOCKER),
                "subtreeIssueIds": [str(ROOT), str(CHILD), str(BLOCKER)],
            },
        }
    ]
    # jsonb's key order (by length, then bytes) is what plugins receive on both backends.
    assert list(summary[0]["last_summary"]) == [
        "childIssueId",
        "wakeupQueued",
        "blockerIssueId",
        "subtreeIssueIds",
    ]
    assert await plugin_db.query(access, JOINED_ROWS, [str(ROOT)]) == [
        {"id": str(RUN), "billing_code": BILLING, "root_title": "Root"}
    ]
    assert await plugin_db.query(access, JOINED_ROWS, [str(uuid.uuid4())]) == []


async def test_timestamps_default_to_now_and_update_sets_them(db: Database) -> None:
    plugin_db, access = await _smoke(db)
    await plugin_db.execute(access, UPSERT, _params(_snapshot(False)))
    read = f"SELECT created_at, updated_at FROM {SMOKE_NAMESPACE}.smoke_runs"
    [first] = await plugin_db.query(access, read)
    await plugin_db.execute(access, UPSERT, _params(_snapshot(True)))
    [second] = await plugin_db.query(access, read)
    for value in (*first.values(), *second.values()):
        assert len(value) == 32 and value.endswith("+00:00")
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] >= first["updated_at"]


async def test_deleting_issues_cascades_as_declared(db: Database) -> None:
    plugin_db, access = await _smoke(db)
    await plugin_db.execute(access, UPSERT, _params(_snapshot(True)))
    links = f"SELECT child_issue_id, blocker_issue_id FROM {SMOKE_NAMESPACE}.smoke_runs"

    async with db.transaction() as session:
        await session.execute(sa.delete(Issue).where(Issue.id == CHILD))
    assert await plugin_db.query(access, links) == [
        {"child_issue_id": None, "blocker_issue_id": str(BLOCKER)}
    ]

    async with db.transaction() as session:
        await session.execute(sa.delete(Issue).where(Issue.id == ROOT))
    assert await plugin_db.query(access, links) == []
