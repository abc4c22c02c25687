"""``sandbox activity export`` (sandbox/activity_commands.py) as scripts run it, both backends."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from core.read_models.activity import ActivityFilter, list_activity
from db import Database
from tests.fixtures.review_world import MISSIONS_KEY, load_review_world


def _export(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "activity", "export", "--db", database, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


async def test_exports_what_the_read_model_reads(db: Database) -> None:
    world = await load_review_world(db)
    every = (await list_activity(db, limit=100)).items

    result = _export(_url(db))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [row.id for row in every]
    assert lines[0] == every[0].to_json() | {"createdAt": every[0].created_at.isoformat()}

    result = _export(_url(db), "--plugin", MISSIONS_KEY, "--action", "issue.*", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    wanted = (
        await list_activity(db, ActivityFilter(plugin_id=world.missions_id, action="issue.*"))
    ).items
    assert [row["id"] for row in rows] == [row.id for row in wanted]
    assert {row["pluginKey"] for row in rows} == {MISSIONS_KEY}

    result = _export(
        _url(db),
        "--company",
        "acm",
        "--since",
        "2026-12-05T09:20:00Z",
        "--until",
        "2026-12-05T09:50:00",
        "--limit",
        "3",
    )
    assert result.returncode == 0, result.stderr
    times = [json.loads(line)["createdAt"] for line in result.stdout.splitlines()]
    assert times == [
        "2026-12-05T09:47:00+00:00",
        "2026-12-05T09:41:00+00:00",
        "2026-12-05T09:30:00+00:00",
    ]


async def test_writes_a_file_and_says_how_many_rows(db: Database, tmp_path: Path) -> None:
    await load_review_world(db)
    target = tmp_path / "activity.csv"
    result = _export(
        _url(db), "--format", "csv", "--output", str(target), "--entity-type", "plugin"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == f"Wrote 1 row to {target}"
    (row,) = csv.DictReader(target.open())
    assert row["action"] == "digest.failed"


async def test_mistakes_are_one_line_errors(db: Database) -> None:
    await load_review_world(db)
    result = _export(_url(db), "--company", "NOPE")
    assert (result.returncode, result.stderr.strip()) == (1, "Error: Company not found: NOPE")
    result = _export(_url(db), "--plugin", "no.such")
    assert (result.returncode, result.stderr.strip()) == (1, "Error: Plugin not found: no.such")
    result = _export(_url(db), "--since", "yesterday")
    assert result.returncode == 2
    assert "Invalid value for --since: 'yesterday' is not an ISO-8601 time" in result.stderr
    assert "Traceback" not in result.stderr
