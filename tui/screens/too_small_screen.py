"""Shown instead of the app while the terminal is too small to draw it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static


class TooSmallScreen(ModalScreen[None]):
    """Says what size the app needs; the app removes it once the terminal is large enough."""

    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; background: $background; }
    TooSmallScreen Static { width: auto; height: auto; text-align: center; }
    """

    def __init__(self, needed: tuple[int, int]) -> None:
        super().__init__()
        self.needed = needed

    def compose(self) -> ComposeResult:
        yield Static(id="message")

    def on_mount(self) -> None:
        self.show_size(self.app.size.width, self.app.size.height)

    def show_size(self, width: int, height: int) -> None:
        need_w, need_h = self.needed
        self.query_one("#message", Static).update(
            f"The terminal is {width}x{height}.\nThe sandbox TUI needs at least "
            f"{need_w}x{need_h}: enlarge the window."
        )
