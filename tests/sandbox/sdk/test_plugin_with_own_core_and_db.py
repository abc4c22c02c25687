"""A Python plugin may have its own ``core`` and ``db`` modules: the SDK does not import the host's.

A worker's own folder comes first on its import path, so an SDK that imported ``core.records``
found the plugin's ``core.py`` instead and the worker died at import. The plugin here is the
bench fixture with a ``core.py`` and a ``db/`` package of its own, which its worker imports.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.companies import create_company
from core.plugin_trust import set_trusted
from db import Database
from sandbox.plugin_host import PluginHost
from tests.fixtures.workers import FAST, ROOT

BENCH = ROOT / "fixtures" / "plugins" / "bench-python"
REGISTER_NOOP = '    ctx.actions.register("noop", noop)\n'
OWN_MODULES_ACTION = """\
    async def own_modules(params: dict[str, Any], context: ActionContext) -> dict[str, Any]:
        import os

        issue = await ctx.issues.create(company_id=params["companyId"], title=core.TITLE)
        return {
            "core": core.ORIGIN,
            "db": db.ORIGIN,
            "issue": type(issue).__name__,
            "title": issue.title,
            "hostCoreVisible": os.path.exists(params["hostCore"]),
        }

    ctx.actions.register("own-modules", own_modules)
"""


def _plugin_with_own_core_and_db(folder: Path) -> Path:
    """The bench plugin, plus a ``core.py`` and a ``db/`` package its worker imports."""
    package = folder / "bench-own-modules"
    shutil.copytree(BENCH, package)
    (package / "core.py").write_text('ORIGIN = "the plugin\'s core.py"\nTITLE = "Own modules"\n')
    (package / "db").mkdir()
    (package / "db" / "__init__.py").write_text('ORIGIN = "the plugin\'s db package"\n')
    worker = package / "worker.py"
    source = worker.read_text()
    assert source.count(REGISTER_NOOP) == 1 and source.count("\nfrom sandbox.sdk import") == 1
    source = source.replace(
        "\nfrom sandbox.sdk import", "\nimport core\nimport db\nfrom sandbox.sdk import"
    )
    worker.write_text(source.replace(REGISTER_NOOP, OWN_MODULES_ACTION + REGISTER_NOOP))
    return package


@pytest.fixture
async def host(db: Database) -> AsyncIterator[PluginHost]:
    async with PluginHost(db, python_workers="subprocess", timings=FAST) as plugin_host:
        yield plugin_host


@pytest.mark.parametrize("trusted", [False, True], ids=["contained", "trusted"])
async def test_a_worker_with_its_own_core_and_db_installs_and_runs_an_action(
    host: PluginHost, db: Database, tmp_path: Path, trusted: bool
) -> None:
    record = await host.install(_plugin_with_own_core_and_db(tmp_path))
    if trusted:
        assert await set_trusted(db, record.id, True)
        await host.disable(record.id)  # the worker is started again, uncontained
        await host.enable(record.id)
    company = await create_company(db, name="Acme", issue_prefix="ACM")
    params = {"companyId": company.id, "hostCore": str(ROOT / "core")}

    result = await host.perform_action(record.plugin_key, "own-modules", params)

    assert result == {
        "core": "the plugin's core.py",
        "db": "the plugin's db package",
        "issue": "Issue",
        "title": "Own modules",
        # The jail no longer gives Python workers the host's core package; trust lifts the jail.
        "hostCoreVisible": trusted,
    }
