"""Phone values a spreadsheet wrote as numbers are read as their digits; lost digits rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from dncsync.columnar.artefacts import read
from dncsync.model import RejectReason

from .helpers import by_phone, run, write


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4155552674.0", ("4155552674", True)),
        (" 4155552674.00 ", ("4155552674", True)),
        ("4.155552674E+9", ("4155552674", True)),
        ("4.155552674e+09", ("4155552674", True)),
        ("1.4155552674E+10", ("14155552674", True)),
        ("4.1555526740E+9", ("4155552674", True)),
        ("'4155552674", ("4155552674", True)),
        ("'+1 415 555 2674", ("+1 415 555 2674", True)),
        ("4.15555E+9", ("", False)),
        ("1E+10", ("", False)),
    ],
)
def test_artefacts_read_as_their_digits(text: str, expected: tuple[str, bool]) -> None:
    assert read(text) == expected


@pytest.mark.usefixtures("kernels_both_ways")
def test_spreadsheet_columns_through_ingest(tmp_path: Path) -> None:
    rows = [
        "4155552674.0", "4.155552675E+9", "'4155552676", "4.15555E+9", "1.41555E+10",
        "(415) 555-2677", "415.555.2678",
    ]  # fmt: skip
    path = write(tmp_path / "sheet.csv", "phone\n" + "\n".join(rows) + "\n")
    result, rejects = run(path)
    assert set(by_phone(result)) == {
        "+14155552674", "+14155552675", "+14155552676", "+14155552677", "+14155552678",
    }  # fmt: skip
    lost = [(r.line, r.raw_phone, r.reason) for r in rejects.rejects]
    assert lost == [
        (5, "4.15555E+9", RejectReason.SCIENTIFIC_DIGITS_LOST),
        (6, "1.41555E+10", RejectReason.SCIENTIFIC_DIGITS_LOST),
    ]
    assert result.accounting.reject_reasons["scientific_digits_lost"] == 2
