"""Namespace names are derived exactly as upstream derives them; ensuring one records it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.plugin_database import PluginDatabase, derive_namespace
from db import Database
from db.models import PluginDatabaseNamespace
from tests.fixtures.plugin_database import install_plugin, manifest


@pytest.mark.parametrize(
    ("key", "slug", "namespace"),
    [
        (
            "paperclipai.plugin-orchestration-smoke-example",
            "orchestration_smoke",
            "plugin_orchestration_smoke_1e8c264c64",
        ),
        (
            "paperclipai.plugin-orchestration-smoke-example",
            None,
            "plugin_paperclipai_plugin_orchestration_smo_1e8c264c64",
        ),
        ("paperclipai.plugin-llm-wiki", "llm_wiki", "plugin_llm_wiki_8f50da974f"),
        ("paperclip.dbtest", None, "plugin_paperclip_dbtest_f9c12a21cb"),
        ("paperclip.escape", None, "plugin_paperclip_escape_5fe8b13325"),
        ("acme.x", "9lives", "plugin_9lives_e53c5c23b2"),
        ("acme.x", "a" * 35 + "_b", "plugin_" + "a" * 35 + "__e53c5c23b2"),
        ("acme.x", "a" * 40, "plugin_" + "a" * 36 + "_e53c5c23b2"),
        ("___", None, "plugin_plugin_bda251550b"),
        ("@acme/Plugin--X..Y", None, "plugin_acme_plugin_x_y_ac9776d594"),
        ("acme.x", "", "plugin_plugin_e53c5c23b2"),
    ],
)
def test_derivation_matches_upstreams_vectors(key: str, slug: str | None, namespace: str) -> None:
    assert derive_namespace(key, slug) == namespace


async def test_ensure_records_the_namespace_and_follows_slug_changes(db: Database) -> None:
    plugin_id = await install_plugin(db, manifest())
    plugin_db = PluginDatabase(db)

    first = await plugin_db.ensure_namespace(plugin_id, manifest())
    assert first is not None
    assert (first.plugin_key, first.namespace_name, first.namespace_mode, first.status) == (
        "paperclip.dbtest",
        "plugin_paperclip_dbtest_f9c12a21cb",
        "schema",
        "active",
    )

    async with db.transaction() as session:
        await session.execute(sa.update(PluginDatabaseNamespace).values(status="migration_failed"))
    second = await plugin_db.ensure_namespace(plugin_id, manifest(slug="renamed"))

    assert second is not None
    assert (second.id, second.namespace_name, second.status) == (
        first.id,
        "plugin_renamed_f9c12a21cb",
        "active",
    )
    assert second.updated_at >= first.updated_at
    assert (await plugin_db.access(plugin_id)).namespace == "plugin_renamed_f9c12a21cb"
