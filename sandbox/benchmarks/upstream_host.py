"""``sandbox bench host --against-upstream``: Paperclip's own host services, on the same server.

The published ``@paperclipai/server`` package is installed with npm once per version, into
``$XDG_CACHE_HOME/paperclip-sandbox/upstream-server/VERSION`` (``~/.cache`` by default). Node
then runs our driver, ``upstream_host.mjs``, from that folder: it migrates a database of its own
on the PostgreSQL server of the bench's ``postgres`` run with upstream's migrations, builds
upstream's ``buildHostServices`` for a plugin record and does the work it is asked for, one JSON
line per command (see the script). Nothing of upstream's is copied into the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import click

from core.manifest import HOST_VERSION
from db import Database
from db.embedded_postgres import ensure_database

#: What ``--against-upstream`` installs without a VERSION: the release the sandbox mirrors.
DEFAULT_VERSION = HOST_VERSION
PACKAGE = "@paperclipai/server"
DRIVER = Path(__file__).resolve().parent / "upstream_host.mjs"
#: Upstream's database on the shared server.
DATABASE = "sandbox_bench_upstream"
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]*$")
_INSTALLED = ".sandbox-installed"
#: How long one command of the driver may take (a 10,000-issue summary takes seconds upstream).
COMMAND_TIMEOUT = 600.0
#: The chunks a measured run of calls is cut into, ours and upstream's taking turns, so that
#: both see the machine's changes of speed alike.
ROUNDS = 4

#: ``--against-upstream [VERSION]`` of the benchmarks that compare with upstream.
against_upstream_option = click.option(
    "--against-upstream",
    "against",
    is_flag=False,
    flag_value=DEFAULT_VERSION,
    default=None,
    metavar="[VERSION]",
    help=f"Also run the same work through Paperclip's own host ({PACKAGE}, installed with "
    f"npm once; default {DEFAULT_VERSION}) on the postgres run's server, taking turns with "
    "ours, and print each row's ratio.",
)


def check_against_upstream(against: str | None, backend: str) -> None:
    """Refuse ``--against-upstream`` without the postgres run its upstream side shares a
    server with.

    Raises:
        click.UsageError: ``--backend sqlite``.
    """
    if against is not None and backend == "sqlite":
        raise click.UsageError(
            "--against-upstream runs upstream's host on the postgres run's server: "
            "use --backend both (the default) or postgres"
        )


def cache_dir(version: str) -> Path:
    """Where ``version`` of upstream's server package is installed."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "paperclip-sandbox" / "upstream-server" / version


def install_server(version: str, report: Callable[[str], None]) -> Path:
    """``@paperclipai/server@version`` installed in its cache folder (npm, the first time).

    Raises:
        click.ClickException: no Node or npm, a malformed version, or npm failed (its last
            error line).
    """
    if not _VERSION.match(version):
        raise click.ClickException(f"not a package version: {version!r} (e.g. {DEFAULT_VERSION})")
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise click.ClickException(f"{tool} is not on PATH: --against-upstream runs Node")
    folder = cache_dir(version)
    if (folder / _INSTALLED).exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"private": true}\n')
    report(f"Installing {PACKAGE}@{version} into {folder} (once per version; about 850 MB) ...")
    done = subprocess.run(
        [
            "npm",
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"{PACKAGE}@{version}",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise click.ClickException(f"npm could not install {PACKAGE}@{version}: {last}")
    (folder / _INSTALLED).write_text(version + "\n")
    return folder


class UpstreamHost:
    """The driver process: ``ask`` sends a command and returns its answer."""

    def __init__(self, process: asyncio.subprocess.Process, errors: IO[bytes]) -> None:
        self._process = process
        self._errors = errors
        self.node = ""

    async def ask(self, op: str, **params: Any) -> dict[str, Any]:
        """The answer to ``{"op": op, **params}``.

        Raises:
            click.ClickException: the driver ended or answered nothing in time (its last
                line of stderr).
        """
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"op": op, **params}).encode() + b"\n")
        await self._process.stdin.drain()
        return await self._answer(op)

    async def _answer(self, op: str) -> dict[str, Any]:
        assert self._process.stdout is not None
        while True:
            try:
                line = await asyncio.wait_for(self._process.stdout.readline(), COMMAND_TIMEOUT)
            except TimeoutError:
                raise click.ClickException(
                    f"upstream's host did not answer {op!r} in {COMMAND_TIMEOUT:.0f} s"
                ) from None
            if not line:
                raise click.ClickException(f"upstream's host ended: {self._last_error()}")
            try:
                answer = json.loads(line)
            except ValueError:
                continue  # upstream's own logging
            if isinstance(answer, dict) and answer.get("reply") == op:
                return answer

    def _last_error(self) -> str:
        self._errors.seek(0)
        lines = self._errors.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._process.returncode}"


@asynccontextmanager
async def upstream_host(
    beside: Database, version: str, report: Callable[[str], None]
) -> AsyncIterator[UpstreamHost]:
    """Upstream's host services on database ``DATABASE`` (created, then migrated by upstream)
    of the PostgreSQL server that holds ``beside``."""
    server = beside.url.set(drivername="postgresql+asyncpg", database="postgres")
    folder = await asyncio.to_thread(install_server, version, report)
    shutil.copy(DRIVER, folder / DRIVER.name)
    await ensure_database(server, DATABASE)
    report(f"Starting upstream's host ({PACKAGE} {version}) on database {DATABASE} ...")
    environment = {
        **os.environ,
        "PGHOST": str(server.query.get("host") or server.host or "localhost"),
        "PGPORT": str(server.port or 5432),
        "PGUSER": server.username or "postgres",
        "PGPASSWORD": server.password or "",
        "PGDATABASE": DATABASE,
    }
    with tempfile.TemporaryFile() as errors:
        process = await asyncio.create_subprocess_exec(
            "node",
            DRIVER.name,
            cwd=folder,
            env=environment,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
            limit=1 << 24,  # upstream logs long lines
        )
        host = UpstreamHost(process, errors)
        try:
            host.node = (await host._answer("ready"))["node"]
            yield host
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


__all__ = [
    "DEFAULT_VERSION",
    "PACKAGE",
    "ROUNDS",
    "UpstreamHost",
    "against_upstream_option",
    "cache_dir",
    "check_against_upstream",
    "install_server",
    "upstream_host",
]
