"""``sandbox attach``: a real CLI gives an issue a file that a real plugin then reads, on a
never-migrated database of each backend."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.fixtures.plugin_packages import write_plugin
from tests.sandbox.test_fix_hints_cli import error_line
from tests.sandbox.test_plugin_cli import ok, sandbox

KEY = "acme.files"
WORKER = """
async def setup(ctx):
    async def files(params):
        listed = await ctx.issues.list_attachments(params["issueId"], params["companyId"])
        content = await ctx.issues.get_attachment_content(listed[0].id, params["companyId"])
        return {"names": [a.original_filename for a in listed], "base64": content.content_base64}

    ctx.data.register("files", files)

plugin = define_plugin(setup=setup)
"""


def test_attach_then_a_plugin_reads_it(empty_database_url: str, tmp_path: Path) -> None:
    db = empty_database_url
    seeded = json.loads(ok(sandbox(db, "seed", "--json")))
    company, issue = seeded["company"]["id"], seeded["issue"]["id"]
    notes = tmp_path / "notes.md"
    notes.write_bytes(b"# Notes\nsecond line\n")

    attached = json.loads(
        ok(sandbox(db, "attach", "ACM-1", str(notes), "--company", "ACM", "--json"))
    )
    assert (attached["issueId"], attached["contentType"], attached["byteSize"]) == (
        issue,
        "text/markdown",
        20,
    )
    plugin = write_plugin(
        tmp_path / "files", WORKER, key=KEY, capabilities=("issue.attachments.read",)
    )
    ok(sandbox(db, "plugin", "install", str(plugin)))
    answer = json.loads(
        ok(
            sandbox(
                db,
                "data",
                KEY,
                "files",
                "--company",
                "ACM",
                "--params",
                json.dumps({"issueId": issue}),
            )
        )
    )
    assert answer["names"] == ["notes.md"]
    assert base64.b64decode(answer["base64"]) == notes.read_bytes()
    assert company == attached["companyId"]


def test_mistakes_are_one_error_line(empty_database_url: str, tmp_path: Path) -> None:
    db = empty_database_url
    ok(sandbox(db, "seed"))
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert error_line(sandbox(db, "attach", "ACM-9", str(notes), "--company", "ACM")) == (
        "Error: Issue not found: ACM-9"
    )
    assert error_line(sandbox(db, "attach", "ACM-1", str(notes), "--company", "ACX")) == (
        'Error: Company not found: ACX -- did you mean "ACM"?'
    )
    assert (
        error_line(
            sandbox(db, "attach", "ACM-1", str(notes), "--company", "ACM", "--content-type", "text")
        )
        == "Error: Invalid content type: 'text' (expected type/subtype)"
    )
