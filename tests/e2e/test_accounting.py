"""Two targets syncing from overlapping sources: what `dncsync sync` prints and what its report
says agree, each warning counts once, and the run folder lists every warned row.

`dncsync sync` and `dncsync reconcile` run as subprocesses against the emulator over a real
loopback socket: Genesys syncs from `optouts`, CXone from `optouts` and `partners`, so
`optouts` is read for both.
"""

from __future__ import annotations

import csv
import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .support import Platforms, cxone_target, genesys_target, run_sync, write_config

pytestmark = pytest.mark.slow

# Any 10+ digit run not followed by the mask: a full number in some form.
FULL_NUMBER = re.compile(r"(?<![\w.])\+?\d{10,15}(?![\d*\w])")

OPTOUTS = [
    "phone,reason,date_collected,expiration",
    "(415) 555-2601,opt-out,2026-10-01,",
    "(415) 555-2602 ext. 7,opt-out,2026-10-01,",  # line 3: extension_dropped
    "1-800-FLOWERS,national,2026-10-01,",  # line 4: vanity_converted
    "",  # line 5: blank
    "415.555.2603,,2026-10-01,",  # line 6: missing_reason
    "4155552604,call back on 4155559999,2026-10-01,",  # line 7: unmapped_reason
    "+1 415 555 2605,opt-out,2099-01-01,",  # line 8: future_date_collected
    "4155552606,opt-out,2026-10-01,2027-01-01",  # line 9: expiration_extended
    "4155552601,litigator,2026-10-02,",  # a duplicate within optouts
    "n/a,opt-out,2026-10-01,",  # rejected
]
PARTNERS = [
    "phone,reason,date_collected,expiration",
    "4155552601,opt-out,2026-10-01,",  # also in optouts: a duplicate across sources
    "4155552603,national,2026-10-01,",  # also in optouts
    "4155552611,opt-out,last tuesday,",  # line 4: unreadable_date_collected
    "4155552612,state dnc,2026-10-01,2030-01-01",  # line 5: retention_forced_never
    "12345,opt-out,2026-10-01,",  # rejected
]
WARNED = {
    ("optouts", 3, "extension_dropped"),
    ("optouts", 4, "vanity_converted"),
    ("optouts", 6, "missing_reason"),
    ("optouts", 7, "unmapped_reason"),
    ("optouts", 8, "future_date_collected"),
    ("optouts", 9, "expiration_extended"),
    ("partners", 4, "unreadable_date_collected"),
    ("partners", 5, "retention_forced_never"),
}


def _figures(accounting: dict[str, Any]) -> dict[str, Any]:
    """An accounting without the report's derived `balanced`."""
    return {key: value for key, value in accounting.items() if key != "balanced"}


def _warned_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_console_and_report_agree_and_each_warning_counts_once(
    platforms: Platforms, tmp_path: Path
) -> None:
    (tmp_path / "optouts.csv").write_text("\n".join(OPTOUTS) + "\n", encoding="utf-8")
    (tmp_path / "partners.csv").write_text("\n".join(PARTNERS) + "\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms, sources=["optouts"]),
            cxone_target(platforms, sources=["optouts", "partners"]),
        ],
        sources={"optouts": "optouts.csv", "partners": "partners.csv"},
    )

    finished = run_sync(config)

    assert finished.code == 0, finished.stderr
    console = finished.summary()
    report = json.loads(Path(console["evidence"]["report_json"]).read_text(encoding="utf-8"))
    # The console and the report show the same figures: the run's and each target's.
    assert console["accounting"] == _figures(report["accounting"])
    for target in report["targets"]:
        assert console["targets"][target["name"]]["accounting"] == _figures(target["accounting"])
    run = console["accounting"]
    genesys = console["targets"]["genesys-e2e"]["accounting"]
    cxone = console["targets"]["cxone-e2e"]["accounting"]
    # Each source counts once in the run; each target counts the sources it syncs from.
    assert (genesys["rows"], cxone["rows"], run["rows"]) == (9, 14, 14)
    assert (genesys["accepted"], genesys["duplicates"], genesys["rejected"]) == (7, 1, 1)
    assert (run["accepted"], run["duplicates"], run["rejected"]) == (9, 3, 2)
    assert run == cxone
    for accounting in (run, genesys, cxone):
        assert accounting["rows"] == (
            accounting["accepted"] + accounting["duplicates"] + accounting["rejected"]
        )
    assert report["accounting"]["balanced"]
    assert all(target["accounting"]["balanced"] for target in report["targets"])
    assert [s["name"] for s in console["sources"]] == ["optouts", "partners"]
    # Each warning once: the run's counts are the warned rows, one per row and kind.
    assert run["warnings"] == {kind: 1 for _, _, kind in WARNED}
    assert genesys["warnings"] == {kind: 1 for source, _, kind in WARNED if source == "optouts"}
    assert sum(1 for w in report["warnings"] if w["code"] == "missing_reason") == 1

    # The run folder's warnings.csv: one line per warned row, with its source and line.
    warnings = Path(console["evidence"]["warnings"])
    assert warnings.parent == Path(console["evidence"]["audit_log"]).parent
    assert warnings.name == "warnings.csv"
    assert stat.S_IMODE(warnings.stat().st_mode) == 0o600
    header, *rows = _warned_rows(warnings)
    assert header == ["source", "line", "kind", "detail"]
    assert {(source, int(line), kind) for source, line, kind, _ in rows} == WARNED
    assert len(rows) == len(WARNED) == sum(run["warnings"].values())
    details = {kind: detail for _, _, kind, detail in rows}
    assert details["extension_dropped"] == "'+1415555****"
    assert details["unmapped_reason"] == "call back on 415555****"
    assert details["unreadable_date_collected"] == "last tuesday"
    assert FULL_NUMBER.search(warnings.read_text(encoding="utf-8")) is None
    assert report["warnings_file"] == {"file": str(warnings), "rows": len(WARNED)}

    # A reconcile is a run too: its folder gets its own list, the same rows.
    argv = ["reconcile", "--config", str(config), "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-m", "dncsync", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    again = warnings.parent.with_name(json.loads(done.stdout)["run_id"]) / "warnings.csv"
    assert again != warnings
    assert _warned_rows(again) == [header, *rows]
