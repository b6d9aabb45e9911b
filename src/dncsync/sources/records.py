"""CSV as exported in the wild, read record by record with the physical line each starts on.

UTF-8 with or without BOM, CRLF or LF (a lone CR also ends a line), quoted fields holding
commas, quotes and newlines, extra or missing trailing columns. A line that is not valid UTF-8
is decoded as cp1252 and warned about; `encoding` forces one decoding for the whole source.
Blank (empty or whitespace-only) lines are not rows: they are counted apart.

Two readers give the same records. The exact reader decodes each physical line on its own and
hands it to Python's `csv` module: it defines the behaviour above. The block reader takes the
stream a few megabytes of whole lines at a time and parses a block with pyarrow's CSV reader,
but only when the block is proven to read the same way: valid UTF-8, no NUL, no lone CR, every
row as wide as the header, no whitespace-only line, and every line holding a quote read by the
exact reader to the same fields within that one line. Any other block goes to the exact reader
(which may run on past the block's end to finish a quoted record), so correctness never
depends on the block reader; it only makes the common case fast.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from dncsync.columnar import kernels
from dncsync.errors import InputError
from dncsync.sources import dialect
from dncsync.sources.columns import ColumnMap, headerless, map_columns, order
from dncsync.sources.spec import SourceSpec

BATCH_ROWS = 65_536  # records per batch from the exact reader
BLOCK_BYTES = 3 << 20  # bytes per block for the block reader (with four threads at work,
# a few blocks' worth of arrays is alive at once: larger blocks add to peak RSS, not speed)
FIRST_BLOCK_BYTES = 256 << 10  # then doubling up to BLOCK_BYTES
# The longest physical line read: a DNC record is a few hundred bytes, and the csv module
# refuses a field over 128 KiB anyway. A longer line (a file with no line ends, a gzip bomb
# of one line) stops the read, so memory stays bounded whatever the input.
MAX_LINE_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BEYOND = "\ue000"  # a line after the one checked: a field holding it ran past its line
# Forced encodings that read ASCII bytes as ASCII, so an ASCII block reads the same in them.
_ASCII_SAME = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"})

Lines = npt.NDArray[np.int64]


@dataclass(slots=True)
class RowBatch:
    """Records read together: one text column per field present, and each record's line.

    The phone column is a StringArray; other columns may come dictionary-encoded. `warned`
    holds the reader's warnings met since the batch before, as (line, kind, detail).
    """

    lines: Lines
    columns: dict[str, pa.Array] = field(default_factory=dict)
    warned: list[tuple[int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> pa.Array | None:
        """A field's values, or None when the source has no such column."""
        return self.columns.get(name)


class LineTooLong(Exception):
    """A physical line longer than the reader's cap (an InputError by the time it is seen)."""


class _Blocks:
    """The stream as blocks of whole lines, or line by line for the exact reader.

    No line longer than `max_line` bytes (at least `size`) is held: LineTooLong instead.
    """

    def __init__(self, stream: BinaryIO, size: int, max_line: int = MAX_LINE_BYTES) -> None:
        self._stream = stream
        self._size = size
        self._max_line = max(max_line, size)
        self._buffer = b""
        self._position = 0
        self._eof = False

    def _fill(self) -> bool:
        chunk = b"" if self._eof else self._stream.read(self._size)
        if not chunk:
            self._eof = True
            return False
        self._buffer = self._buffer[self._position :] + chunk
        self._position = 0
        return True

    def block(self, size: int | None = None) -> bytes:
        """The next whole lines, at most `size` bytes (default: the reading size) unless one
        line is longer; the last block may lack its newline."""
        want = size or self._size
        while True:
            if len(self._buffer) - self._position >= want or self._eof:
                end = self._position + want
                cut = self._buffer.rfind(b"\n", self._position, end)
                if cut < 0:  # a line longer than `want`: up to its end
                    cut = self._buffer.find(b"\n", end)
                    if cut < 0 and len(self._buffer) - self._position > self._max_line:
                        raise LineTooLong
                if cut >= 0:
                    break
            if not self._fill():
                cut = len(self._buffer) - 1
                break
        if cut + 1 - self._position > self._max_line:  # one line, longer than the cap
            raise LineTooLong
        block = self._buffer[self._position : cut + 1]
        self._position = cut + 1
        return block

    def line(self) -> bytes:
        """The next physical line (split on LF), b"" at the end."""
        while True:
            cut = self._buffer.find(b"\n", self._position)
            if cut >= 0 or len(self._buffer) - self._position > self._max_line:
                break
            if not self._fill():
                break
        end = len(self._buffer) if cut < 0 else cut + 1
        if end - self._position > self._max_line:
            raise LineTooLong
        line = self._buffer[self._position : end]
        self._position = end
        return line

    def unread(self, size: int) -> None:
        """Give back the last `size` bytes of the block just taken (a record it cut short)."""
        assert 0 <= size <= self._position
        self._position -= size

    def take(self, size: int) -> bytes:
        """Up to `size` next bytes, b"" at the end."""
        if self._position >= len(self._buffer) and not self._fill():
            return b""
        taken = self._buffer[self._position : self._position + size]
        self._position += len(taken)
        return taken

    def peek(self, size: int) -> bytes:
        """The next `size` bytes without consuming them."""
        while len(self._buffer) - self._position < size and self._fill():
            pass
        return self._buffer[self._position : self._position + size]


