"""The TUI when the database goes away mid-session, on both backends: the status line says so,
the feed retries with backoff, and once the database is back the rows written meanwhile show."""

from __future__ import annotations

from core.activity import record_activity
from core.unit_of_work import write
from tests.fixtures.outage import database_outage
from tests.tui.conftest import Review, settle, shown_text, wait_until
from tui.screens.activity_screen import ActivityScreen
from tui.widgets.status_bar import StatusBar

SIZE = (160, 45)


async def test_the_database_going_away_shows_on_the_status_line(
    review: Review, backend: str
) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ActivityScreen)

        def status() -> str:
            return shown_text(screen.query_one(StatusBar))

        async with database_outage(backend, review.db):
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
