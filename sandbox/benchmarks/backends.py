"""What every benchmark program shares: the backends to measure and a throwaway database each."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from db import Database, Dialect, migrate
from db.connect import fresh_database_choice, open_database

T = TypeVar("T")

BACKENDS = tuple(dialect.value for dialect in Dialect)
#: The example plugins the benchmarks run (a source checkout's ``fixtures/plugins``).
FIXTURE_PLUGINS = Path(__file__).resolve().parents[2] / "fixtures" / "plugins"
#: How to install a JS fixture plugin's pinned SDK.
NPM_CI = "npm ci --ignore-scripts --no-audit --no-fund"

#: ``--backend``: both backends (the default) or one of them.
backend_option = click.option(
    "--backend",
    "backend",
    type=click.Choice(["both", *BACKENDS]),
    default="both",
    show_default=True,
    help="Which backend to measure.",
)


def selected(backend: str) -> tuple[str, ...]:
    """The backends a ``--backend`` value names."""
    return BACKENDS if backend == "both" else (backend,)


@contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory the embedded PostgreSQL server (another user, as root) can use."""
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as directory:
        path = Path(directory)
        path.chmod(0o755)
        yield path


def fixture_plugin(name: str, *, node: bool = False) -> Path:
    """The fixture plugin ``name``, checked before any measuring starts.

    Raises:
        click.ClickException: the fixture is missing, or (``node``) Node or the plugin's
            ``node_modules`` is; one line saying what to do.
    """
    root = FIXTURE_PLUGINS / name
    if not root.is_dir():
        raise click.ClickException(f"{root} is missing: run the benchmarks from a source checkout")
    if node and shutil.which("node") is None:
        raise click.ClickException(f"node is not on PATH: the JS plugin {name} needs Node.js")
    if node and not (root / "node_modules" / "@paperclipai" / "plugin-sdk").is_dir():
        raise click.ClickException(
            f"{root / 'node_modules'} is missing: run `{NPM_CI}` in {root} first"
        )
    return root


@asynccontextmanager
async def bench_database(
    backend: str, directory: Path, report: Callable[[str], None]
) -> AsyncIterator[Database]:
    """A fresh, migrated database of ``backend`` under ``directory`` (PostgreSQL embedded,
    SQLite a file), opened as the command line opens one."""
    choice = fresh_database_choice(Dialect(backend), directory)
    async with open_database(choice, progress=report) as db:
        report(f"Migrating {backend} ...")
        await migrate.upgrade(db)
        yield db


async def on_each_backend(
    backends: tuple[str, ...],
    report: Callable[[str], None],
    measure: Callable[[str, Database], Awaitable[T]],
) -> dict[str, T]:
    """``{backend: await measure(backend, db)}``, each on a fresh database of its own
    (``bench_database``), one backend after the other."""
    figures: dict[str, T] = {}
    with workdir() as directory:
        for backend in backends:
            async with bench_database(backend, directory, report) as db:
                figures[backend] = await measure(backend, db)
    return figures


def progress(line: str) -> None:
    """Benchmarks report progress on stderr, keeping stdout for the figures."""
    click.echo(line, err=True)


def emit(figures: dict[str, Any], as_json: bool, table: Callable[[dict[str, Any]], str]) -> None:
    """Print the figures: one JSON object, or a table for people."""
    import json

    click.echo(json.dumps(figures) if as_json else table(figures))
