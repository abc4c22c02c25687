"""Rows out to a file, as CSV or JSON Lines: the TUI's export and ``sandbox activity export``.

Every read model row has ``to_json()``; JSON Lines writes that object per line, CSV one column
per key with nested values (details, payloads) as compact JSON text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, Literal, Protocol, TextIO, get_args

ExportFormat = Literal["csv", "jsonl"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)


class Exportable(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class RowWriter:
    """Writes rows to an open text stream in one format; ``write`` returns the rows written."""

    def __init__(self, stream: TextIO, export_format: ExportFormat) -> None:
        if export_format not in EXPORT_FORMATS:
            raise ValueError(
                f"unknown export format {export_format!r}: use {' or '.join(EXPORT_FORMATS)}"
            )
        self._stream = stream
        self._format = export_format
        self._csv: csv.DictWriter[str] | None = None

    def write(self, rows: Iterable[Exportable]) -> int:
        count = 0
        for row in rows:
            values = row.to_json()
            if self._format == "jsonl":
                self._stream.write(json.dumps(values, separators=(",", ":")) + "\n")
            else:
                if self._csv is None:
                    self._csv = csv.DictWriter(self._stream, fieldnames=list(values))
                    self._csv.writeheader()
                self._csv.writerow({key: _cell(value) for key, value in values.items()})
            count += 1
        return count


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if value is None else value
