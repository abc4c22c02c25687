"""Where a throwaway PostgreSQL server keeps its data: in memory when the machine has room.

The test templates create and drop databases all the time, and creating one writes a file per
table and index. On a journaled disk each new file costs a fraction of a millisecond: copying
the migrated template took 270-460 ms on an ext4 disk and 25-40 ms on the tmpfs of
``/dev/shm`` (same machine, same server). A throwaway server's data is deleted when it stops,
so it loses nothing by living in memory.

A process that is killed cannot delete its server's data, so each directory here is named for
the process that made it, and the next throwaway server removes those whose process is gone
(the orphaned server, if it still runs, shuts itself down once its data directory is gone).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

#: A filesystem in memory on Linux.
MEMORY_ROOT = Path("/dev/shm")
#: Below this much free memory there, the data goes to disk: a server with the test templates'
#: copies and its WAL takes a few hundred MB, and a container's default ``/dev/shm`` is 64 MB.
MIN_FREE_BYTES = 2 * 1024**3
PREFIX = "sandbox-pg-"


def throwaway_data_dir(on_disk: Path) -> Path:
    """A new data directory for a throwaway server: under ``/dev/shm`` when it has room (and
    stale ones of killed processes removed first), else ``on_disk``. Not created yet."""
    if not _has_room(MEMORY_ROOT):
        return on_disk
    remove_stale(MEMORY_ROOT)
    return MEMORY_ROOT / f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_stale(root: Path) -> list[Path]:
    """Remove the data directories under ``root`` whose making process is gone; returns them."""
    removed = []
    for path in root.glob(f"{PREFIX}*"):
        owner = path.name.removeprefix(PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _has_room(root: Path) -> bool:
    try:
        return os.access(root, os.W_OK) and shutil.disk_usage(root).free >= MIN_FREE_BYTES
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