class CsvRecords:
    """Reads one source's CSV; counts blank lines and warnings as it goes."""

    def __init__(
        self,
        stream: BinaryIO,
        spec: SourceSpec,
        batch_rows: int = BATCH_ROWS,
        block_bytes: int | None = None,  # default: BLOCK_BYTES
        blocks: bool = True,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self._stream = stream
        self._spec = spec
        self._batch_rows = batch_rows
        self._block_bytes = block_bytes or BLOCK_BYTES
        self._max_line = max(max_line_bytes, self._block_bytes)
        self._blocks_allowed = blocks
        self._encoding = _checked_encoding(spec)
        self.delimiter = None if spec.delimiter is None else dialect.delimiter_of(spec.delimiter)
        self.blank_lines = 0
        self.rows = 0
        self.warnings: Counter[str] = Counter()
        self._warned: list[tuple[int, str, str]] = []  # (line, kind, detail) since the last batch
        self.columns: ColumnMap | None = None
        self.block_batches = 0  # batches the block reader produced (the rest: exact reader)
        self._wanted: list[tuple[str, int]] = []
        self._copies: list[tuple[str, str]] = []  # (field, field read from the same column)
        self._line = 0  # physical lines handed to a parser so far
        self._raw = 0  # LF-terminated lines handed to the exact reader so far
        self._last_text = ""

    def batches(self) -> Iterator[RowBatch]:
        """Every data record, in batches, after the header (if any) is mapped to fields.

        Each batch carries the reader's warnings met since the batch before; those met after
        the last batch (a blank line at the end, a header with no rows) are `take_warned()`'s.
        A line longer than `max_line_bytes` ends the read with an InputError naming it.
        """
        try:
            for batch in self._batches():
                batch.warned = self.take_warned()
                for name, same in self._copies:
                    batch.columns[name] = batch.columns[same]
                yield batch
        except LineTooLong:
            raise InputError(
                f"{self._spec.url}: line {self._line + 1} is longer than "
                f"{_size_text(self._max_line)}: not a DNC record (is this a CSV file?)"
            ) from None

    def take_warned(self) -> list[tuple[int, str, str]]:
        """The reader's warnings not yet handed out with a batch, as (line, kind, detail)."""
        warned, self._warned = self._warned, []
        return warned

    def _batches(self) -> Iterator[RowBatch]:
        if self._spec.no_header:
            self._set_columns(headerless(self._spec))
        source = _Blocks(self._stream, self._block_bytes, self._max_line)
        head = source.peek(4)
        if (self._encoding is None and head[:2] in _UTF16_BOMS) or (
            self._encoding is not None and not _ascii_compatible(self._encoding)
        ):
            wide = self._encoding or "utf-16"
            self._detect(source, wide)
            yield from self._exact(self._wide_lines(source, wide), None)
            self._check_header()
            return
        self._detect(source, self._encoding or "utf-8")
        # The first record (the header, or the first row) may start with a BOM: exact reader.
        while self.columns is None or self._line == 0:
            first = source.line()
            if not first:
                break
            yield from self._exact(self._byte_lines(iter((first,)), source), 1)
        self._check_header()
        # The first blocks are small, so that the stages after reading start early (on a
        # file of a few seconds' work, waiting for a full first block shows).
        size = min(FIRST_BLOCK_BYTES, self._block_bytes)
        while True:
            block = source.block(size)
            size = min(size * 2, self._block_bytes)
            if not block:
                return
            batch = self._block(block, source) if self._blocks_allowed else None
            if batch is not None:
                self.block_batches += 1
                if len(batch):
                    yield batch
                continue
            lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            yield from self._exact(self._byte_lines(io.BytesIO(block), source), lines)

    def _detect(self, source: _Blocks, encoding: str) -> None:
        """Find the delimiter from the first records, unless the source names one."""
        if self.delimiter is not None:
            return
        sample = source.peek(dialect.SAMPLE_BYTES)
        text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
        complete = len(sample) < dialect.SAMPLE_BYTES
        spec = self._spec

        def has_phone(header: list[str]) -> bool:
            try:
                map_columns(header, spec)
            except InputError:
                return False
            return True

        self.delimiter = dialect.detect(
            text, complete, None if spec.no_header else has_phone, spec.url
        )

    def _check_header(self) -> None:
        if self.columns is None:
            raise InputError(f"{self._spec.url}: the source is empty (no header line)")

    def _set_columns(self, columns: ColumnMap) -> None:
        self.columns = columns
        # A column two fields read (a filter on the reason column) is read once, then shared.
        first: dict[int, str] = {}
        self._wanted, self._copies = [], []
        for name, index in sorted(columns.indices.items(), key=lambda item: order(item[0])):
            if index in first:
                self._copies.append((name, first[index]))
            else:
                first[index] = name
                self._wanted.append((name, index))

    # -- the exact reader ----------------------------------------------------------------

    def _exact(self, text: Iterator[str], lines: int | None) -> Iterator[RowBatch]:
        """Records from LF-terminated lines; stops at the first record end after `lines` lines."""
        delimiter = self.delimiter or ","
        reader = csv.reader(text, strict=False, delimiter=delimiter)
        end = None if lines is None else self._raw + lines
        batch_lines: list[int] = []
        values: dict[str, list[str]] = {name: [] for name, _ in self._wanted}
        previous_end = self._line
        for record in self._records(reader):
            start = previous_end + 1
            previous_end = self._line
            # A whitespace-only line is blank, but a line of tabs in a tab-separated file is a
            # row of empty fields, as a line of commas is in a comma-separated one.
            last = self._last_text
            if not record or (start == self._line and not last.strip() and delimiter not in last):
                self.blank_lines += self._line - start + 1
            elif self.columns is None:
                self._set_columns(map_columns(record, self._spec))
                values = {name: [] for name, _ in self._wanted}
            else:
                self.rows += 1
                width = len(record)
                if width < self.columns.width and any(i >= width for _, i in self._wanted):
                    self.warnings["short_row"] += 1
                    detail = f"{width} of {self.columns.width} columns"
                    self._warned.append((start, "short_row", detail))
                batch_lines.append(start)
                for name, index in self._wanted:
                    values[name].append(record[index] if index < width else "")
                if len(batch_lines) >= self._batch_rows:
                    yield _batch(batch_lines, values)
                    batch_lines = []
                    values = {name: [] for name, _ in self._wanted}
            if end is not None and self._raw >= end:
                break
        if batch_lines:
            yield _batch(batch_lines, values)

    def _records(self, reader: Iterator[list[str]]) -> Iterator[list[str]]:
        try:
            yield from reader
        except csv.Error as error:
            raise InputError(
                f"{self._spec.url}: line {self._line}: not readable as CSV ({error})"
            ) from None

    def _byte_lines(self, lines: Iterator[bytes], more: _Blocks) -> Iterator[str]:
        """Physical lines as text, each decoded on its own so one bad line cannot spoil more.

        After `lines`, lines come from `more`: a quoted record may run past a block's end.
        """
        while True:
            for raw in lines:
                if self._line == 0 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                if b"\x00" in raw:
                    raise InputError(
                        f"{self._spec.url}: line {self._line + 1}: NUL byte, not a CSV text file"
                    )
                pieces = _split_lone_cr(raw)
                for number, piece in enumerate(pieces, start=1):
                    self._line += 1
                    self._raw += number == len(pieces)
                    self._last_text = self._decode(piece)
                    yield self._last_text
            following = more.line()
            if not following:
                return
            lines = iter((following,))

    def _decode(self, raw: bytes) -> str:
        if self._encoding is not None:
            return raw.decode(self._encoding, errors="replace")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.warnings["cp1252_line"] += 1
            self._warned.append((self._line, "cp1252_line", ""))
            return raw.decode("cp1252", errors="replace")

    def _wide_lines(self, source: _Blocks, encoding: str) -> Iterator[str]:
        raw = io.BufferedReader(_BlockStream(source))
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        limit = self._max_line  # in characters: at least as many bytes
        while line := text.readline(limit + 1):
            if len(line) > limit:
                raise LineTooLong
            self._line += 1
            self._last_text = line.lstrip("\ufeff") if self._line == 1 else line
            yield self._last_text

    # -- the block reader ----------------------------------------------------------------

    def _block(self, block: bytes, source: _Blocks) -> RowBatch | None:
        """The block's records when it provably reads as the exact reader would; else None.

        The compiled split reads any RFC 4180 quoting (quoted delimiters, doubled quotes,
        quoted line breaks) and stops before a record the block cuts short, handing its bytes
        back to `source`; pyarrow's parser (no kernels, or a block the split declines) reads
        blocks whose records each hold to one line.
        """
        columns = self.columns
        assert columns is not None
        newlines, returns, crlf, quotes, nul, ascii = _facts(block)
        if nul or (self._encoding is not None and self._encoding not in _ASCII_SAME):
            return None
        if not ascii:
            if self._encoding not in (None, "utf-8"):
                return None
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                return None
        if returns != crlf:
            return None  # a lone CR ends a line for the exact reader
        delimiter = self.delimiter or ","
        split = _split(block, columns, self._wanted, newlines + 1, delimiter)
        first = self._line + 1
        if split is not None:
            rows, values, consumed, lines, blank, starts = split
            if columns.width == 1 and not _all_marked(values["phone"]):
                return None  # a whitespace-only line is blank, not a row: the exact reader decides
            if consumed < len(block):
                source.unread(len(block) - consumed)
            elif not block.endswith(b"\n"):
                lines += 1  # the source's last line, without its newline
            self._line += lines
            self.rows += rows
            self.blank_lines += blank
            return RowBatch(starts + first, values)
        parsed = _parse(block, columns.width, self._wanted, columns.plain, delimiter)
        if parsed is None:
            return None
        rows, values = parsed
        lines = newlines + (0 if block.endswith(b"\n") else 1)
        positions: Lines | None = None  # each row's line within the block
        if rows != lines:  # empty lines (the parser skips them)
            positions = _nonempty_lines(block)
            if positions.size != rows:
                return None
        if quotes and not _canonical_quotes(block, delimiter):
            return None
        if columns.width == 1 and not _all_marked(values["phone"]):
            return None  # a whitespace-only line is blank, not a row: the exact reader decides
        self._line += lines
        self.rows += rows
        self.blank_lines += lines - rows
        if positions is None:
            numbers = np.arange(first, first + rows, dtype=np.int64)
        else:
            numbers = positions + first
        return RowBatch(numbers, values)


def _size_text(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 and not size % (1 << 20) else f"{size:,} bytes"


def _facts(block: bytes) -> tuple[int, int, int, int, bool, bool]:
    """LF, CR, CR LF and quote counts, whether a NUL occurs, whether all is ASCII."""
    compiled = kernels.compiled()
    if compiled is not None:
        return compiled.block_facts(block)  # type: ignore[no-any-return]
    return (
        block.count(b"\n"),
        block.count(b"\r"),
        block.count(b"\r\n"),
        block.count(b'"'),
        b"\x00" in block,
        block.isascii(),
    )


def _canonical_quotes(block: bytes, delimiter: str = ",") -> bool:
    """Every quote opens a field, closes one, or is doubled inside one; none spans a line.

    Taking quotes in order, an even one (an opening quote, or the second of a doubled pair)
    must start a field (after a comma, a newline, the block's start, or its pair's first
    quote), and an odd one (closing, or the first of a pair) must end a field (before a comma,
    CR, LF, the block's end) or be followed by its pair. Such quoting reads the same in
    Python's csv module and in pyarrow's parser; a quoted newline still shows as fewer records
    than lines (checked by the caller). Anything else (a quote inside an unquoted field,
    text after a closing quote) goes to the exact reader.
    """
    data = np.frombuffer(block, np.uint8)
    sep = ord(delimiter)
    quotes = np.flatnonzero(data == 34)
    if quotes.size % 2:
        return False
    opening, closing = quotes[0::2], quotes[1::2]
    before = data[np.maximum(opening - 1, 0)]
    starts_field = (opening == 0) | (before == sep) | (before == 10)
    starts_field |= (before == 34) & (opening > 0)
    after = data[np.minimum(closing + 1, data.size - 1)]
    ends_field = (closing == data.size - 1) | (after == sep) | (after == 13) | (after == 10)
    ends_field |= (after == 34) & (closing < data.size - 1)
    return bool(starts_field.all() and ends_field.all())


class _BlockStream(io.RawIOBase):
    """A _Blocks source as a raw stream again (for decoders of whole streams)."""

    def __init__(self, source: _Blocks) -> None:
        super().__init__()
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        taken = self._source.take(len(buffer))
        buffer[: len(taken)] = taken
        return len(taken)


Split = tuple[int, dict[str, pa.Array], int, int, int, Lines]


def _split(
    block: bytes, columns: ColumnMap, wanted: list[tuple[str, int]], max_rows: int, delimiter: str
) -> Split | None:
    """The compiled split of a block: (rows, columns, bytes consumed, LFs consumed, empty
    lines, each record's first line in the block); None without kernels or when it declines."""
    compiled = kernels.compiled()
    if compiled is None:
        return None
    indices = tuple(i for _, i in wanted)
    encoded = tuple(i not in columns.plain for i in indices)
    split = compiled.split_block(block, columns.width, indices, encoded, max_rows, delimiter)
    if split is None:
        return None
    rows, pieces, consumed, lines, blank, starts = split
    values = {name: _column(rows, piece) for (name, _), piece in zip(wanted, pieces, strict=True)}
    return rows, values, consumed, lines, blank, np.frombuffer(starts, np.int64)


def _column(rows: int, piece: tuple[bytes, ...]) -> pa.Array:
    """A split_block column as pyarrow: strings, or dictionary-encoded strings."""
    *codes, offsets, data = piece
    size = len(offsets) // 4 - 1
    text = pa.StringArray.from_buffers(size, pa.py_buffer(offsets), pa.py_buffer(data))
    if not codes:
        return text
    indices = pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(codes[0])])
    return pa.DictionaryArray.from_arrays(indices, text)


