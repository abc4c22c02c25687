"""How values read on screen: times, short ids, money, token counts, sparklines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

_BARS = " ▁▂▃▄▅▆▇█"


def when(value: datetime | None) -> str:
    """A timestamp in local time, to the millisecond: ``12-05 14:03:07.412``."""
    if value is None:
        return "-"
    return value.astimezone().strftime("%m-%d %H:%M:%S.%f")[:-3]


def when_short(value: datetime | None) -> str:
    """A timestamp in local time, to the minute, for narrow columns: ``12-05 14:03``."""
    return "-" if value is None else value.astimezone().strftime("%m-%d %H:%M")


def short_id(value: str | None) -> str:
    """The first 8 characters of an id (as Paperclip's UI shortens run ids)."""
    return "-" if not value else value[:8]


def money(cents: int) -> str:
    """Cents as dollars: ``$1,234.56``."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def count(value: int) -> str:
    """A count with thousands separators; large ones shortened (``1.2M``)."""
    if value >= 10_000_000:
        return f"{value / 1_000_000:.1f}M"
    return f"{value:,}"


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest: ``▁▃█ ▂``."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    return "".join(_BARS[0 if v <= 0 else max(1, round(v / top * 8))] for v in values)


def duration(seconds: float | None) -> str:
    """``850 ms``, ``12.4 s``, ``3 min 05 s``, ``2 h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
