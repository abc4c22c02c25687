"""SVG snapshots of each screen, from the recorded world, on both backends.

``pytest tests/tui/test_snapshots.py --snapshot-update`` accepts changed screens after a look at
the report. The README shows these files.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.conftest import Review, settle

SIZE = (160, 45)


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param((), id="activity"),
        pytest.param(("2",), id="runs"),
        pytest.param(("3",), id="costs"),
        pytest.param(("4",), id="plugins"),
        pytest.param(("enter",), id="activity-detail"),
        pytest.param(("question_mark",), id="help"),
    ],
)
def test_screen(review: Review, snap_compare: Any, keys: tuple[str, ...]) -> None:
    async def show(pilot: Any) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        pilot.app.lag_ms = None  # the only figure that depends on the moment

    assert snap_compare(review.app(), run_before=show, terminal_size=SIZE)
