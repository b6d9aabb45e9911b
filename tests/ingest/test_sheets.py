"""`.xlsx` sources: the first sheet or a named one, the same columns, accounting and rejects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from dncsync.errors import InputError
from dncsync.model import RejectReason
from dncsync.sources.sheets import cell_text

from .helpers import by_phone, run, write


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


CONTACTS = [
    ["Phone", "MobilePhone", "Reason", "Collected", "DoNotCall"],
    [4155552671.0, None, "litigator", datetime(2025, 3, 1), True],  # a number cell
    ["(212) 555-0143", "4155552672", "opt-out", "2025-03-02", "TRUE"],
    [],  # a blank row
    ["4.15555E+9", None, "opt-out", None, "yes"],  # digits lost before the export
    ["12", None, "opt-out", None, "yes"],
    ["(415) 555-2699", None, "opt-out", None, "no"],  # filtered
]


def test_first_sheet_with_phone_columns_filters_and_sheet_rows(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "crm.xlsx", {"Contacts": CONTACTS, "Other": [["x"], [1]]})
    result, rejects = run(path, where=(("DoNotCall", ("true", "yes")),))
    entries = by_phone(result)
    assert set(entries) == {"+14155552671", "+12125550143", "+14155552672"}
    assert entries["+14155552671"].reason.value == "LITIGATOR"
    assert entries["+14155552671"].date_collected is not None
    assert [(r.line, r.raw_phone, r.reason) for r in rejects.rejects] == [
        (5, "4.15555E+9", RejectReason.SCIENTIFIC_DIGITS_LOST),
        (6, "12", RejectReason.TOO_SHORT),
    ]
    a = result.accounting
    assert (a.rows, a.filtered, a.blank_lines, a.values, a.accepted, a.rejected) == (
        5, 1, 1, 5, 3, 2,
    )  # fmt: skip
    assert a.balanced()


def test_a_named_sheet_and_a_missing_one(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "book.xlsx", {"Notes": [["hello"]], "DNC": [["phone"], ["4155552671"]]}
    )
    result, _ = run(path, sheet="DNC")
    assert set(by_phone(result)) == {"+14155552671"}
    with pytest.raises(InputError, match="no sheet named 'Missing'"):
        run(path, sheet="Missing")
    with pytest.raises(InputError, match="no phone column"):
        run(path)  # the first sheet has none


def test_a_zip_that_is_not_a_workbook_is_one_clear_error(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(InputError, match=r"not a readable \.xlsx workbook"):
        run(path)
    write(tmp_path / "cut.xlsx", b"PK\x03\x04broken")
    with pytest.raises(InputError, match=r"not a readable \.xlsx workbook"):
        run(tmp_path / "cut.xlsx")


def test_cells_read_as_a_csv_export_would_write_them() -> None:
    assert [cell_text(v) for v in (4155552671.0, 12.5, 7, True, None, "x")] == [
        "4155552671", "12.5", "7", "TRUE", "", "x",
    ]  # fmt: skip
    assert cell_text(datetime(2025, 3, 1)) == "2025-03-01"
