"""The input line for filters: opens on ``/``, filters as you type, ``escape`` clears it."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Input

from tui.messages import FilterSubmitted

#: Seconds of quiet typing before the filter applies.
TYPING_PAUSE = 0.15


class FilterBar(Input):
    """Hidden until opened; posts ``FilterSubmitted`` with the text to apply."""

    DEFAULT_CSS = """
    FilterBar { display: none; border: tall $accent; }
    FilterBar.-open { display: block; }
    """
    BINDINGS = [Binding("escape", "clear", "Clear the filter", show=False)]

    def __init__(self, fields: str) -> None:
        super().__init__(
            placeholder=f'filter: words, {fields}, -negation, "a phrase"  (escape clears)'
        )
        self._timer: Timer | None = None

    def open(self) -> None:
        self.add_class("-open")
        self.focus()

    def action_clear(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.post_message(FilterSubmitted("", final=True))

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(TYPING_PAUSE, self._apply)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        if not self.value:
            self.remove_class("-open")
        self.post_message(FilterSubmitted(self.value, final=True))

    def _apply(self) -> None:
        self.post_message(FilterSubmitted(self.value))
