"""Full phone numbers never reach the console: not through a headerless file's "header", a
reason's free text, or a file name that holds a number. They are masked as the logs mask
them (`+1415555****`); the files the operator asked for (rejects, entries) keep them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import dncsync, error_line
from dncsync.privacy import mask_text

NUMBER, OTHER = "4155552671", "5105551234"
USAGE_OR_INPUT = 2


def test_the_no_phone_column_error_of_a_headerless_file_masks_its_cells(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"{NUMBER},opted out\n{OTHER},opted out\n")

    ran = dncsync("validate", str(path))

    assert ran.code == USAGE_OR_INPUT
    line = error_line(ran)
    assert "no phone column in the header ('415555****', 'opted out')" in line
    assert NUMBER not in ran.stderr + ran.stdout


def test_validate_masks_reason_text_and_file_names_holding_a_number(tmp_path: Path) -> None:
    path = tmp_path / f"optouts-{NUMBER}.csv"
    path.write_text(
        f"phone,reason\n{NUMBER},call {NUMBER} back\n{OTHER},call {OTHER[:6]}1235 back\n"
    )

    ran = dncsync("validate", str(path), "--format", "json")

    assert ran.code == 0, ran.stderr
    summary = json.loads(ran.stdout)
    # Texts that differ only in a number's last digits count together once masked.
    assert summary["unmapped_reasons"] == {"call 415555**** back": 1, "call 510555**** back": 1}
    assert summary["sources"][0]["name"] == "optouts-415555****.csv"
    assert summary["sources"][0]["uri"] == str(tmp_path / "optouts-415555****.csv")
    assert NUMBER not in ran.stdout
    assert OTHER[:6] + "1235" not in ran.stdout


def test_an_error_naming_a_file_that_holds_a_number_masks_it(tmp_path: Path) -> None:
    missing = tmp_path / f"dnc_{NUMBER}.csv"

    ran = dncsync("validate", str(missing))

    assert ran.code == USAGE_OR_INPUT
    assert error_line(ran) == f"dncsync: error: {tmp_path}/dnc_415555****.csv: no such file"


def test_a_sync_summary_and_its_error_line_mask_a_source_name_holding_a_number(
    tmp_path: Path,
) -> None:
    config = tmp_path / "dncsync.toml"
    config.write_text(
        f'[[source]]\nname = "optouts"\nurl = "crm-{NUMBER}.csv"\n\n'
        '[[target]]\nname = "main"\nplatform = "genesys"\ndnc_list_id = "l"\n'
        'base_url = "http://127.0.0.1:9"\nretry_budget_seconds = 1\n'
    )

    ran = dncsync(
        "sync", "--config", str(config), "--format", "json",
        env={"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "secret"},
    )  # fmt: skip

    assert ran.code == USAGE_OR_INPUT
    assert "crm-415555****.csv: no such file" in error_line(ran)
    assert json.loads(ran.stdout)["targets"]["main"]["error"].endswith(
        "crm-415555****.csv: no such file"
    )
    assert NUMBER not in ran.stdout + ran.stderr


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"optouts-{NUMBER}.csv", "optouts-415555****.csv"),
        (f"dnc_1{NUMBER}", "dnc_1415555****"),
        (f"{NUMBER}_export.csv", "415555****_export.csv"),
        ("3f2b8a1c-6d4e-4f1a-9b2c-123456789012", "3f2b8a1c-6d4e-4f1a-9b2c-123456789012"),
        ("took 0.4135552671 s", "took 0.4135552671 s"),
    ],
)
def test_a_number_glued_into_a_name_is_masked_and_ids_are_not(text: str, masked: str) -> None:
    assert mask_text(text) == masked
