"""Warned rows: each correction ingest counts is one row with its source, line, kind and detail."""

from __future__ import annotations

import csv
import random
import stat
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dncsync import ingest as ingest_module
from dncsync.ingest import IngestResult, ingest, run_accounting
from dncsync.model import RowWarning
from dncsync.policy import DEFAULT_POLICY
from dncsync.row_warnings import OncePerSource, WarningList, WarningsCsv
from dncsync.sources import SourceSpec, records

from .helpers import TODAY, write

HEADER = b"phone,reason,source,date_collected,expiration,expiration_policy"
# (row, the warnings it draws as (kind, detail)); line numbers follow from the order.
ROWS: list[tuple[bytes, list[tuple[str, str]]]] = [
    (b"4155552671,national,crm,2024-01-01,,", []),
    (b"4155552672 ext. 12,national,crm,2024-01-01,,", [("extension_dropped", "+1415555****")]),
    (b"1-800-FLOWERS,national,crm,2024-01-01,,", [("vanity_converted", "+1800356****")]),
    (b"", []),  # a blank line: not a row, but it counts as a line
    (b"4155552673,,crm,2024-01-01,,", [("missing_reason", "")]),
    (
        b"4155552674,call me at 4155559999,crm,2024-01-01,,",
        [("unmapped_reason", "call me at 415555****")],  # the number in the text is masked
    ),
    (b"4155552675,opt-out,crm,yesterday,,", [("unreadable_date_collected", "yesterday")]),
    (b"4155552676,opt-out,crm,2099-01-01,,", [("future_date_collected", "2099-01-01")]),
    (b"4155552677,opt-out,crm,2024-01-01,soon,", [("unreadable_expiration", "soon")]),
    (
        b"4155552678,opt-out,crm,2024-01-01,2031-01-01,weird",
        [("unknown_expiration_policy", "weird")],
    ),
    (b"4155552679,opt-out,crm,2024-01-01,,absolute", [("missing_expiration", "absolute")]),
    (
        b"4155552680,litigator,crm,2024-01-01,2030-01-01,",
        [("retention_forced_never", "2030-01-01")],
    ),
    (b"4155552681,opt-out,crm,2024-01-01,2025-01-01,", [("expiration_extended", "2025-01-01")]),
    (
        b"4155552682,opt-out,crm,2024-01-01,2023-01-01,",
        [("expiration_before_collected", "2023-01-01")],
    ),
    (b"12345,opt-out,crm,2024-01-01,,", []),  # rejected: a reject, not a warning
    (
        b"4155552685 x7,,crm,,,",  # two warnings on one row: one line each
        [("extension_dropped", "+1415555****"), ("missing_reason", "")],
    ),
]
# Rows only the line-by-line reader reads (a block holding one is read that way).
ODD_ROWS: list[tuple[bytes, list[tuple[str, str]]]] = [
    (b"4155552683,opt-out", [("short_row", "2 of 6 columns")]),
    (
        "4155552684,Caf\u00e9,crm,2024-01-01,,".encode("cp1252"),
        [("cp1252_line", ""), ("unmapped_reason", "Caf\u00e9")],
    ),
]


def _source(path: Path, rows: list[tuple[bytes, list[tuple[str, str]]]]) -> list[RowWarning]:
    """Write the rows; the warnings they should draw, in line order."""
    write(path, b"\n".join([HEADER, *(row for row, _ in rows)]) + b"\n")
    return [
        RowWarning(path.name, line, kind, detail)
        for line, (_, warnings) in enumerate(rows, start=2)
        for kind, detail in warnings
    ]


def _ingest(*paths: Path) -> tuple[IngestResult, WarningList]:
    sink = WarningList()
    specs = [SourceSpec(path.name, str(path)) for path in paths]
    return ingest(specs, DEFAULT_POLICY, today=TODAY, warnings=sink), sink


@pytest.mark.usefixtures("kernels_both_ways")
@pytest.mark.parametrize("odd", [False, True], ids=["blocks", "line by line"])
def test_every_warning_kind_is_one_row_with_its_source_and_line(tmp_path: Path, odd: bool) -> None:
    expected = _source(tmp_path / "every.csv", ROWS + (ODD_ROWS if odd else []))

    result, sink = _ingest(tmp_path / "every.csv")

    assert sink.warnings == expected
    assert Counter(w.kind for w in sink.warnings) == result.accounting.warnings
    assert result.accounting.balanced()
    if odd:  # every kind a row can draw is in the fixture
        assert set(result.accounting.warnings) == {
            "cp1252_line", "short_row", "extension_dropped", "vanity_converted",
            "missing_reason", "unmapped_reason", "unreadable_date_collected",
            "future_date_collected", "unreadable_expiration", "unknown_expiration_policy",
            "missing_expiration", "retention_forced_never", "expiration_extended",
            "expiration_before_collected",
        }  # fmt: skip


