"""CSV as exported in the wild, read record by record with the physical line each starts on.

UTF-8 with or without BOM, CRLF or LF (a lone CR also ends a line), quoted fields holding
commas, quotes and newlines, extra or missing trailing columns. A line that is not valid UTF-8
is decoded as cp1252 and warned about; `encoding` forces one decoding for the whole source.
Blank (empty or whitespace-only) lines are not rows: they are counted apart.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from dncsync.errors import InputError
from dncsync.sources.columns import FIELDS, ColumnMap, headerless, map_columns
from dncsync.sources.spec import SourceSpec

BATCH_ROWS = 65_536
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(slots=True)
class RowBatch:
    """Up to BATCH_ROWS records: one text column per field present, and each record's line."""

    lines: list[int]
    columns: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> list[str] | None:
        """A field's values, or None when the source has no such column."""
        return self.columns.get(name)


class CsvRecords:
    """Reads one source's CSV; counts blank lines and warnings as it goes."""

    def __init__(self, stream: BinaryIO, spec: SourceSpec, batch_rows: int = BATCH_ROWS) -> None:
        self._stream = stream
        self._spec = spec
        self._batch_rows = batch_rows
        self._encoding = _checked_encoding(spec)
        self.blank_lines = 0
        self.rows = 0
        self.warnings: Counter[str] = Counter()
        self.columns: ColumnMap | None = None
        self._line = 0  # physical lines handed to the csv parser so far
        self._last_text = ""

    def batches(self) -> Iterator[RowBatch]:
        """Every data record, in batches, after the header (if any) is mapped to fields."""
        reader = csv.reader(self._text_lines(), strict=False)
        columns = headerless(self._spec) if self._spec.no_header else None
        wanted: list[tuple[str, int]] = []
        if columns is not None:
            self.columns = columns
            wanted = [(name, index) for name, index in columns.indices.items()]
        batch = self._new_batch(wanted)
        previous_end = 0
        for record in self._records(reader):
            start = previous_end + 1
            previous_end = self._line
            if not record or (start == self._line and not self._last_text.strip()):
                self.blank_lines += self._line - start + 1
                continue
            if columns is None:
                columns = self.columns = map_columns(record, self._spec)
                wanted = sorted(columns.indices.items(), key=lambda item: FIELDS.index(item[0]))
                batch = self._new_batch(wanted)
                continue
            self.rows += 1
            width = len(record)
            if width < columns.width and any(index >= width for _, index in wanted):
                self.warnings["short_row"] += 1
            batch.lines.append(start)
            for name, index in wanted:
                batch.columns[name].append(record[index] if index < width else "")
            if len(batch.lines) >= self._batch_rows:
                yield batch
                batch = self._new_batch(wanted)
        if columns is None and not self._spec.no_header:
            raise InputError(f"{self._spec.url}: the source is empty (no header line)")
        if batch.lines:
            yield batch

    def _new_batch(self, wanted: list[tuple[str, int]]) -> RowBatch:
        return RowBatch([], {name: [] for name, _ in wanted})

    def _records(self, reader: Iterator[list[str]]) -> Iterator[list[str]]:
        try:
            yield from reader
        except csv.Error as error:
            raise InputError(
                f"{self._spec.url}: line {self._line}: not readable as CSV ({error})"
            ) from None

    def _text_lines(self) -> Iterator[str]:
        """Physical lines as text, each decoded on its own so one bad line cannot spoil more."""
        head = self._stream.peek(4)[:4] if hasattr(self._stream, "peek") else b""
        if self._encoding is None and head[:2] in _UTF16_BOMS:
            yield from self._wide_lines("utf-16")
            return
        if self._encoding is not None and not _ascii_compatible(self._encoding):
            yield from self._wide_lines(self._encoding)
            return
        first = True
        for raw in self._stream:
            if first:
                first = False
                if raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
            if b"\x00" in raw:
                raise InputError(
                    f"{self._spec.url}: line {self._line + 1}: NUL byte, not a CSV text file"
                )
            for piece in _split_lone_cr(raw):
                self._line += 1
                self._last_text = self._decode(piece)
                yield self._last_text

    def _decode(self, raw: bytes) -> str:
        if self._encoding is not None:
            return raw.decode(self._encoding, errors="replace")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.warnings["cp1252_line"] += 1
            return raw.decode("cp1252", errors="replace")

    def _wide_lines(self, encoding: str) -> Iterator[str]:
        text = io.TextIOWrapper(self._stream, encoding=encoding, errors="replace", newline="")
        for line in text:
            self._line += 1
            self._last_text = line.lstrip("\ufeff") if self._line == 1 else line
            yield self._last_text


def _split_lone_cr(raw: bytes) -> list[bytes]:
    body = raw.rstrip(b"\r\n")
    if b"\r" not in body:
        return [raw]
    pieces = body.split(b"\r")
    return [piece + b"\r" for piece in pieces[:-1]] + [pieces[-1] + raw[len(body) :]]


def _checked_encoding(spec: SourceSpec) -> str | None:
    if spec.encoding is None:
        return None
    try:
        return codecs.lookup(spec.encoding).name
    except LookupError:
        raise InputError(f"unknown encoding {spec.encoding!r}") from None


def _ascii_compatible(encoding: str) -> bool:
    try:
        return '\n,"'.encode(encoding) == b'\n,"'
    except UnicodeError:
        return False
