"""The help screen: every key (as remapped) and the filter syntax."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.bindings import KEYS, display_keys

SCOPE_TITLES = {
    "global": "Everywhere",
    "lists": "Lists",
    "activity": "Activity",
    "runs": "Wakeups and runs",
    "costs": "Costs",
    "plugins": "Plugins",
}

FILTER_HELP = """\
Filters (press / on a list) hide the rows that do not match every term:
  deploy            rows containing "deploy" anywhere (case ignored)
  action:issue.     rows whose action contains "issue."
  -plugin:missions  rows whose plugin does NOT contain "missions" (also !plugin:...)
  "on behalf"       a phrase
Each screen names its fields in the filter line. Escape clears the filter."""


class HelpScreen(ModalScreen[None]):
    """Keys by scope, with their ids for a keymap file (SANDBOX_TUI_KEYMAP)."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96; max-height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", show=False)]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        table = Table(expand=True, box=None, padding=(0, 1))
        table.add_column("Keys", style="bold", no_wrap=True)
        table.add_column("What it does")
        table.add_column("Id (for a keymap)", style="dim", no_wrap=True)
        scope = None
        for key in KEYS:
            if key.scope != scope:
                scope = key.scope
                table.add_row(Text(SCOPE_TITLES[scope], style="bold underline"), "", "")
            keys = self.keymap.get(key.id, key.keys)
            table.add_row(display_keys(keys), key.description, key.id)
        with VerticalScroll():
            yield Static(table)
            yield Static("\n" + FILTER_HELP)
            yield Static(
                "\nMove with the arrows, j/k, page up/down, home/end. ctrl+p opens the command "
                "palette. Escape closes this help."
            )
