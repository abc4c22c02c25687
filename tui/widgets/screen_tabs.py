"""The line at the top naming the four screens and their keys, the current one marked."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

#: (mode, title) of each screen, in key order.
SCREENS = (
    ("activity", "Activity"),
    ("runs", "Wakeups & runs"),
    ("costs", "Costs"),
    ("plugins", "Plugins & logs"),
)


class ScreenTabs(Static):
    """``1 Activity  2 Wakeups & runs  3 Costs  4 Plugins & logs``."""

    DEFAULT_CSS = """
    ScreenTabs { dock: top; height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, current: str, title: str) -> None:
        super().__init__()
        self.current = current
        self.title = title

    def render(self) -> Text:
        line = Text()
        for number, (mode, title) in enumerate(SCREENS, start=1):
            style = "bold reverse" if mode == self.current else "dim"
            line.append(f" {number} {title} ", style=style)
            line.append(" ")
        line.append(f"  {self.title}", style="bold")
        return line
