"""``sandbox limits``: every limit with its variable, the value in effect and the default."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from core.plugin_database.settings import PluginSqlSettings
from sandbox.containment.kernel import probe_kernel
from sandbox.containment.policy import ContainmentSettings
from sandbox.limits_command import SETTINGS


def limits(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "limits", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | (env or {}),
    )


def test_every_limit_is_listed_with_its_variable_and_the_value_in_effect() -> None:
    result = limits("--json", env={"SANDBOX_PLUGIN_SQL_MAX_ROWS": "77"})

    assert result.returncode == 0, result.stderr
    rows = {row["variable"]: row for row in json.loads(result.stdout)["limits"]}
    expected = {variable for model in SETTINGS.values() for variable in model.ENVIRONMENT.values()}
    assert set(rows) == expected
    assert rows["SANDBOX_PLUGIN_SQL_MAX_ROWS"] == {
        "part": "plugin SQL",
        "setting": "max_rows",
        "variable": "SANDBOX_PLUGIN_SQL_MAX_ROWS",
        "value": 77,
        "default": PluginSqlSettings().max_rows,
    }
    assert rows["SANDBOX_WORKER_MEMORY_BYTES"]["value"] == ContainmentSettings().memory_bytes


def test_it_says_how_workers_are_contained_here() -> None:
    kernel = probe_kernel()

    said = json.loads(limits("--json").stdout)["containment"]
    off = json.loads(limits("--json", env={"SANDBOX_CONTAINMENT": "off"}).stdout)["containment"]

    if kernel.supported:
        assert said.startswith("user, PID, network and mount namespaces")
        assert f"Landlock ABI {kernel.landlock_abi}" in said
        assert ("SANDBOX_WORKER_PROCESSES is not applied" in said) == (os.geteuid() == 0)
    else:
        assert said.startswith("Plugin workers run uncontained: ")
    assert off == "off (SANDBOX_CONTAINMENT=off): workers run uncontained"


def test_the_table_marks_what_a_variable_changed() -> None:
    result = limits(env={"SANDBOX_PLUGIN_LOG_BURST": "5"})

    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "SANDBOX_PLUGIN_LOG_BURST" in line)
    assert line.split()[-3:] == ["5", "1000", "*"]


def test_a_bad_value_is_one_line_naming_the_variable() -> None:
    result = limits(env={"SANDBOX_WORKER_OPEN_FILES": "many"})

    assert result.returncode == 1
    assert result.stderr.startswith("Error: SANDBOX_WORKER_OPEN_FILES='many': ")
    assert len(result.stderr.strip().splitlines()) == 1
