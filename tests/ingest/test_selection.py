"""Row filters, several phone columns, area code + number: every row and value accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import dncsync
from dncsync.errors import InputError
from dncsync.model import RejectReason

from .helpers import by_phone, run, write

CRM = (
    "Id,FirstName,Phone,MobilePhone,HomePhone,OtherPhone,DoNotCall\n"
    "1,Ann,(415) 555-2671,(415) 555-2672,,,true\n"  # two values
    "2,Bob,,(212) 555-0143,,,TRUE\n"  # Phone empty, MobilePhone holds one
    "3,Cid,,,,,yes\n"  # no value at all
    "4,Dee,(415) 555-2675,,,,false\n"  # filtered
    "5,Eve,(415) 555-2671,,,12,1\n"  # a duplicate and a reject
    "6,Fay,(213) 555-0150,,,, Yes \n"  # filter values: case and spaces ignored
)


def test_crm_export_phone_columns_and_filter(tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", CRM)
    result, rejects = run(path, where=(("DoNotCall", ("true", "1", "yes")),))
    a = result.accounting
    assert set(by_phone(result)) == {"+14155552671", "+14155552672", "+12125550143", "+12135550150"}
    assert (a.rows, a.filtered, a.rows_with_value, a.rows_without_value) == (6, 1, 4, 1)
    assert (a.values, a.accepted, a.duplicates, a.rejected) == (6, 4, 1, 1)
    assert a.balanced()
    assert [(r.line, r.raw_phone, r.reason) for r in rejects.rejects] == [
        (6, "12", RejectReason.TOO_SHORT)
    ]


def test_phone_columns_named_and_metadata_follows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.csv",
        "cell,work,reason\n4155552671,2125550143,litigator\n,4155552699,opt-out\n",
    )
    result, _ = run(path, phone_columns=("work", "cell"))
    entries = by_phone(result)
    assert entries["+14155552671"].reason.value == "LITIGATOR"
    assert entries["+12125550143"].reason.value == "LITIGATOR"
    assert entries["+14155552699"].reason.value == "CUSTOMER_REQUESTED"
    assert result.accounting.rows_without_value == 0
    with pytest.raises(InputError, match="no column named 'fax'"):
        run(path, phone_columns=("cell", "fax"))


def test_one_phone_column_still_rejects_empty_values(tmp_path: Path) -> None:
    path = write(tmp_path / "one.csv", "phone,DoNotCall\n4155552671,y\n,y\n4155552672,n\n")
    result, rejects = run(path, where=(("donotcall", ("Y",)),))
    a = result.accounting
    assert (a.rows, a.filtered, a.values, a.accepted, a.rejected) == (3, 1, 2, 1, 1)
    assert rejects.rejects[0].reason is RejectReason.EMPTY


def test_area_code_and_number_make_one_number(tmp_path: Path) -> None:
    path = write(tmp_path / "ftc.csv", "areacode,number\n415,5552671\n212,555-0143\n,5552671\n")
    result, rejects = run(path, area_code_column="areacode", number_column="number")
    assert set(by_phone(result)) == {"+14155552671", "+12125550143"}
    assert [(r.line, r.reason) for r in rejects.rejects] == [(4, RejectReason.POSSIBLE_NOT_VALID)]
    with pytest.raises(InputError, match="go together"):
        run(path, area_code_column="areacode")


def test_filter_on_a_column_also_read_as_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "phone,reason\n4155552671,litigator\n4155552672,other\n")
    result, _ = run(path, where=(("reason", ("LITIGATOR",)),))
    assert set(by_phone(result)) == {"+14155552671"}
    assert by_phone(result)["+14155552671"].reason.value == "LITIGATOR"


def test_validate_json_shows_the_accounting_levels(tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", CRM)
    ran = dncsync("validate", str(path), "--format", "json", "--where", "DoNotCall=true,1,yes")
    assert ran.code == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert (
        summary["rows"]
        == summary["rows_with_value"] + summary["filtered"] + summary["rows_without_value"]
    )
    assert summary["values"] == summary["accepted"] + summary["duplicates"] + summary["rejected"]
    assert (summary["filtered"], summary["rows_without_value"], summary["values"]) == (1, 1, 6)
