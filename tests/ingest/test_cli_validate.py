"""`dncsync validate` as a user runs it: a real subprocess, its stdout, stderr and exit code."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "optouts.csv"


def dncsync(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "dncsync", "validate", *args],
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=60,
    )


def test_json_summary_output_and_rejects(tmp_path: Path) -> None:
    out, rejects = tmp_path / "entries.csv", tmp_path / "rejects.csv"
    done = dncsync(str(SAMPLE), "--format", "json", "--output", str(out), "--rejects", str(rejects))
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    summary = json.loads(done.stdout)
    assert summary["rows"] == summary["accepted"] + summary["duplicates"] + summary["rejected"]
    assert set(summary["reject_reasons"]) >= {"possible_not_valid", "not_a_number", "empty"}
    assert summary["warnings"]["extension_dropped"] == 1
    with out.open() as handle:
        entries = list(csv.DictReader(handle))
    assert len(entries) == summary["accepted"]
    assert {"+14155552671", "+442079460958", "+18003569377"} <= {e["phone_number"] for e in entries}
    with rejects.open() as handle:
        assert next(csv.reader(handle)) == ["line", "raw_phone", "reason"]
        assert sum(1 for _ in handle) == summary["rejected"]
    # Reading the output back gives the same entries, none rejected or merged.
    again = dncsync(str(out), "--format", "json", "--output", str(tmp_path / "again.csv"))
    assert json.loads(again.stdout)["accepted"] == summary["accepted"]
    assert (tmp_path / "again.csv").read_text() == out.read_text()


def test_warnings_file_lists_every_warned_row_with_its_line(tmp_path: Path) -> None:
    source = tmp_path / "crm.csv"
    source.write_bytes(
        b"phone,reason,date_collected,expiration\n"
        b"(212) 555-0123 ext. 44,opt-out,2026-10-01,\n"  # line 2: extension dropped
        b"1-800-FLOWERS,national,2026-10-01,\n"  # line 3: vanity letters
        b"not a number,opt-out,2026-10-01,\n"  # line 4: a reject, not a warning
        b"\n"  # line 5: blank
        b"4155552671,call 4155559999 back,2026-10-01,\n"  # line 6: unmapped reason
        b"4155552672,opt-out,2099-01-01,\n"  # line 7: collected in the future
        b"4155552673,litigator,2026-10-01,2027-01-01\n"  # line 8: forced to never
    )
    warnings, rejects = tmp_path / "warnings.csv", tmp_path / "rejects.csv"
    done = dncsync(
        str(source), "--format", "json", "--warnings", str(warnings), "--rejects", str(rejects)
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert stat.S_IMODE(warnings.stat().st_mode) == 0o600
    with warnings.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["source", "line", "kind", "detail"],
        ["crm.csv", "2", "extension_dropped", "'+1212555****"],
        ["crm.csv", "3", "vanity_converted", "'+1800356****"],
        ["crm.csv", "6", "unmapped_reason", "call 415555**** back"],
        ["crm.csv", "7", "future_date_collected", "2099-01-01"],
        ["crm.csv", "8", "retention_forced_never", "2027-01-01"],
    ]
    assert summary["warnings"] == {kind: 1 for _, _, kind, _ in rows[1:]}
    assert rejects.read_text() == "line,raw_phone,reason\n4,not a number,not_a_number\n"


def test_text_summary_is_a_table_without_progress_noise() -> None:
    done = dncsync(str(SAMPLE))
    assert done.returncode == 0
    assert b"accepted" in done.stdout
    assert b"duplicates" in done.stdout
    assert done.stderr == b""  # stderr is not a terminal: no progress bar


def test_stdin_source_and_options() -> None:
    data = b"(415) 555-2671\n+10000000000\n"
    done = dncsync("-", "--no-header", "--strictness", "possible", "--format", "json", stdin=data)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == 2


def test_s3_source_through_the_environment(s3_server: Any) -> None:
    client = s3_server.client()
    client.create_bucket(Bucket="cli-bucket")
    client.put_object(Bucket="cli-bucket", Key="a.csv", Body=b"phone\n(415) 555-2671\n")
    done = dncsync("s3://cli-bucket/a.csv", "--format", "json", env=s3_server.env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sources"][0]["s3_etag"]
    missing = dncsync("s3://cli-bucket/nope.csv", env=s3_server.env)
    assert missing.returncode == 2
    assert missing.stderr.decode().count("\n") == 1
    assert b"no such S3 key" in missing.stderr


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "no such file"),
        (b"id,name\n1,x\n", [], "no phone column"),
        (b"PK\x03\x04\x00\x00binary", [], "not a CSV"),
        (b"phone\n1\n", ["--default-region", "XX"], "region"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, content: bytes | None, args: list[str], message: str
) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    done = dncsync(str(path), *args)
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert message in stderr
    assert "Traceback" not in stderr
    assert done.stdout == b""


@pytest.mark.parametrize("args", [["--strictness", "loose"], ["--bogus"]])
def test_bad_usage_exits_2(args: list[str]) -> None:
    done = dncsync(str(SAMPLE), *args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr.decode()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("option", ["--output", "--rejects", "--warnings"])
def test_a_full_disk_under_an_output_file_exits_2_naming_it(option: str) -> None:
    # /dev/full: every write fails with ENOSPC, as on a full disk.
    mode = os.stat("/dev/full").st_mode
    done = dncsync(str(SAMPLE), option, "/dev/full")
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "dncsync: error: /dev/full: cannot write: no space left on the device: free some "
        "space, or write elsewhere"
    ]
    assert os.stat("/dev/full").st_mode == mode  # a device is written to, never re-moded


def test_an_output_path_under_a_file_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / "a-file" / "entries.csv"
    done = dncsync(str(SAMPLE), "--output", str(target))
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (
        f"dncsync: error: {target}: cannot write: a part of the path is a file, not a folder: "
        "fix the path"
    )