def test_warned_rows_are_the_same_whichever_reader_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warned rows scattered through several blocks: small blocks or one give the same rows."""
    rng = random.Random(5)
    lines = [row for row, _ in ROWS if row] * 300
    odd = [row for row, _ in ODD_ROWS] + [b"", b'"4155552699","opt-out",crm,,,']
    for _ in range(30):
        lines.insert(rng.randrange(len(lines)), rng.choice(odd))
    path = write(tmp_path / "many.csv", b"\n".join([HEADER, *lines]) + b"\n")

    monkeypatch.setattr(records, "BLOCK_BYTES", 1 << 24)
    whole, whole_sink = _ingest(path)
    monkeypatch.setattr(records, "FIRST_BLOCK_BYTES", 1_024)
    monkeypatch.setattr(records, "BLOCK_BYTES", 2_048)
    blocks, blocks_sink = _ingest(path)

    assert blocks_sink.warnings == whole_sink.warnings
    assert blocks.accounting == whole.accounting
    assert Counter(w.kind for w in whole_sink.warnings) == whole.accounting.warnings
    assert [w.line for w in whole_sink.warnings] == sorted(w.line for w in whole_sink.warnings)


def test_without_a_sink_the_counts_are_the_same(tmp_path: Path) -> None:
    path = tmp_path / "every.csv"
    _source(path, ROWS + ODD_ROWS)
    counted = ingest([SourceSpec("every.csv", str(path))], DEFAULT_POLICY, today=TODAY)
    listed, _ = _ingest(path)
    assert counted.accounting == listed.accounting


def test_too_many_source_names_warns_each_row_that_keeps_the_source_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "MAX_SOURCES", 3)  # the source's own name and two more
    rows = [b"phone,source", *(f"41555526{n:02d},list{n % 5}".encode() for n in range(20))]
    path = write(tmp_path / "names.csv", b"\n".join(rows) + b"\n")

    result, sink = _ingest(path)

    # list0 and list1 take the two free ids; the rows of list2..list4 keep the source's name.
    overflowed = [
        RowWarning("names.csv", n + 2, "too_many_source_names", f"list{n % 5}")
        for n in range(20)
        if n % 5 >= 2
    ]
    assert sink.warnings == overflowed
    assert result.accounting.warnings == {"too_many_source_names": 12}
    assert {e.source for e in result.entries()} == {"list0", "list1", "names.csv"}


def test_warnings_file_masks_quotes_escapes_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "warnings.csv"
    path.write_text("an older file\n")
    path.chmod(0o644)
    with WarningsCsv(str(path)) as sink:
        sink.add(
            "=crm,west",
            np.array([2, 7, 9], np.int64),
            ["unmapped_reason", "unmapped_reason", "extension_dropped"],
            ['said "stop" at 415-555-2671', "-dnc", "+1415555****"],
        )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["source", "line", "kind", "detail"],
        ["'=crm,west", "2", "unmapped_reason", 'said "stop" at 415-555-****'],
        ["'=crm,west", "7", "unmapped_reason", "'-dnc"],
        ["'=crm,west", "9", "extension_dropped", "'+1415555****"],
    ]


def test_a_source_read_for_two_targets_has_its_warnings_written_once(tmp_path: Path) -> None:
    first = _source(tmp_path / "a.csv", ROWS)
    second = _source(tmp_path / "b.csv", ROWS[:6])
    sink = WarningList()
    once = OncePerSource(sink)
    for names in (["a.csv"], ["a.csv", "b.csv"], ["b.csv", "a.csv"]):
        specs = [SourceSpec(name, str(tmp_path / name)) for name in names]
        ingest(specs, DEFAULT_POLICY, today=TODAY, warnings=once.reading(names))
    assert sink.warnings == first + second


def test_run_accounting_counts_each_source_once(tmp_path: Path) -> None:
    """Two sets of sources sharing one: the run's accounting is that of every distinct source
    merged once, exactly; each set's own accounting stays as it was."""
    _source(tmp_path / "a.csv", ROWS + ODD_ROWS)
    shared = [row for row, _ in ROWS[:8]]  # numbers also in a.csv: duplicates across sources
    own = [f"41555530{n:02d},opt-out,web,2024-01-01,,".encode() for n in range(10)]
    write(tmp_path / "b.csv", b"\n".join([HEADER, *shared, *own, b"n/a,,,,,"]) + b"\n")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"

    only_a, _ = _ingest(a)
    both, _ = _ingest(a, b)
    only_b, _ = _ingest(b)

    assert run_accounting([only_a, both]) == both.accounting
    assert run_accounting([only_a, only_b]) == both.accounting
    assert run_accounting([only_a, both, only_b]) == both.accounting
    assert run_accounting([only_a]) == only_a.accounting
    # Per source: the facts of each source alone add up to the merged accounting.
    counts = both.source_counts
    assert set(counts) == {"a.csv", "b.csv"}
    assert sum(c.rows for c in counts.values()) == both.accounting.rows
    assert sum(c.rejected for c in counts.values()) == both.accounting.rejected
    assert counts["a.csv"] == only_a.source_counts["a.csv"]
    assert counts["a.csv"].warnings == only_a.accounting.warnings