def _parse(
    block: bytes,
    width: int,
    wanted: list[tuple[str, int]],
    plain: frozenset[int],
    delimiter: str = ",",
) -> tuple[int, dict[str, pa.Array]] | None:
    """pyarrow's parse of a block of whole lines into `width` columns (the wanted ones, those
    not `plain` dictionary-encoded); None if a row is ragged."""
    ragged = False

    def on_invalid(_row: object) -> str:
        nonlocal ragged
        ragged = True
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(block),
            read_options=pcsv.ReadOptions(column_names=names, block_size=len(block) + 1),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                include_columns=[names[i] for _, i in wanted],
                # Metadata repeats a few texts: dictionary-encoded as parsed.
                column_types={
                    names[i]: pa.string() if i in plain else pa.dictionary(pa.int32(), pa.string())
                    for _, i in wanted
                },
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if ragged:
        return None
    table = table.unify_dictionaries()
    columns = {name: table.column(i).combine_chunks() for i, (name, _) in enumerate(wanted)}
    return table.num_rows, columns


def _nonempty_lines(block: bytes) -> Lines:
    """Indices of the block's lines that are not empty (LF or CRLF alone)."""
    data = np.frombuffer(block, np.uint8)
    ends = np.flatnonzero(data == 10)
    starts = np.concatenate(([0], ends + 1))
    if starts[-1] >= len(block):
        starts = starts[:-1]  # the block ends with a newline: no last partial line
    stops = np.concatenate((ends, [len(block)]))[: starts.size]
    size = stops - starts
    empty = (size == 0) | ((size == 1) & (data[np.minimum(starts, len(block) - 1)] == 13))
    return np.flatnonzero(~empty).astype(np.int64)


def _all_marked(values: pa.StringArray) -> bool:
    """Every value holds a visible ASCII character (so no line among them is blank)."""
    return bool(pc.all(pc.match_substring_regex(values, "[!-~]")).as_py() is not False)


def _batch(lines: list[int], values: dict[str, list[str]]) -> RowBatch:
    return RowBatch(
        np.array(lines, dtype=np.int64),
        {name: pa.array(column, pa.string()) for name, column in values.items()},
    )


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
