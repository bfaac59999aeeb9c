"""Every CSV o11y writes (export, SQL, the usage page's table): one writer, so every cell follows the same rules.

- A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front (OWASP's rule against
  CSV injection): a spreadsheet shows such a cell instead of running it as a formula. Numbers are left as they are.
- Arrays, maps and tuples are one JSON text (`["function:read_file","function:search_files"]`).
- Text is quoted, numbers are not, booleans are `true`/`false`, NULL is an empty cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str | int | float:
    """One value as the CSV writer takes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """The rows (the header is a row of names) as CSV lines."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerows([cell(value) for value in row] for row in rows)
    return out.getvalue()


class JsonRowsToCsv:
    """ClickHouse's `JSONCompactEachRow` (one JSON array a line), fed in chunks cut anywhere, as CSV."""

    def __init__(self) -> None:
        self._rest = b""
        self._decoder = msgspec.json.Decoder()

    def feed(self, data: bytes) -> bytes:
        """The CSV of the whole lines so far; a line cut at the end of `data` waits for the next chunk."""
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        return self._lines(data[:cut])

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        return self._lines(rest)

    def _lines(self, data: bytes) -> bytes:
        if not data.strip():
            return b""
        return csv_text(self._decoder.decode_lines(data)).encode()


def json_rows_to_csv(data: bytes) -> bytes:
    """A whole `JSONCompactEachRowWithNames` answer (names first) as CSV with a header."""
    converter = JsonRowsToCsv()
    return converter.feed(data) + converter.finish()
