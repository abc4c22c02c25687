"""The Activity screen, driven with Textual's Pilot on the recorded world, on both backends."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from textual.widgets import Input

from core.activity import record_activity
from core.unit_of_work import write
from tests.fixtures.review_world import MISSIONS_KEY
from tests.tui.conftest import Review, settle, shown_text, wait_until
from tui.screens.activity_screen import ActivityScreen
from tui.screens.export_screen import ExportScreen
from tui.screens.help_screen import HelpScreen
from tui.widgets.detail_pane import DetailPane
from tui.widgets.filter_bar import FilterBar
from tui.widgets.status_bar import StatusBar

SIZE = (160, 45)
RECORDED_ROWS = 16


def _screen(pilot) -> ActivityScreen:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    assert isinstance(screen, ActivityScreen)
    return screen


def _actions(pilot) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.action for row in _screen(pilot).buffer.visible]


def _status_line(pilot) -> str:  # type: ignore[no-untyped-def]
    return shown_text(pilot.app.screen.query_one(StatusBar))


async def _filter(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("slash")
    bar = pilot.app.screen.query_one(FilterBar)
    bar.value = text
    await pilot.press("enter")
    await settle(pilot)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


async def _log(review: Review, action: str, count: int = 1) -> None:
    """Activity rows written by the host (another connection than the viewer's)."""
    async with write(review.db, None) as unit:
        for _ in range(count):
            await record_activity(
                unit,
                company_id=review.world.company_id,
                actor_type="system",
                actor_id="test",
                action=action,
                entity_type="thing",
                entity_id="t-1",
            )


async def test_the_recorded_rows_show_oldest_first_and_the_list_follows(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _screen(pilot)
        assert len(screen.buffer.visible) == RECORDED_ROWS
        assert _actions(pilot)[0] == "issue.created"
        assert _actions(pilot)[-1] == "issue.comment.created"
        assert screen.query_one("LiveList").cursor == RECORDED_ROWS - 1
        assert "LIVE" in _status_line(pilot)
        assert f"{RECORDED_ROWS} rows" in _status_line(pilot)


async def test_filters_hide_rows(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _filter(pilot, "action:issue.created")
        assert _actions(pilot) == ["issue.created"] * 5
        assert f"5 of {RECORDED_ROWS} rows" in _status_line(pilot)

        await _filter(pilot, "action:issue.created -plugin:missions")
        (row,) = _screen(pilot).buffer.visible
        assert (row.actor_type, row.identifier) == ("user", "ACM-4")

        await _filter(pilot, '"two nits"')
        assert _actions(pilot) == ["issue.comment.created"]

        await _filter(pilot, "!cost_event")
        assert "cost_event.created" not in _actions(pilot)
        assert len(_actions(pilot)) == RECORDED_ROWS - 2

        await _filter(pilot, "colour:red")
        bar = pilot.app.screen.query_one(FilterBar)
        assert "no field 'colour' here" in str(bar.border_title)
        assert len(_actions(pilot)) == RECORDED_ROWS - 2  # the last good filter still applies

        await pilot.press("escape")
        await settle(pilot)
        assert len(_actions(pilot)) == RECORDED_ROWS


async def test_pause_counts_new_rows_and_resume_shows_them(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await _log(review, "late.arrival", 3)
        screen = _screen(pilot)
        await wait_until(pilot, lambda: screen.buffer.pending == 3)
        assert len(screen.buffer.visible) == RECORDED_ROWS
        assert "PAUSED" in _status_line(pilot)
        assert "+3 new" in _status_line(pilot)

        await pilot.press("space")
        await settle(pilot)
        assert _actions(pilot)[-3:] == ["late.arrival"] * 3
        assert "LIVE" in _status_line(pilot)
        # Live again: the next row shows as it comes.
        await _log(review, "later.still")
        await wait_until(pilot, lambda: _actions(pilot)[-1] == "later.still")
        assert screen.query_one("LiveList").cursor == len(screen.buffer.visible) - 1


async def test_moving_up_pauses_and_end_follows_again(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _screen(pilot)
        await pilot.press("up", "up")
        assert screen.buffer.paused
        assert screen.query_one("LiveList").row.action == "cost_event.created"
        await _log(review, "while.reading")
        await wait_until(pilot, lambda: screen.buffer.pending == 1)
        await pilot.press("end")
        await settle(pilot)
        assert not screen.buffer.frozen
        assert _actions(pilot)[-1] == "while.reading"


async def test_sorting_freezes_the_list_and_resume_restores_time_order(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _screen(pilot)
        await pilot.press("s")  # actor
        await pilot.press("s")  # action
        await settle(pilot)
        assert _actions(pilot) == sorted(_actions(pilot))
        assert "sorted by action" in _status_line(pilot)
        await pilot.press("S")
        assert _actions(pilot) == sorted(_actions(pilot), reverse=True)
        await pilot.press("space")
        await settle(pilot)
        times = [row.created_at for row in screen.buffer.visible]
        assert times == sorted(times)


async def test_export_writes_exactly_the_filtered_rows(review: Review, tmp_path: Path) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _filter(pilot, f"plugin:{MISSIONS_KEY}")
        shown = [row.id for row in _screen(pilot).buffer.visible]
        assert len(shown) == 9

        for export_format, name in (("csv", "rows.csv"), ("jsonl", "rows.jsonl")):
            await pilot.press("e")
            await settle(pilot)
            dialog = pilot.app.screen
            assert isinstance(dialog, ExportScreen)
            if export_format == "jsonl":
                await pilot.click("#jsonl")
            dialog.query_one("#path", Input).value = str(tmp_path / name)
            await pilot.click("#export")
            await wait_until(pilot, lambda name=name: _lines(tmp_path / name) >= len(shown))

        with (tmp_path / "rows.csv").open() as stream:
            rows = list(csv.DictReader(stream))
        assert [row["id"] for row in rows] == shown
        assert {row["pluginKey"] for row in rows} == {MISSIONS_KEY}
        assert json.loads(rows[0]["details"])["sourcePluginKey"] == MISSIONS_KEY
        lines = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
        assert [line["id"] for line in lines] == shown


async def test_the_detail_pane_shows_the_row_and_what_it_concerns(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _filter(pilot, "action:relations")
        await pilot.press("enter")
        await settle(pilot)
        pane = pilot.app.screen.query_one(DetailPane)
        assert pane.is_open
        text = shown_text(pane)
        (row,) = _screen(pilot).buffer.visible
        assert row.id in text
        assert "Review the brief" in text  # the issue it concerns
        assert "blockedByIssueIds" in text  # the details
        assert "issue.created" in text  # another row of the same issue
        await pilot.press("escape")
        await settle(pilot)  # the first escape clears the filter...
        await pilot.press("escape")
        assert not pane.is_open  # ...the second closes the pane


async def test_copy_puts_the_row_on_the_clipboard(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        copied = json.loads(pilot.app.clipboard)
        assert copied["action"] == "issue.comment.created"
        assert copied["identifier"] == "ACM-3"


async def test_palette_entries_show_their_keys_and_run_their_actions(review: Review) -> None:
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = {
            command.title: command for command in pilot.app.get_system_commands(pilot.app.screen)
        }
        assert "Pause or resume the live view  (space)" in commands
        assert "Export the shown rows to CSV or JSONL  (e)" in commands
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"pause or resume")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert _screen(pilot).buffer.paused


async def test_help_lists_every_key_with_its_id(review: Review) -> None:
    async with review.app(keymap={"pause": "p"}).run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        text = shown_text(help_screen)
        assert "Pause or resume the live view" in text
        assert "pause" in text and "screen.costs" in text
        assert "-plugin:missions" in text  # the filter syntax
        await pilot.press("escape")
        # The remapped key pauses; the default no longer does.
        await pilot.press("space")
        assert not _screen(pilot).buffer.paused
        await pilot.press("p")
        assert _screen(pilot).buffer.paused


async def test_a_plugin_scope_shows_only_that_plugin(review: Review) -> None:
    from dataclasses import replace

    from core.plugin_registry import find_plugin

    plugin = await find_plugin(review.db, MISSIONS_KEY)
    review.scope = replace(review.scope, plugin=plugin)
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = _screen(pilot).buffer.visible
        assert len(rows) == 9
        assert {row.plugin_key for row in rows} == {MISSIONS_KEY}
        await _log(review, "not.the.plugin")
        await pilot.pause(0.3)
        assert len(_screen(pilot).buffer.visible) == 9


async def test_a_long_log_opens_at_its_newest_row_and_older_pages_load(review: Review) -> None:
    from tui.screens.activity_screen import FIRST_ROWS

    await _log(review, "filler", 300)
    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _screen(pilot)
        rows = screen.query_one("LiveList")
        assert len(screen.buffer.visible) == FIRST_ROWS
        assert rows.cursor == FIRST_ROWS - 1
        assert rows.max_scroll_y > 0
        assert rows.scroll_offset.y == rows.max_scroll_y  # the newest rows are on screen

        await pilot.press("o")  # older rows: the rest, in one page
        await wait_until(pilot, lambda: len(screen.buffer.visible) == RECORDED_ROWS + 300)
        assert screen.buffer.paused  # reading history pauses the live view
        assert _actions(pilot)[0] == "issue.created"
        await wait_until(pilot, lambda: "all older rows loaded" in _status_line(pilot))


async def test_clicking_a_title_sorts_by_its_column(review: Review) -> None:
    from tui.widgets.live_list import ListHeader

    async with review.app().run_test(size=SIZE) as pilot:
        await settle(pilot)
        action_title = 18 + 1 + 24 + 1 + 2  # inside "action", after "time" and "actor"
        await pilot.click(ListHeader, offset=(action_title, 0))
        await settle(pilot)
        assert _actions(pilot) == sorted(_actions(pilot))
        assert "sorted by action" in _status_line(pilot)
        await pilot.click(ListHeader, offset=(action_title, 0))
        await settle(pilot)
        assert _actions(pilot) == sorted(_actions(pilot), reverse=True)
        await pilot.click(ListHeader, offset=(2, 0))  # "time": back to time order, live
        await settle(pilot)
        assert "LIVE" in _status_line(pilot)
