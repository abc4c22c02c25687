"""The pane beside a list that shows the selected row whole, and the rows related to it."""

from __future__ import annotations

from rich.console import RenderableType
from textual.containers import VerticalScroll
from textual.widgets import Static


class DetailPane(VerticalScroll):
    """Hidden until shown; the screen hands it what to show."""

    DEFAULT_CSS = """
    DetailPane { width: 50%; border-left: solid $accent; padding: 0 1; display: none; }
    DetailPane.-open { display: block; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self) -> None:
        self.add_class("-open")

    def close(self) -> None:
        self.remove_class("-open")

    def show(self, renderable: RenderableType) -> None:
        self.query_one("#detail-body", Static).update(renderable)
