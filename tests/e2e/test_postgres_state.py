"""A state moved from SQLite to PostgreSQL carries on as if nothing happened: `sync` on the
moved state sends only the difference and reads no list again, and the history commands
see every run from before the move and after (the real commands in subprocesses, the
emulator over sockets, a real PostgreSQL server)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from .support import (
    Platforms,
    cxone_target,
    genesys_target,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = [pytest.mark.slow, pytest.mark.long]

BATCH = 8


def _dncsync(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dncsync", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_sync_on_a_state_moved_to_postgresql_sends_only_the_difference(
    platforms: Platforms, tmp_path: Path, pg_url: str
) -> None:
    targets = [
        genesys_target(platforms, mode="mirror", batch_size=BATCH),
        cxone_target(platforms, mode="mirror", batch_size=BATCH),
    ]
    numbers = nanp_numbers(300, 7)
    write_source(tmp_path / "source.csv", numbers, seed=7)
    on_file = write_config(tmp_path, targets)
    first = run_sync(on_file)
    assert first.code == 0, first.stderr

    moved = _dncsync(
        "state", "migrate", "--from", str(tmp_path / "state" / "dncsync.db"), "--to", pg_url
    )
    assert moved.returncode == 0, moved.stderr
    text = on_file.read_text(encoding="utf-8").replace(
        'path = "state/dncsync.db"',
        f'url = "{pg_url}"\nruns_dir = "state/dncsync.db.runs"',  # the evidence stays put
    )
    on_database = tmp_path / "pg.toml"
    on_database.write_text(text, encoding="utf-8")

    added = nanp_numbers(10, 8, exclude=numbers)
    dropped = set(numbers[:3])  # within max_removal_fraction (1%)
    write_source(
        tmp_path / "source.csv", [*added, *(n for n in numbers if n not in dropped)], seed=8
    )
    mark = platforms.mark()
    second = run_sync(on_database)

    assert second.code == 0, second.stderr
    assert platforms.full_reads(mark) == []  # the moved snapshot is trusted as it was
    writes = platforms.number_writes(mark)
    expected = math.ceil(len(added) / BATCH) + math.ceil(len(dropped) / BATCH)
    assert len([w for w in writes if w.platform == "genesys"]) == expected
    assert len([w for w in writes if w.platform == "cxone"]) == expected
    assert platforms.held("genesys") == {*added, *(n for n in numbers if n not in dropped)}

    runs = _dncsync("runs", "--config", str(on_database), "--format", "json")
    assert runs.returncode == 0, runs.stderr
    history = json.loads(runs.stdout)
    assert [r["status"] for r in history] == ["success", "success"]
    for run in ("latest", history[-1]["id"]):  # after the move, and before it
        verified = _dncsync("audit", "verify", run, "--config", str(on_database))
        assert verified.returncode == 0, verified.stdout + verified.stderr
