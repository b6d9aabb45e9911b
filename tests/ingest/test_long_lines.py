"""Memory stays bounded whatever the line length: a line longer than the cap ends the read
with exit 2 and one line naming the source and the line, on every path a line is read by;
a header wider than any export is refused before it is mapped."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest

from clirun import dncsync, error_line
from dncsync.errors import InputError
from dncsync.sources import CsvRecords, SourceSpec
from dncsync.sources.columns import MAX_COLUMNS
from dncsync.sources.records import MAX_LINE_BYTES
from dncsync.sources.streams import BUFFER

both_ways = pytest.mark.usefixtures("kernels_both_ways")  # the block reader's byte facts

CAP = 4096  # bytes: the cap these tests read with (the block size is smaller still)
USAGE_OR_INPUT = 2


def _rows(data: bytes, *, blocks: bool = True, max_line: int = CAP, **options: object) -> int:
    spec = SourceSpec("s", "mem.csv", **options)  # type: ignore[arg-type]
    stream = io.BufferedReader(io.BytesIO(data), BUFFER)  # type: ignore[arg-type]
    records = CsvRecords(stream, spec, block_bytes=1024, blocks=blocks, max_line_bytes=max_line)
    for _ in records.batches():
        pass
    return records.rows


ROWS = b"".join(f"212555{n:04d},opt-out\n".encode() for n in range(100))


@both_ways
@pytest.mark.parametrize("blocks", [True, False])
@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"phone,reason\n" + ROWS + b"1" * (CAP + 1) + b"\n" + ROWS, 102),  # in the blocks
        (b"phone,reason\n" + ROWS + b"1" * (CAP * 3), 102),  # the last line, no line end
        (b"phone," + b"x" * CAP + b"\n" + ROWS, 1),  # the header
        (b"phone,reason\n" + b'2125550100,"' + b"x" * (CAP + 1) + b'"\n', 2),  # quoted
        (b"phone,reason\n" + b'2125550100,"a\n' + b"x" * (CAP + 1) + b'"\n', 3),  # inside one
    ],
)
def test_a_line_over_the_cap_is_refused_naming_source_and_line(
    data: bytes, line: int, blocks: bool
) -> None:
    with pytest.raises(InputError) as refused:
        _rows(data, blocks=blocks)
    assert str(refused.value) == (
        f"mem.csv: line {line} is longer than 4,096 bytes: not a DNC record (is this a CSV file?)"
    )


@both_ways
def test_utf16_lines_are_capped_too() -> None:
    data = "phone\n2125550100\n".encode("utf-16") + ("1" * (CAP + 1)).encode("utf-16-le")
    with pytest.raises(InputError, match="line 3 is longer than 4,096 bytes"):
        _rows(data)


@both_ways
def test_lines_up_to_the_cap_are_read() -> None:
    longest = b"2125550100," + b"x" * (CAP - len(b"2125550100,") - 1) + b"\n"
    assert len(longest) == CAP
    assert _rows(b"phone,reason\n" + ROWS + longest + ROWS) == 201
    assert _rows(b"phone,reason\n" + ROWS + longest + ROWS, blocks=False) == 201


def test_a_long_line_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "one-long-line.csv"
    path.write_bytes(b"phone\n2125550100\n" + b"7" * (MAX_LINE_BYTES + 1))

    ran = dncsync("validate", str(path), "--format", "json")

    assert ran.code == USAGE_OR_INPUT
    assert error_line(ran) == (
        f"dncsync: error: {path}: line 3 is longer than 8 MiB: not a DNC record "
        "(is this a CSV file?)"
    )
    assert ran.stdout == ""


def test_a_gzip_member_expanding_to_one_huge_line_exits_2(tmp_path: Path) -> None:
    # 64 MiB of one line, 64 KB on disk: read only up to the cap, never inflated whole.
    path = tmp_path / "bomb.csv.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as handle:
        handle.write(packer.compress(b"phone\n"))
        chunk = b"7" * (1 << 20)
        for _ in range(64):
            handle.write(packer.compress(chunk))
        handle.write(packer.flush())
    assert path.stat().st_size < 1 << 20

    ran = dncsync("validate", str(path), "--format", "json")

    assert ran.code == USAGE_OR_INPUT
    assert "bomb.csv.gz: line 2 is longer than 8 MiB: not a DNC record" in error_line(ran)


@both_ways
def test_a_header_wider_than_any_export_is_refused() -> None:
    header = b",".join(b"c%d" % i for i in range(MAX_COLUMNS)) + b",phone\n"
    with pytest.raises(InputError) as refused:
        _rows(header + b"2125550100\n", max_line=1 << 20)
    assert str(refused.value) == (
        "mem.csv: the header has 10,001 columns, more than the 10,000 a DNC export could have "
        "(is the first line a header? if not, pass --no-header)"
    )
    assert _rows(header.replace(b"c0,", b"", 1) + b",,2125550100\n", max_line=1 << 20) == 1
