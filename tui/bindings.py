"""Every key of the TUI, in one table: the screens' bindings, the help screen and the command
palette all read it, and a keymap file remaps it by id (``tui.keymap``).

Keys that terminals and tmux take for themselves are avoided (ctrl+s, ctrl+q, ctrl+j, ctrl+o,
ctrl+b, ctrl+z).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding
from textual.keys import format_key

#: Where a key works: everywhere, on the screens that show lists, or on one screen.
Scope = Literal["global", "lists", "activity", "runs", "costs", "plugins"]


@dataclass(frozen=True)
class Key:
    """One action and the keys that run it."""

    id: str
    keys: str
    action: str
    description: str
    scope: Scope
    #: Its short name in the footer; None keeps it out of the footer (help and palette list
    #: every key).
    footer: str | None = None

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.footer or self.description,
            show=self.footer is not None,
            id=self.id,
            tooltip=self.description,
        )


KEYS: tuple[Key, ...] = (
    Key("screen.activity", "1", "app.switch_mode('activity')", "Activity", "global", "Activity"),
    Key("screen.runs", "2", "app.switch_mode('runs')", "Wakeups and runs", "global", "Runs"),
    Key("screen.costs", "3", "app.switch_mode('costs')", "Costs", "global", "Costs"),
    Key(
        "screen.plugins", "4", "app.switch_mode('plugins')", "Plugins and logs", "global", "Plugins"
    ),
    Key("help", "question_mark,f1", "app.help", "Keys and filter syntax", "global", "Help"),
    Key("quit", "q", "app.quit", "Quit", "global"),
    Key("pause", "space", "toggle_pause", "Pause or resume the live view", "lists", "Pause"),
    Key(
        "filter", "slash", "filter", "Filter rows (text, field:value, -negation)", "lists", "Filter"
    ),
    Key("clear", "escape", "clear", "Clear the filter, close the detail pane", "lists"),
    Key("detail", "enter", "detail", "Show the row's details and related rows", "lists", "Details"),
    Key("copy", "y", "copy_row", "Copy the row as JSON", "lists"),
    Key("export", "e", "export", "Export the shown rows to CSV or JSONL", "lists", "Export"),
    Key("sort", "s", "sort", "Sort by the next column", "lists"),
    Key("reverse", "S", "reverse_sort", "Reverse the sort", "lists"),
    Key("follow", "G", "follow", "Go to the newest row and follow", "lists"),
    Key("refresh", "r", "refresh_now", "Read again now", "lists"),
    Key("older", "o", "load_older", "Load older rows", "activity"),
    Key(
        "grouping",
        "g",
        "next_grouping",
        "Group by billing code, agent, subtree, plugin",
        "costs",
        "Group",
    ),
    Key("window", "w", "next_window", "Window: 1 h, 24 h, 7 d, all", "costs", "Window"),
    Key("mode", "d", "toggle_mode", "Interval deltas or cumulative", "costs", "Deltas"),
)

#: Key ids, for keymap files.
KEY_IDS = frozenset(key.id for key in KEYS)


def bindings(*scopes: Scope) -> list[Binding]:
    """The bindings of these scopes, for a ``BINDINGS`` list."""
    return [key.binding() for key in KEYS if key.scope in scopes]


def display_keys(keys: str) -> str:
    """Keys as a person reads them: ``question_mark,f1`` -> ``? f1``."""
    return " ".join("enter" if key == "enter" else format_key(key) for key in keys.split(","))
