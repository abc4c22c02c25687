"""The TUI when the database goes away mid-session, on both backends: the status line says so,
the feed retries with backoff, and once the database is back the rows written meanwhile show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.activity import record_activity
from core.unit_of_work import write
from db import Database
from db.change_feed import LISTENER_NAME
from tests.tui.conftest import Review, settle, shown_text, wait_until
from tui.screens.activity_screen import ActivityScreen
from tui.widgets.status_bar import StatusBar

SIZE = (160, 45)


@asynccontextmanager
async def _outage(backend: str, db: Database) -> AsyncIterator[None]:
    """SQLite: the file is moved away; PostgreSQL: the server ends the feed's connection and
    refuses new connections until the outage ends."""
    if backend == "sqlite":
        path = Path(str(db.url.database))
        aside = path.with_name(path.name + ".aside")
        path.rename(aside)
        try:
            yield
        finally:
            aside.rename(path)
        return
    import asyncpg

    name = db.url.database
    server = db.url.set(drivername="postgresql", database="postgres")
    admin = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        # New connections are refused until the outage ends; those already open stay.
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = $2",
            LISTENER_NAME,
            name,
        )
        assert ended == 1
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_the_database_going_away_shows_on_the_status_line(
    review: Review, backend: str
) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ActivityScreen)

        def status() -> str:
            return shown_text(screen.query_one(StatusBar))

        async with _outage(backend, review.db):
            await wait_until(pilot, lambda: "feed:" in status())
            assert "retrying in" in status()
            async with write(review.db, None) as unit:
                await record_activity(
                    unit,
                    company_id=review.world.company_id,
                    actor_type="system",
                    actor_id="test",
                    action="written.during.the.outage",
                    entity_type="thing",
                    entity_id="x",
                )
        await wait_until(pilot, lambda: "feed:" not in status(), timeout=30)
        await wait_until(
            pilot, lambda: screen.buffer.visible[-1].action == "written.during.the.outage"
        )
        assert pilot.app.is_running
