"""Capacity: a target never silently holds less than it should, and spreads over lists.

Over a real socket against the emulator, whose lists and tenant hold a bounded count of
numbers like the platforms' do.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dncsync.capacity import spread
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

pytestmark = pytest.mark.slow

SAFETY_STOP = 5


def _rows(path: Path, rows: list[tuple[str, str, str]]) -> None:
    lines = ["phone,reason,date_collected", *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_over_capacity_the_most_important_numbers_are_pushed_and_the_run_exits_5(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator()
    registry = nanp_numbers(80, 50)
    requests = nanp_numbers(30, 51, exclude=registry)
    source = tmp_path / "source.csv"
    # A full registry extract and the customers' own requests: 110 numbers for room for 100.
    _rows(source, [(n, "NATIONAL", "2026-01-05") for n in registry])
    config = write_config(
        tmp_path, [genesys_target(platforms, capacity=100), cxone_target(platforms, capacity=100)]
    )
    assert run_sync(config).code == 0  # 80 registry numbers fit
    _rows(
        source,
        [
            *((n, "NATIONAL", "2026-01-05") for n in registry),
            *((n, "customer request", "2026-11-30") for n in requests),
        ],
    )

    planned = subprocess.run(
        [sys.executable, "-m", "dncsync", "plan", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert planned.returncode == 0, planned.stderr
    assert "holds at most 100 numbers and needs 110" in planned.stdout

    finished = run_sync(config)

    assert finished.code == SAFETY_STOP, finished.stderr
    line = finished.stderr.strip().splitlines()[-1]
    assert "holds at most 100 numbers and needs 110" in line
    assert "10 least important were left out" in line
    for name, target in finished.summary()["targets"].items():
        assert target["capacity"]["left_out"] == 10, name
        assert target["status"] == "safety_stop"
    # Every new opt-out is held; ten old registry rows made room for them.
    for platform in ("genesys", "cxone"):
        held = platforms.held(platform)
        assert len(held) == 100
        assert set(requests) <= held
    report = json.loads(Path(finished.summary()["evidence"]["report_json"]).read_text())
    assert any(w["code"] == "over_capacity" for w in report["warnings"])


def test_a_target_spread_over_lists_moves_only_what_a_new_list_takes(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator(list_capacity=400)
    state = platforms.running.state
    first, second, third = (state.genesys_create_list(name) for name in ("a", "b", "c"))
    numbers = nanp_numbers(600, 52)  # more than one list holds
    source = tmp_path / "source.csv"
    _rows(source, [(n, "NATIONAL", "2026-01-05") for n in numbers])

    def configure(lists: list[str]) -> Path:
        table = genesys_target(platforms, dnc_list_ids=lists, batch_size=50)
        del table["dnc_list_id"]
        return write_config(tmp_path, [table])

    two = configure([first, second])
    spread_two = run_sync(two)

    assert spread_two.code == 0, spread_two.stderr
    lists = spread_two.summary()["targets"]["genesys-e2e"]["lists"]
    assert set(lists) == {first, second}
    held = {i: set(state.genesys_numbers(i)) for i in (first, second)}
    assert held[first] | held[second] == set(numbers)
    assert not held[first] & held[second]
    assert {i: lists[i]["adds"] for i in lists} == {i: len(held[i]) for i in held}
    with StateStore(tmp_path / "state" / "dncsync.db") as store:
        for list_id in (first, second):
            key = list_key(two, "genesys-e2e").replace(first, list_id)
            assert set(store.snapshot(key)) == held[list_id]

    three = configure([first, second, third])
    mark = platforms.writes.mark()
    spread_three = run_sync(three)

    assert spread_three.code == 0, spread_three.stderr
    now = {i: set(state.genesys_numbers(i)) for i in (first, second, third)}
    assert now[first] | now[second] | now[third] == set(numbers)
    assert sum(len(v) for v in now.values()) == len(numbers)  # each number on one list
    # Only what the new list takes moved; each move added before it was removed.
    base = list_key(two, "genesys-e2e")  # the first list's identity
    keys = [base.replace(first, k) for k in (first, second, third)]
    expected = spread(numbers, keys, 400)
    moved = {n for n in numbers if expected[n] == keys[2]}
    assert now[third] == moved
    writes = platforms.writes.since(mark)
    added_at = {p: i for i, w in enumerate(writes) if w.action == "add" for p in w.phones}
    removed_at = {p: i for i, w in enumerate(writes) if w.action == "remove" for p in w.phones}
    assert set(added_at) == moved
    assert set(removed_at) == moved
    assert all(added_at[p] < removed_at[p] for p in moved)


def test_a_list_named_twice_or_both_ways_is_a_configuration_error(
    platforms: Platforms, tmp_path: Path
) -> None:
    _rows(tmp_path / "source.csv", [("+14155550100", "NATIONAL", "2026-01-05")])
    both = write_config(tmp_path, [genesys_target(platforms, dnc_list_ids=[platforms.list_id])])
    twice = genesys_target(platforms, dnc_list_ids=[platforms.list_id, platforms.list_id])
    del twice["dnc_list_id"]
    for config in (both, write_config(tmp_path / "twice", [twice], source="../source.csv")):
        finished = run_sync(config)
        assert finished.code == 3
        assert "dnc_list_id" in finished.stderr.strip().splitlines()[-1]
