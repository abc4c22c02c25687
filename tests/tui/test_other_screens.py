"""The Wakeups and runs, Costs and Plugins screens, on the recorded world, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from textual.widgets import DataTable

from core.costs import record_cost_event
from core.plugin_logs import LogLine, write_lines
from core.unit_of_work import write
from db import tables
from tests.fixtures.review_world import DIGEST_KEY, MISSIONS_KEY, at
from tests.tui.conftest import Review, settle, shown_text, wait_until
from tui.screens.costs_screen import CostsScreen
from tui.screens.plugins_screen import PluginsScreen
from tui.screens.runs_screen import RunsScreen
from tui.widgets.detail_pane import DetailPane

SIZE = (160, 45)


def _now() -> datetime:
    """When a writer changes a row, it stamps ``updated_at`` with its own clock."""
    return datetime.now(UTC)


def _cells(table: DataTable, column: str) -> list[str]:  # type: ignore[type-arg]
    return [str(getattr(cell, "plain", cell)) for cell in table.get_column(column)]


async def test_runs_show_the_queue_and_update_rows_in_place(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RunsScreen)
        wakeups = screen.query_one("#wakeups", DataTable)
        runs = screen.query_one("#runs", DataTable)
        assert _cells(wakeups, "status") == ["queued", "queued", "coalesced", "queued"][::-1]
        assert sorted(_cells(runs, "status")) == ["failed", "running", "succeeded"]
        assert "adapter exited with code 1" in _cells(runs, "error")

        # The agent runner finishes the review run: its row changes where it stands.
        running = next(row for row in screen.runs.records.values() if row.status == "running")
        async with review.db.transaction() as session:
            await session.execute(
                sa.update(tables.heartbeat_runs)
                .where(tables.heartbeat_runs.c.id == running.id)
                .values(status="succeeded", finished_at=_now(), updated_at=_now())
            )
        await wait_until(pilot, lambda: screen.runs.records[running.id].status == "succeeded")
        assert sorted(_cells(runs, "status")) == ["failed", "succeeded", "succeeded"]
        assert runs.row_count == 3

        await pilot.press("enter")
        await settle(pilot)
        text = shown_text(screen.query_one(DetailPane))
        assert "the run it queued" in text or "the wakeup that queued it" in text


async def test_runs_filter_and_pause(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RunsScreen)
        await pilot.press("slash")
        screen.query_one("FilterBar").value = "status:failed"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.runs.row_count == 1
        assert screen.wakeups.row_count == 0

        await pilot.press("space")
        async with review.db.transaction() as session:
            await session.execute(
                sa.update(tables.heartbeat_runs)
                .where(tables.heartbeat_runs.c.status == "running")
                .values(status="failed", error="stopped", updated_at=_now())
            )
        await wait_until(pilot, lambda: screen.status().new == 1)
        assert screen.runs.row_count == 1  # paused: nothing moves
        await pilot.press("space")
        await wait_until(pilot, lambda: screen.runs.row_count == 2)


async def test_costs_roll_up_and_follow_new_cost_events(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CostsScreen)
        groups = screen.query_one("#groups", DataTable)
        assert _cells(groups, "group") == ["mission:launch", "(no billing code)", "mission:digest"]
        assert _cells(groups, "cost") == ["$6.45", "$1.20", "$0.40"]
        title = shown_text(screen.query_one("#costs-title"))
        assert "window 24h" in title and "total $8.05" in title
        incidents = screen.query_one("#incidents", DataTable)
        assert _cells(incidents, "observed") == ["$15.05"]

        await pilot.press("g")  # by agent
        await settle(pilot)
        assert _cells(groups, "group") == ["Engineer", "Reviewer"]
        await pilot.press("w")  # 7 days: the 50-hour-old event counts too
        await settle(pilot)
        assert _cells(groups, "cost") == ["$13.70", "$1.35"]
        await pilot.press("g", "g")  # by plugin (the issues it created)
        await settle(pilot)
        assert _cells(groups, "group") == [MISSIONS_KEY, "(not from a plugin)"]
        assert _cells(groups, "cost") == ["$13.45", "$1.60"]
        await pilot.press("w", "w")  # all, then the last hour
        await pilot.press("d")  # interval deltas: the newest five minutes only
        await settle(pilot)
        assert "interval deltas" in shown_text(screen.query_one("#costs-title"))
        assert _cells(groups, "cost") == ["$0.00", "$0.00"]

        async with write(review.db, None) as unit:
            await record_cost_event(
                unit,
                company_id=review.world.company_id,
                agent_id=review.world.engineer_id,
                provider="anthropic",
                model="claude-sonnet",
                cost_cents=1_234,
                issue_id=review.world.root_issue_id,
                occurred_at=at(59.5),
            )
        await wait_until(pilot, lambda: _cells(groups, "cost")[0] == "$12.34")


async def test_plugins_show_status_capabilities_and_logs(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, PluginsScreen)
        plugins = screen.query_one("#plugins", DataTable)
        assert _cells(plugins, "plugin") == [MISSIONS_KEY, DIGEST_KEY]
        assert _cells(plugins, "status") == ["ready", "error"]
        assert _cells(plugins, "refused") == ["5", "0"]
        assert _cells(plugins, "last error")[1] == "Worker stopped restarting: exit code 1"
        capabilities = screen.query_one("#capabilities", DataTable)
        verdicts = dict(
            zip(_cells(capabilities, "capability"), _cells(capabilities, "verdict"), strict=True)
        )
        assert verdicts["issues.create"] == "used"
        assert verdicts["plugin.state.read"] == "unused"
        assert verdicts["issues.update"] == "refused"
        assert verdicts["ui.page.register"] == "declaration"
        messages = [line.message for line in screen.logs.visible]
        assert messages[-1] == "mission progress 3/5"
        assert len(messages) == 5

        await write_lines(review.db, [LogLine(review.world.missions_id, "error", "boom now")])
        await wait_until(pilot, lambda: screen.logs.visible[-1].message == "boom now")
        await wait_until(pilot, lambda: _cells(plugins, "error")[0] == "1")

        await pilot.press("down")  # the digest plugin: its own log
        await wait_until(
            pilot,
            lambda: (
                [r.message for r in screen.logs.visible][-1:] == ["digest failed: token expired"]
            ),
        )


async def test_a_terminal_too_small_gets_a_message_until_it_grows(review: Review) -> None:
    async with review.app().run_test(size=(60, 15)) as pilot:
        await settle(pilot)
        text = shown_text(pilot.app.screen)
        assert "The terminal is 60x15" in text and "needs at least 80x20" in text
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert pilot.app.screen.__class__.__name__ == "ActivityScreen"


async def test_clicking_a_table_title_sorts_it(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RunsScreen)
        runs = screen.query_one("#runs", DataTable)
        status_title = runs.get_column_index("status")
        x = sum(column.get_render_width(runs) for column in runs.ordered_columns[:status_title])
        await pilot.click("#runs", offset=(x + 2, 0))
        await settle(pilot)
        assert _cells(runs, "status") == ["failed", "running", "succeeded"]
        await pilot.click("#runs", offset=(x + 2, 0))
        await settle(pilot)
        assert _cells(runs, "status") == ["succeeded", "running", "failed"]
