"""``sandbox bench host|plugins --against-upstream``: Paperclip's published server package,
installed with npm into the cache, does the same work on the same PostgreSQL server (tiny counts
here; benchmarks are programs, never timed tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from sandbox.benchmarks import host, plugins
from sandbox.benchmarks.host import _table, run_benchmark
from sandbox.benchmarks.upstream_host import (
    DEFAULT_VERSION,
    UpstreamHost,
    cache_dir,
    install_server,
)
from sandbox.cli import main
from tests.fixtures.workers import ROOT, ensure_npm_installed

FIXTURES = ROOT / "fixtures" / "plugins"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["host", "--scale"], "--against-upstream measures the usual rows: leave out --scale"),
        (["host", "--backend", "sqlite"], "use --backend both (the default) or postgres"),
        (["plugins", "--backend", "sqlite"], "use --backend both (the default) or postgres"),
    ],
)
def test_what_cannot_be_compared_is_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["bench", *args[:1], "--against-upstream", *args[1:]])
    assert result.exit_code == 2
    assert message in result.output


def test_a_malformed_version_is_refused_before_npm_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(click.ClickException, match=r"not a package version: '\.\./x'"):
        install_server("../x", print)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres_only
async def test_upstream_does_the_same_work_beside_the_postgres_run_hosts_and_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    said: list[str] = []
    turns: list[str] = []
    ours = host.creates_per_second

    async def our_creates(*args: Any) -> float:
        turns.append("ours")
        return await ours(*args)

    theirs = UpstreamHost.ask

    async def their_command(self: UpstreamHost, op: str, **params: Any) -> dict[str, Any]:
        turns.append(f"upstream {op}")
        return await theirs(self, op, **params)

    monkeypatch.setattr(host, "creates_per_second", our_creates)
    monkeypatch.setattr(UpstreamHost, "ask", their_command)

    figures = await run_benchmark(
        ("postgres",), 12, 10, said.append, against=DEFAULT_VERSION, sizes=(30,)
    )

    assert (cache_dir(DEFAULT_VERSION) / "node_modules" / "@paperclipai" / "server").is_dir()
    upstream = figures["upstream"]
    assert upstream["version"] == DEFAULT_VERSION and upstream["node"].startswith("v")
    assert upstream["issues_create_per_s"] > 0 and upstream["request_wakeup_per_s"] > 0
    assert [row["subtree"] for row in upstream["summary"]] == [30]
    # one issue, one blocker relation and one activity row per create, after the warm-up's 11
    assert upstream["written"] == {"issues": 23, "blockerRelations": 22, "createdActivity": 23}
    # the creates were cut into rounds, the two sides taking turns
    assert turns[: 2 * host.ROUNDS] == ["ours", "upstream creates"] * host.ROUNDS
    table = _table(figures).splitlines()
    [create_row] = [line for line in table if line.startswith("issues.create /s")]
    ratio = figures["postgres"]["issues_create_per_s"] / upstream["issues_create_per_s"]
    assert create_row.split()[-1] == f"({ratio:.1f}x)"

    # the JS plugin, hosted by upstream's worker manager too (the cache installed above)
    ensure_npm_installed(FIXTURES / "bench-js")
    packages = {"python": FIXTURES / "bench-python", "js": FIXTURES / "bench-js"}
    figures = await plugins.run_benchmark(
        ("postgres",), packages, 8, 8, said.append, against=DEFAULT_VERSION
    )
    against = figures["postgres"]["against_upstream"]
    assert against["version"] == DEFAULT_VERSION
    for side in ("sandbox", "upstream"):
        assert all(value > 0 for value in against[side].values()), against
    lines = plugins._table(figures).splitlines()
    [creates_row] = [line for line in lines if line.startswith("issues.create /s in the worker")]
    assert creates_row.split()[-2] == f"{against['sandbox']['creates_per_s']:.1f}"

    # installed once: the next run finds the cache and asks npm nothing
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm-here"))
    monkeypatch.setattr("shutil.which", lambda tool: f"/usr/bin/{tool}")
    assert install_server(DEFAULT_VERSION, said.append) == cache_dir(DEFAULT_VERSION)
