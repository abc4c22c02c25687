"""What every benchmark program shares: the backends to measure and a throwaway database each."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import click

from db import Database, migrate
from db.connect import EMBEDDED_POSTGRES, open_database

BACKENDS = ("sqlite", "postgres")

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


@asynccontextmanager
async def bench_database(
    backend: str, directory: Path, report: Callable[[str], None], *, migrated: bool = True
) -> AsyncIterator[Database]:
    """A fresh database of ``backend`` under ``directory`` (PostgreSQL embedded, SQLite a file)."""
    choice = (
        f"{EMBEDDED_POSTGRES}:{directory / 'postgres'}"
        if backend == "postgres"
        else str(directory / "bench.db")
    )
    async with open_database(choice, progress=report) as db:
        if migrated:
            report(f"Migrating {backend} ...")
            await migrate.upgrade(db)
        yield db


def progress(line: str) -> None:
    """Benchmarks report progress on stderr, keeping stdout for the figures."""
    click.echo(line, err=True)


def emit(figures: dict[str, Any], as_json: bool, table: Callable[[dict[str, Any]], str]) -> None:
    """Print the figures: one JSON object, or a table for people."""
    import json

    click.echo(json.dumps(figures) if as_json else table(figures))
