"""Numbers a target is configured not to send are skipped, not failed: the run exits 0.

A CXone group with `international = "skip"` and a source with a German number: `dncsync sync`
runs as a subprocess against the emulator over a real loopback socket. The German number is
reported skipped (summary, report, journal), is never in the snapshot, and is never sent; a
second sync sends nothing and exits 0 again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dncsync.state import StateStore

from .support import (
    Platforms,
    cxone_target,
    list_key,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

TARGET = "cxone-e2e"
GERMAN = "+493090182011"
GERMAN_MASKED = "+49309018****"


def test_a_number_skipped_by_the_settings_is_reported_and_the_run_exits_0(
    platforms: Platforms, tmp_path: Path
) -> None:
    numbers = nanp_numbers(5, 53)
    write_source(tmp_path / "source.csv", [*numbers, GERMAN], seed=5)
    config = write_config(tmp_path, [cxone_target(platforms, international="skip")])

    first = run_sync(config)

    assert first.code == 0, first.stderr
    summary = first.summary()
    assert summary["status"] == "success"
    target = summary["targets"][TARGET]
    assert (target["sent"], target["acknowledged"], target["failed"]) == (5, 5, 0)
    assert target["skipped"] == 1
    assert target["failures"] == {}
    assert list(target["skipped_numbers"]) == [GERMAN_MASKED]
    assert target["skipped_numbers"][GERMAN_MASKED].startswith("dncsync.international_skipped")
    report = json.loads(Path(summary["evidence"]["report_json"]).read_text(encoding="utf-8"))
    assert report["status"] == "success"
    push = report["targets"][0]["push"]
    assert (push["numbers_sent"], push["numbers_skipped"], push["numbers_failed"]) == (5, 1, 0)
    assert push["skipped_codes"] == {"dncsync.international_skipped": 1}
    assert "numbers_skipped" in {w["code"] for w in report["warnings"]}
    assert GERMAN not in first.stdout + first.stderr
    assert platforms.held("cxone") == set(numbers)
    with StateStore(tmp_path / "state" / "dncsync.db") as store:
        key = list_key(config, TARGET)
        assert set(store.snapshot(key)) == set(numbers)  # never the skipped number
        (row,) = store.journal(key)
    assert (row["state"], row["count"], row["acknowledged"], row["failed"]) == (
        "acknowledged", 6, 5, 0,
    )  # fmt: skip
    assert "skipped dncsync.international_skipped" in row["error"]

    mark = platforms.mark()
    second = run_sync(config)

    assert second.code == 0, second.stderr
    assert platforms.number_writes(since=mark) == []  # the skipped number is never sent
    again = second.summary()["targets"][TARGET]
    assert (again["adds"], again["writes"], again["sent"], again["skipped"]) == (1, 0, 0, 1)
    # The console's text summary has a row for it, and says which (masked) and why.
    text = run_sync(config, output="text")
    assert text.code == 0, text.stderr
    assert "numbers skipped" in text.stdout
    assert f"{GERMAN_MASKED} skipped: dncsync.international_skipped" in text.stdout
    assert GERMAN not in text.stdout + text.stderr + second.stdout

    # Reading the group back does not call the skipped number missing: it was never to be sent.
    verified = run_sync(config, "--verify")
    assert verified.code == 0, verified.stderr
    verification = verified.summary()["targets"][TARGET]["verification"]
    assert (verification["status"], verification["missing"]) == ("match", 0)
