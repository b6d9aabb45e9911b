"""Every RFC 4180 dialect and delimiter reads as the exact reader reads it, on the fast path."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.errors import InputError
from dncsync.sources.dialect import delimiter_of

from .helpers import read_records, run, write

DELIMITERS = (",", "\t", ";", "|")


def _field(rng: random.Random, text: str, delimiter: str, quote_all: bool) -> str:
    if quote_all or any(c in text for c in f'"\r\n{delimiter}'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _export(rng: random.Random, rows: int, delimiter: str, newline: str, quote_all: bool) -> bytes:
    """A CRM-like export: quoted names with delimiters, quotes and line breaks in them."""
    header = ["Phone", "Reason", "Source", "Notes"]
    out = [delimiter.join(_field(rng, h, delimiter, quote_all) for h in header) + newline]
    for row in range(rows):
        phone = f"({rng.randint(200, 999)}) 555-{rng.randint(0, 9999):04d}"
        notes = rng.choice(
            ["", "plain", f"a{delimiter}b", 'said "stop"', "line one\nline two", "x\r\ny", '""']
        )
        reason = rng.choice(["opt-out", "litigator", ""])
        fields = [phone, reason, f"crm {row % 7}", notes]
        out.append(delimiter.join(_field(rng, f, delimiter, quote_all) for f in fields) + newline)
        if rng.random() < 0.02:
            out.append(newline)  # an empty line
    return "".join(out).encode()


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10**6),
    st.sampled_from(DELIMITERS),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.sampled_from([64, 300, 4096]),
)
@pytest.mark.usefixtures("kernels_both_ways")
def test_every_dialect_reads_as_the_exact_reader(
    seed: int, delimiter: str, newline: str, quote_all: bool, block_bytes: int
) -> None:
    data = _export(random.Random(seed), 150, delimiter, newline, quote_all)
    exact, _, found = read_records(data, False, block_bytes)
    fast, _, _ = read_records(data, True, block_bytes)
    assert found == delimiter
    assert fast == exact


@pytest.mark.parametrize("delimiter", DELIMITERS)
@pytest.mark.parametrize("quote_all", [False, True])
def test_quoted_line_breaks_stay_on_the_compiled_path(delimiter: str, quote_all: bool) -> None:
    data = _export(random.Random(7), 3_000, delimiter, "\r\n", quote_all)
    exact, _, _ = read_records(data, False, 4096)
    fast, used, _ = read_records(data, True, 4096)
    assert fast == exact
    assert used >= len(data) // 4096 - 1  # every block read by the compiled split
    lines = exact[3]
    assert isinstance(lines, list)
    assert lines[0] == 2
    assert lines == sorted(lines)


def test_delimiter_is_detected_or_forced(tmp_path: Path) -> None:
    for delimiter in DELIMITERS:
        path = write(
            tmp_path / f"d{ord(delimiter)}.csv",
            f"phone{delimiter}reason\n(415) 555-2671{delimiter}litigator\n",
        )
        result, _ = run(path)
        assert result.accounting.accepted == 1
        assert next(result.entries()).reason.value == "LITIGATOR"
    semicolons = write(
        tmp_path / "semi.csv",
        "phone;name,city\n4155552671;Doe, Jane\n",
    )
    result, _ = run(semicolons, delimiter="semicolon")
    assert result.accounting.accepted == 1


def test_an_ambiguous_file_names_the_option(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "phone;a,tel\n4155552671;a,2125550123\n")
    with pytest.raises(InputError, match="--delimiter"):
        run(path)
    result, _ = run(path, delimiter=";")
    assert result.accounting.accepted == 1


def test_delimiter_names() -> None:
    assert [delimiter_of(t) for t in ("tab", "\\t", "\t", "comma", "|", "Semicolon")] == [
        "\t", "\t", "\t", ",", "|", ";",
    ]  # fmt: skip
    with pytest.raises(InputError, match="unknown delimiter"):
        delimiter_of(":")


def test_a_wrong_forced_delimiter_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "semi.csv", "phone;reason\n4155552671;x\n")
    with pytest.raises(InputError, match="holding a separator: name the delimiter"):
        run(path, delimiter=",")
