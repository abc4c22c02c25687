"""``PluginSandbox.close``: what a test's end stores, and what it may skip.

The ``plugin_sandbox`` fixture drops its database right after ``close``, so it passes
``discard=True`` and the last log lines and capability counts are not written; every other
caller keeps them (``close()`` documents that it stores the last logs).
"""

from __future__ import annotations

import pytest

from core.plugin_logs import LogLine, list_logs
from db import Database
from sandbox.harness import PluginSandbox
from tests.fixtures.workers import PYTHON_PROBE


@pytest.mark.parametrize("discard", [False, True], ids=["close", "close-discard"])
async def test_close_stores_the_last_log_lines_unless_told_the_database_is_dropped(
    db: Database, discard: bool
) -> None:
    sandbox = PluginSandbox(db, python_workers="in-process")
    plugin = await sandbox.install(PYTHON_PROBE)
    await plugin.logs()  # stores what setup logged
    stored = await list_logs(db, plugin.id, limit=500)
    sandbox.host.logs.add_host_line(LogLine(plugin.id, "info", "the last line"))

    await sandbox.close(discard=discard)

    after = await list_logs(db, plugin.id, limit=500)
    assert [line.message for line in after if line not in stored] == (
        [] if discard else ["the last line"]
    )
