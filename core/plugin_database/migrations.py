"""The pieces of plugin migrations: the manifest view, the files, and the ledger.

``PluginDatabase.apply_migrations`` puts them together (see ``service``).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.plugin_database.declaration import (
    PluginDatabaseDeclaration,
    missing_capability_messages,
)
from core.unit_of_work import UnitOfWork
from db import upsert
from db.models import PluginMigration
from db.types import SqlNow

APPLIED = "applied"
FAILED = "failed"


class ManifestView(BaseModel):
    """The parts of a plugin manifest that migrations read."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    version: str
    capabilities: list[str] = Field(default_factory=list)
    database: PluginDatabaseDeclaration | None = None


def read_manifest(manifest: Mapping[str, Any]) -> ManifestView:
    """Validate the manifest's ``database`` block and its capabilities (upstream's messages)."""
    try:
        view = ManifestView.model_validate(manifest)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput(str(first["msg"]), details={"errors": error.errors()}) from None
    if view.database is not None:
        missing = missing_capability_messages(view.capabilities)
        if missing:
            raise InvalidInput(missing[0], details={"errors": missing})
    return view


def migrations_directory(package_root: str | os.PathLike[str], migrations_dir: str) -> Path:
    """The migrations directory, which must lie inside the package (symlinks resolved)."""
    root = Path(package_root).resolve()
    directory = (root / migrations_dir).resolve()
    if not directory.is_relative_to(root):
        raise Forbidden(f"Plugin migrationsDir escapes package root: {migrations_dir}")
    if not directory.is_dir():
        raise NotFound(f"Plugin migrationsDir not found: {migrations_dir}")
    return directory


def migration_files(directory: Path) -> list[str]:
    """The ``.sql`` regular files directly in ``directory``, in code point order of name.

    Symbolic links are skipped, so a migration cannot point outside the package. Upstream
    sorts with the host's locale collation; zero-padded names such as ``001_init.sql`` sort the
    same under both rules.
    """
    with os.scandir(directory) as entries:
        return sorted(
            entry.name
            for entry in entries
            if entry.name.endswith(".sql") and entry.is_file(follow_symlinks=False)
        )


def migration_path(migrations_dir: str, key: str) -> str:
    """The file as its author knows it, relative to the package: ``migrations/001_init.sql``."""
    return str(PurePosixPath(migrations_dir) / key)


def checksum_mismatch(key: str, plugin_key: str) -> Conflict:
    """Upstream's refusal of an edited, already applied file, and the two ways out."""
    return Conflict(
        f"Plugin migration checksum mismatch for {key} -- applied migrations are immutable: "
        "put the change in a new migration file, or start over with `sandbox plugin uninstall "
        f"{plugin_key} --remove-data` (this deletes the plugin's tables and data) and install "
        "it again",
        details={"migration": key},
    )


@dataclass(frozen=True)
class MigrationFile:
    """One migration file: its name (the ledger key), text, SHA-256 and size in bytes."""

    key: str
    content: str
    checksum: str
    size: int


def read_migration(directory: Path, key: str, *, max_bytes: int) -> MigrationFile:
    """Read a file as UTF-8 (invalid bytes become U+FFFD, as in upstream) and hash the text.

    A file over ``max_bytes`` is hashed as it is read and its text is not kept (``content`` is
    empty): the caller refuses it by its ``size``, and records it failed with its checksum.
    """
    path = directory / key
    size = path.stat().st_size
    if size > max_bytes:
        digest = hashlib.sha256()
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
        return MigrationFile(key, "", digest.hexdigest(), size)
    content = path.read_bytes().decode("utf-8", errors="replace")
    return MigrationFile(key, content, hashlib.sha256(content.encode()).hexdigest(), size)


async def applied_checksums(unit: UnitOfWork, plugin_id: uuid.UUID) -> dict[str, str]:
    """The checksum of every file the plugin's ledger records ``applied``, by key."""
    rows = await unit.session.execute(
        sa.select(PluginMigration.migration_key, PluginMigration.checksum).where(
            PluginMigration.plugin_id == plugin_id, PluginMigration.status == APPLIED
        )
    )
    return {key: checksum for key, checksum in rows}


async def ledger_row(unit: UnitOfWork, plugin_id: uuid.UUID, key: str) -> PluginMigration | None:
    """The ledger row of one migration file, if any."""
    return await unit.session.scalar(
        sa.select(PluginMigration).where(
            PluginMigration.plugin_id == plugin_id, PluginMigration.migration_key == key
        )
    )


async def record_migration(
    unit: UnitOfWork,
    *,
    plugin_id: uuid.UUID,
    manifest: ManifestView,
    namespace: str,
    migration: MigrationFile,
    error: str | None = None,
) -> None:
    """Upsert the ledger row as ``applied`` (no ``error``) or ``failed`` (with ``error``)."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "plugin_id": plugin_id,
        "plugin_key": manifest.id,
        "namespace_name": namespace,
        "migration_key": migration.key,
        "checksum": migration.checksum,
        "plugin_version": manifest.version,
        "status": APPLIED if error is None else FAILED,
        "started_at": SqlNow(),
        "applied_at": SqlNow() if error is None else None,
        "error_message": error,
    }
    await unit.session.execute(
        upsert(
            unit.dialect,
            PluginMigration.__table__,
            values,
            conflict_columns=["plugin_id", "migration_key"],
            update_columns=[
                "checksum",
                "plugin_version",
                "status",
                "started_at",
                "applied_at",
                "error_message",
            ],
        )
    )


__all__ = [
    "APPLIED",
    "FAILED",
    "ManifestView",
    "MigrationFile",
    "applied_checksums",
    "checksum_mismatch",
    "ledger_row",
    "migration_files",
    "migration_path",
    "migrations_directory",
    "read_manifest",
    "read_migration",
    "record_migration",
]
