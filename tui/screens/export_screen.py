"""The export dialog: where to write the shown rows, and as CSV or JSON Lines."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from core.read_models.export import ExportFormat


class ExportScreen(ModalScreen[tuple[ExportFormat, Path] | None]):
    """Asks for a format and a path; dismisses with them, or None when cancelled."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical {
        width: 72; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    ExportScreen Horizontal { height: auto; margin-top: 1; }
    ExportScreen Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, rows: int, stem: str) -> None:
        super().__init__()
        self.rows = rows
        self.stem = stem

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Export the {self.rows:,} rows shown (the filter applies)")
            with RadioSet(id="format"):
                yield RadioButton("CSV", value=True, id="csv")
                yield RadioButton("JSON Lines", id="jsonl")
            yield Input(value=f"{self.stem}.csv", id="path")
            with Horizontal():
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel", id="cancel")

    @on(RadioSet.Changed, "#format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        path = self.query_one("#path", Input)
        suffix = ".jsonl" if self._format() == "jsonl" else ".csv"
        path.value = str(Path(path.value).with_suffix(suffix))

    def _format(self) -> ExportFormat:
        pressed = self.query_one("#format", RadioSet).pressed_button
        return "jsonl" if pressed is not None and pressed.id == "jsonl" else "csv"

    @on(Button.Pressed, "#export")
    @on(Input.Submitted, "#path")
    def _export(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if path:
            self.dismiss((self._format(), Path(path).expanduser()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
