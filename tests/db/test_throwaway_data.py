"""A throwaway PostgreSQL server keeps its data in memory when there is room."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from db import throwaway_data
from db.templates import POSTGRES_URL_ENV, start_postgres
from db.throwaway_data import PREFIX, remove_stale, throwaway_data_dir


def _gone_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_only_the_directories_of_ended_processes_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / f"{PREFIX}{_gone_pid()}-1a2b3c4d"
    ours = tmp_path / f"{PREFIX}{os.getpid()}-5e6f7a8b"
    unrelated = [tmp_path / f"{PREFIX}not-a-pid", tmp_path / "someone-elses"]
    for directory in (stale, ours, *unrelated):
        (directory / "base").mkdir(parents=True)

    assert remove_stale(tmp_path) == [stale]

    assert sorted(tmp_path.iterdir()) == sorted([ours, *unrelated])


def test_the_data_goes_to_disk_when_memory_is_short(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    monkeypatch.setattr(throwaway_data, "MEMORY_ROOT", memory)
    on_disk = tmp_path / "disk" / "data"

    monkeypatch.setattr(throwaway_data, "MIN_FREE_BYTES", 1 << 62)
    assert throwaway_data_dir(on_disk) == on_disk

    monkeypatch.setattr(throwaway_data, "MIN_FREE_BYTES", 0)
    in_memory = throwaway_data_dir(on_disk)
    assert in_memory.parent == memory
    assert in_memory.name.startswith(f"{PREFIX}{os.getpid()}-")


@pytest.mark.postgres_only
def test_a_throwaway_server_runs_on_its_memory_directory_and_removes_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    stale = memory / f"{PREFIX}{_gone_pid()}-00000000"
    (stale / "base").mkdir(parents=True)
    monkeypatch.setattr(throwaway_data, "MEMORY_ROOT", memory)
    monkeypatch.setattr(throwaway_data, "MIN_FREE_BYTES", 0)
    monkeypatch.delenv(POSTGRES_URL_ENV)
    tmp_path.chmod(0o755)  # the server's own system user (as root) must reach it

    url, server = start_postgres(tmp_path / "on-disk")
    assert server is not None
    try:
        assert url.database == "postgres"
        [data_dir] = memory.iterdir()  # the stale one was removed
        assert data_dir == server.data_dir
        assert (data_dir / "PG_VERSION").is_file()
        assert not (tmp_path / "on-disk").exists()
    finally:
        server.stop()
    assert list(memory.iterdir()) == []
