"""`dncsync plan`: the dry run shows what a sync would send, and writes nowhere."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dncsync.state import StateStore

from .support import (
    Platforms,
    cxone_target,
    genesys_target,
    list_key,
    nanp_numbers,
    run_sync,
    write_config,
)
from .support import write_source as write_rows

pytestmark = pytest.mark.slow


def plan(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dncsync", "plan", "--config", str(config), "--format", "json"]
    return subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_plan_shows_the_difference_and_writes_nowhere(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator()
    numbers = nanp_numbers(300, 8)
    write_rows(tmp_path / "source.csv", numbers, seed=8)
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms, mode="mirror", batch_size=100),
            cxone_target(platforms, batch_size=100),
        ],
    )
    platforms.plant([*numbers[:10], "+12125550199"])  # the list already holds some, and one more
    before = platforms.mark()

    done = plan(config)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    genesys = summary["targets"][genesys_name(summary)]
    # A first plan reads the list once to know what it holds; the number no source has was
    # put there by someone else: someone's opt-out, kept even in mirror mode.
    assert genesys["seeded_from_platform"] == 11
    assert (genesys["adds"], genesys["removes"], genesys["unchanged"]) == (290, 0, 10)
    assert genesys["foreign"] == 1
    assert all(phone.endswith("****") for phone in genesys["sample"]["adds"])
    assert platforms.number_writes(before) == []  # nothing sent
    with StateStore(tmp_path / "state" / "dncsync.db") as store:  # nothing recorded
        assert store.runs() == []
        assert store.journal() == []
        assert not store.is_seeded(list_key(config, genesys_name(summary)))

    finished = run_sync(config)  # the sync does what the plan said
    assert finished.code == 0, finished.stderr
    synced = finished.summary()["targets"]
    assert synced[genesys_name(summary)]["adds"] == 290
    assert (synced[genesys_name(summary)]["removes"], synced[genesys_name(summary)]["foreign"]) == (
        0,
        1,
    )


def genesys_name(summary: dict[str, Any]) -> str:
    return next(name for name in summary["targets"] if "genesys" in name)
