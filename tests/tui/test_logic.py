"""The TUI's plain logic, without a terminal: filters, the row buffer, keys and keymaps,
formatting. (The screens are tested with Pilot in the other modules.)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.bindings import KEY_IDS, KEYS, display_keys
from tui.filters import FilterError, FilterFields, parse_filter
from tui.formatting import count, duration, money, short_id, sparkline
from tui.keymap import KeymapError, load_keymap
from tui.row_buffer import RowBuffer, Sort

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Row:
    id: str
    kind: str
    text: str


FIELDS = FilterFields[Row](
    fields={"kind": lambda row: row.kind}, haystack=lambda row: f"{row.kind} {row.text}"
)


def _passing(text: str, rows: list[Row]) -> list[str]:
    row_filter = parse_filter(text, FIELDS.fields)
    keep = FIELDS.predicate(row_filter)
    return [row.id for row in rows if keep(row)]


class TestFilters:
    rows = [
        Row("1", "issue.created", "Launch the mission"),
        Row("2", "issue.updated", "Write the brief"),
        Row("3", "cost_event.created", "Sonnet call"),
    ]

    @pytest.mark.parametrize(
        ("text", "kept"),
        [
            ("", ["1", "2", "3"]),
            ("mission", ["1"]),
            ("MISSION", ["1"]),
            ("kind:issue", ["1", "2"]),
            ("-kind:issue", ["3"]),
            ("!kind:issue", ["3"]),
            ('"the brief"', ["2"]),
            ("kind:created -mission", ["3"]),
            ("-", []),  # a lone dash is free text, and no row contains one
        ],
    )
    def test_terms(self, text: str, kept: list[str]) -> None:
        assert _passing(text, self.rows) == kept

    def test_mistakes(self) -> None:
        with pytest.raises(FilterError, match="no field 'colour' here: filter by kind"):
            parse_filter("colour:red", FIELDS.fields)
        with pytest.raises(FilterError, match="unclosed quote"):
            parse_filter('"open', FIELDS.fields)
        # "a:" with no value, and anything quoted, are free text
        terms = parse_filter('a: "http://x" -"kind:no"', FIELDS.fields).terms
        assert [(t.field, t.value, t.negated) for t in terms] == [
            (None, "a:", False),
            (None, "http://x", False),
            (None, "kind:no", True),
        ]


class TestRowBuffer:
    def _rows(self, *ids: str) -> list[Row]:
        return [Row(i, "k", i) for i in ids]

    def test_keeps_capacity_newest_and_each_row_once(self) -> None:
        buffer = RowBuffer[Row](capacity=3, row_id=lambda row: row.id)
        assert buffer.add(self._rows("1", "2")) == 2
        assert buffer.add(self._rows("2", "3", "4")) == 2
        assert [row.id for row in buffer.visible] == ["2", "3", "4"]
        assert buffer.add(self._rows("1")) == 1  # evicted ids may come again
        assert [row.id for row in buffer.rows] == ["3", "4", "1"]

    def test_pause_holds_arrivals_until_resume(self) -> None:
        buffer = RowBuffer[Row](capacity=10, row_id=lambda row: row.id)
        buffer.add(self._rows("1"))
        buffer.pause()
        buffer.add(self._rows("2", "3"))
        assert (buffer.pending, [r.id for r in buffer.visible]) == (2, ["1"])
        buffer.resume()
        assert (buffer.pending, [r.id for r in buffer.visible]) == (0, ["1", "2", "3"])

    def test_filter_sort_and_older_pages(self) -> None:
        buffer = RowBuffer[Row](capacity=10, row_id=lambda row: row.id)
        buffer.add([Row("3", "b", "x"), Row("4", "a", "y")])
        shifted = buffer.add_older([Row("2", "a", "z"), Row("1", "b", "w")])  # newest first
        assert shifted == 2
        assert [row.id for row in buffer.visible] == ["1", "2", "3", "4"]
        buffer.set_filter(lambda row: row.kind == "a")
        assert [row.id for row in buffer.visible] == ["2", "4"]
        buffer.sort_by(Sort("text", lambda row: row.text, reverse=True))
        assert buffer.frozen
        buffer.add([Row("5", "a", "v")])
        assert [row.id for row in buffer.visible] == ["2", "4"]
        assert buffer.pending == 1
        buffer.resume()
        assert [row.id for row in buffer.visible] == ["2", "4", "5"]

    def test_older_rows_that_do_not_fit_are_not_taken(self) -> None:
        buffer = RowBuffer[Row](capacity=3, row_id=lambda row: row.id)
        buffer.add(self._rows("5", "6"))
        assert buffer.add_older(self._rows("4", "3", "2")) == 1
        assert [row.id for row in buffer.visible] == ["4", "5", "6"]


class TestKeys:
    def test_ids_are_unique_and_keys_readable(self) -> None:
        assert len(KEY_IDS) == len(KEYS)
        assert display_keys("question_mark,f1") == "? f1"
        assert display_keys("slash") == "/"

    def test_keys_that_terminals_and_tmux_take_are_not_used(self) -> None:
        taken = {"ctrl+s", "ctrl+q", "ctrl+j", "ctrl+o", "ctrl+b", "ctrl+z"}
        used = {key for entry in KEYS for key in entry.keys.split(",")}
        assert not used & taken

    def test_the_readme_lists_every_key(self) -> None:
        """Guards the README's key table against drift from the one table of keys."""
        readme = (ROOT / "README.md").read_text()
        table = readme[readme.index("| keys | what | id |") :].split("\n\n", 1)[0]
        listed = set(re.findall(r"`([a-z.]+)`", table))
        assert listed >= KEY_IDS

    def test_keymap_files(self, tmp_path: Path) -> None:
        assert load_keymap(None) == {}
        good = tmp_path / "keys.toml"
        good.write_text('pause = "p"\nfilter = "slash, f"\n')
        assert load_keymap(good) == {"pause": "p", "filter": "slash,f"}
        for text, message in (
            ('boom = "b"', "names unknown key ids boom; known ids: clear, copy"),
            ("pause = 3", "maps pause to 3: give a string of keys"),
            ("pause = ", "is not valid TOML"),
        ):
            bad = tmp_path / "bad.toml"
            bad.write_text(text)
            with pytest.raises(KeymapError, match=re.escape(message)):
                load_keymap(bad)
        with pytest.raises(KeymapError, match="cannot read the keymap"):
            load_keymap(tmp_path / "missing.toml")


def test_formatting() -> None:
    assert money(123456) == "$1,234.56"
    assert money(-5) == "-$0.05"
    assert count(12_345) == "12,345"
    assert count(12_345_678) == "12.3M"
    assert short_id("5720dcd1-433d-5253-98e1-24df2d67e476") == "5720dcd1"
    assert short_id(None) == "-"
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([0, 0]) == "  "
    assert [duration(s) for s in (None, 0.85, 12.4, 185, 7200, 7500)] == [
        "-",
        "850 ms",
        "12.4 s",
        "3 min 05 s",
        "2 h",
        "2 h 05 min",
    ]
