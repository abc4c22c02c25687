"""The status line at the bottom of every screen: LIVE or PAUSED, lag, backend, last error."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class Status:
    """What the status line says."""

    #: The screen follows new rows (False: paused, or frozen by a sort).
    live: bool
    #: Rows that arrived while paused.
    new: int
    #: Rows shown, and rows held.
    shown: int
    held: int
    #: Commit to screen of the newest change, in milliseconds.
    lag_ms: float | None
    #: The database, briefly (``sqlite .sandbox/sandbox.db``).
    backend: str
    #: The change feed's or a read's last failure, while it lasts.
    error: str | None = None
    #: Why the view is frozen, or another short remark.
    note: str | None = None


class StatusBar(Static):
    """One line; the screen hands it a new ``Status`` whenever something changes."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, status: Status) -> None:
        line = Text()
        if status.live:
            line.append(" ● LIVE ", style="bold black on green")
        else:
            line.append(" ❚❚ PAUSED ", style="bold black on yellow")
            line.append(f" +{status.new:,} new", style="bold yellow")
            line.append(" (space resumes)")
        if status.note:
            line.append(f"  {status.note}", style="italic")
        shown = f"{status.shown:,}"
        if status.shown != status.held:
            shown += f" of {status.held:,}"
        line.append(f"  {shown} rows")
        if status.lag_ms is not None:
            line.append(f"  lag {status.lag_ms:,.0f} ms")
        line.append(f"  {status.backend}", style="dim")
        if status.error:
            line.append(f"  ⚠ {status.error}", style="bold red")
        self.update(line, layout=False)  # one line whatever it says: no layout needed
