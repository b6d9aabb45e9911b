"""`.xlsx` sources: the first sheet (or the one named), read as CSV rows are.

A workbook is a zip archive, read whole (python-calamine, a Rust reader: measured several
times faster than openpyxl's read-only mode, docs/benchmarks.md). The first non-empty row is
the header, mapped through the same aliases and options as a CSV header; every later row is a
record whose line is its row number in the sheet (1-based, as the spreadsheet shows it). A row
whose cells are all empty is blank, as an empty CSV line is.

Cells become the text a CSV export of the sheet would hold: text as it is, a whole number
without `.0` (a phone the spreadsheet took for a number: 4155552674, never 4.155552674E+9),
other numbers as Python writes them, dates as ISO 8601, booleans as TRUE and FALSE.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from dncsync.errors import InputError
from dncsync.sources.columns import ColumnMap, map_columns, order
from dncsync.sources.records import BATCH_ROWS, RowBatch
from dncsync.sources.spec import SourceSpec

ZIP_MAGIC = b"PK\x03\x04"
# Excel holds 1,048,576 rows and 16,384 columns: a workbook is read whole, so its size is capped
# at what a real export could be.
MAX_SHEET_BYTES = 512 << 20


def is_sheet(stream: BinaryIO) -> bool:
    """Whether a source's content is a zip archive (an .xlsx workbook)."""
    peek = getattr(stream, "peek", None)
    return callable(peek) and bytes(peek(4))[:4] == ZIP_MAGIC


def cell_text(value: object) -> str:
    """A cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat() if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


class SheetRecords:
    """Reads one workbook's sheet; counts blank rows as it goes (the CsvRecords interface)."""

    def __init__(self, stream: BinaryIO, spec: SourceSpec, batch_rows: int = BATCH_ROWS) -> None:
        self._stream = stream
        self._spec = spec
        self._batch_rows = batch_rows
        self.columns: ColumnMap | None = None
        self.rows = 0
        self.blank_lines = 0
        self.block_batches = 0
        self.warnings: Counter[str] = Counter()
        self._warned: list[tuple[int, str, str]] = []

    def take_warned(self) -> list[tuple[int, str, str]]:
        """The reader's warnings not yet handed out with a batch, as (line, kind, detail)."""
        warned, self._warned = self._warned, []
        return warned

    def batches(self) -> Iterator[RowBatch]:
        """Every record after the header, in batches of columns, each with its sheet row."""
        from python_calamine import CalamineError, CalamineWorkbook

        data = self._stream.read(MAX_SHEET_BYTES + 1)
        label = self._spec.url
        if len(data) > MAX_SHEET_BYTES:
            raise InputError(f"{label}: a workbook larger than 512 MiB is not a DNC export")
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            names = book.sheet_names
            if self._spec.sheet is None:
                if not names:
                    raise InputError(f"{label}: the workbook has no sheet")
                sheet = book.get_sheet_by_index(0)
            elif self._spec.sheet in names:
                sheet = book.get_sheet_by_name(self._spec.sheet)
            else:
                shown = ", ".join(repr(n) for n in names[:12])
                raise InputError(f"{label}: no sheet named {self._spec.sheet!r} (it has {shown})")
            first_row = sheet.start[0] if sheet.start is not None else 0
            rows = sheet.iter_rows()
            yield from self._read(rows, first_row + 1)
        except CalamineError as error:
            raise InputError(
                f"{label}: not a CSV file, and not a readable .xlsx workbook ({error})"
            ) from None
        except (ValueError, KeyError, OSError) as error:  # a zip that is not a workbook
            raise InputError(
                f"{label}: not a CSV file, and not a readable .xlsx workbook ({error})"
            ) from None
        if self.columns is None:
            raise InputError(f"{label}: the sheet is empty (no header row)")

    def _read(self, rows: Iterator[Sequence[object]], first: int) -> Iterator[RowBatch]:
        wanted: list[tuple[str, int]] = []
        lines: list[int] = []
        values: dict[str, list[str]] = {}
        for number, cells in enumerate(rows, start=first):
            texts = [cell_text(cell) for cell in cells]
            if not any(text.strip() for text in texts):
                self.blank_lines += 1
                continue
            if self.columns is None:
                self.columns = map_columns(texts, self._spec)
                wanted = sorted(self.columns.indices.items(), key=lambda item: order(item[0]))
                values = {name: [] for name, _ in wanted}
                continue
            self.rows += 1
            lines.append(number)
            for name, index in wanted:
                values[name].append(texts[index] if index < len(texts) else "")
            if len(lines) >= self._batch_rows:
                yield _batch(lines, values)
                lines, values = [], {name: [] for name, _ in wanted}
        if lines:
            yield _batch(lines, values)


def _batch(lines: list[int], values: dict[str, list[str]]) -> RowBatch:
    return RowBatch(
        np.array(lines, dtype=np.int64),
        {name: pa.array(column, pa.string()) for name, column in values.items()},
    )
