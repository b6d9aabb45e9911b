"""Targets syncing from overlapping sources: the console summary and the report agree, each
target carries its own sources' accounting, and the run counts each source once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from dncsync.ingest import IngestResult, ingest
from dncsync.outcome import RunResult, TargetOutcome, source_set_key
from dncsync.policy import DEFAULT_POLICY
from dncsync.report import dumps, loads, render, to_plain
from dncsync.report.evidence import build_report
from dncsync.sources import SourceSpec

TODAY = date(2026, 11, 22)
HEADER = "phone,reason,date_collected\n"


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def result(tmp_path: Path) -> RunResult:
    """`a` for one target, `a` and `b` for the other: `a` is read twice."""
    a = _write(
        tmp_path / "a.csv",
        [
            *(f"41555526{n:02d},national,2026-10-01" for n in range(10)),
            "4155552600,national,2026-10-01",  # a duplicate within a
            "4155552690,,2026-10-01",  # missing_reason
            "4155552691,whatever this is,2026-10-01",  # unmapped_reason
            "not a number,national,2026-10-01",  # rejected
        ],
    )
    b = _write(
        tmp_path / "b.csv",
        [
            *(f"41555526{n:02d},opt-out,2026-10-01" for n in range(5)),  # in a too
            *(f"41555527{n:02d},opt-out,2099-01-01" for n in range(3)),  # future dates
            "12345,opt-out,2026-10-01",  # rejected
        ],
    )

    def read(*paths: Path) -> IngestResult:
        specs = [SourceSpec(p.stem, str(p)) for p in paths]
        return ingest(specs, DEFAULT_POLICY, today=TODAY)

    ingested = {source_set_key(["a"]): read(a), source_set_key(["a", "b"]): read(a, b)}
    started = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    return RunResult(
        "run-1",
        "plan",
        started,
        started,
        "d" * 64,
        ingested,
        [
            TargetOutcome("first", "genesys", "upsert", None, sources=("a",)),
            TargetOutcome("second", "cxone", "upsert", None, sources=("a", "b")),
        ],
        status="success",
    )


def _figures(accounting: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in accounting.items() if key != "balanced"}


def test_console_and_report_show_the_same_accounting(result: RunResult) -> None:
    console = json.loads(json.dumps(result.summary()))
    report = to_plain(build_report(result))

    assert console["accounting"] == _figures(report["accounting"])
    for target in report["targets"]:
        assert console["targets"][target["name"]]["accounting"] == _figures(target["accounting"])
    assert report["accounting"]["balanced"]
    assert all(target["accounting"]["balanced"] for target in report["targets"])


def test_each_source_counts_once_in_the_run(result: RunResult) -> None:
    summary = result.summary()
    run, first, second = (
        summary["accounting"],
        summary["targets"]["first"]["accounting"],
        summary["targets"]["second"]["accounting"],
    )
    assert (first["rows"], second["rows"], run["rows"]) == (14, 23, 23)
    # a: 12 distinct numbers accepted, one duplicate, one reject; b adds 3 numbers.
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (12, 1, 1)
    assert (run["accepted"], run["duplicates"], run["rejected"]) == (15, 6, 2)
    assert run == second  # the second target reads every source: the same figures
    assert first["warnings"] == {"missing_reason": 1, "unmapped_reason": 1}
    # Each warning once, however many targets read its source.
    assert run["warnings"] == {
        "future_date_collected": 3,
        "missing_reason": 1,
        "unmapped_reason": 1,
    }
    for accounting in (run, first, second):
        assert accounting["rows"] == (
            accounting["accepted"] + accounting["duplicates"] + accounting["rejected"]
        )
    assert [s["name"] for s in summary["sources"]] == ["a", "b"]  # a listed once


def test_the_report_shows_each_targets_sources_and_reads_back(result: RunResult) -> None:
    report = build_report(result)
    first = report.target("first")
    assert first.sources == ("a",)
    assert first.accounting is not None
    assert first.accounting.rows == 14
    text = render(report, "text")
    assert "sources  a: rows 14 = accepted 12 + duplicates 1 + rejected 1" in text
    assert "sources  a, b: rows 23 = accepted 15 + duplicates 6 + rejected 2" in text
    assert "Syncs from <b>a, b</b>: 23 rows" in render(report, "html")
    assert loads(dumps(report)) == report


def test_a_report_written_before_per_target_accounting_still_reads(result: RunResult) -> None:
    plain = to_plain(build_report(result))
    del plain["warnings_file"]
    for target in plain["targets"]:
        del target["sources"], target["accounting"]
    older = loads(json.dumps(plain))
    assert older.target("first").accounting is None
    assert older.warnings_file is None
    render(older, "html")
    render(older, "text")
