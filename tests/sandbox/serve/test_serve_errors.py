"""A handler's exception seen through a running ``sandbox serve``: the bridge's error body
carries its type and trace, and the CLI, which routes through that host, prints the same line as
without a host (the type, the code, how to see the trace) and the trace with ``-v``.

Before: the routed CLI printed ``Error: 'parentId' (WORKER_ERROR -32002)``, the body had neither.
"""

from __future__ import annotations

import subprocess

import httpx

from tests.fixtures.serve import ServeProcess
from tests.fixtures.workers import ROOT
from tests.sandbox.test_plugin_cli import ok, sandbox, seeded

ERRORS_PYTHON = ROOT / "fixtures" / "plugins" / "errors-python"
KEY = "sandbox-fixtures.errors-python"
FRAME = 'return params["parentId"]'
LINE = "Error: KeyError: 'parentId' (WORKER_ERROR -32002)"


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stderr.splitlines()[-1]


def test_a_routed_call_names_the_exception_type_and_shows_the_trace_with_v(
    empty_database_url: str,
) -> None:
    db = empty_database_url
    company_id = seeded(db)["company"]["id"]
    ok(sandbox(db, "plugin", "install", str(ERRORS_PYTHON)))

    host = ServeProcess(db, "--no-watch", "--agents", "off")
    try:
        listening = host.start()
        assert [(p["pluginKey"], p["status"]) for p in listening["plugins"]] == [(KEY, "running")]

        answer = httpx.post(
            f"{host.url}/api/plugins/{KEY}/bridge/action",
            json={"key": "create-child", "companyId": company_id, "params": {}},
        )
        assert answer.status_code == 502
        body = answer.json()
        assert (body["code"], body["message"], body["errorType"]) == (
            "WORKER_ERROR",
            "'parentId'",
            "KeyError",
        )
        assert FRAME in body["trace"]

        default = sandbox(db, "action", KEY, "create-child", "--company", "ACM")
        assert _error_line(default) == (
            f"{LINE} -- rerun as 'sandbox -v action ...' for the traceback"
        )
        assert FRAME not in default.stderr

        verbose = sandbox(db, "-v", "action", KEY, "create-child", "--company", "ACM")
        assert _error_line(verbose) == LINE
        assert FRAME in verbose.stderr

        broken = sandbox(db, "data", KEY, "broken")
        assert _error_line(broken) == (
            "Error: ZeroDivisionError: division by zero (WORKER_ERROR -32002)"
            " -- rerun as 'sandbox -v data ...' for the traceback"
        )
        # A host refusal the plugin let through has no trace, so no hint either.
        refused = sandbox(db, "action", KEY, "refused", "--company", "ACM")
        assert _error_line(refused).endswith(f"(plugin {KEY}) (INVOCATION_SCOPE_DENIED -32005)")

        assert host.terminate() == 0
    finally:
        host.close()
