"""Incremental: only the difference is sent, and the remote list is not read in full again.

Every target reads its platform's list once, on its first run against that list, to learn what
it already holds (numbers someone else put there are kept, never removed); later runs ask only
for the list's size, and read it again only every `verify_every` (a week by default) or when
the platform holds fewer numbers than the state says.
An unchanged source sends no writes; a 1% change sends ceil(changed / batch size) writes per
direction.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
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

pytestmark = pytest.mark.slow

COUNT = 2_000
BATCH = 8
ADDED, DROPPED = 12, 8  # 20 numbers: 1% of the source


def test_only_the_difference_is_sent_and_no_run_reads_the_whole_list(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    rng = random.Random(5)
    platforms = start_emulator()
    state = platforms.running.state
    # A mirror and an upsert target on each platform.
    lists = {"upsert": platforms.list_id, "mirror": state.genesys_create_list("mirror")}
    groups = {"upsert": platforms.group_id, "mirror": state.cxone_create_group("mirror")}

    def configure(batch_size: int) -> Path:
        return write_config(
            tmp_path,
            [
                table
                for mode in ("upsert", "mirror")
                for table in (
                    genesys_target(
                        platforms,
                        name=f"genesys-{mode}",
                        dnc_list_id=lists[mode],
                        mode=mode,
                        batch_size=batch_size,
                    ),
                    cxone_target(
                        platforms,
                        name=f"cxone-{mode}",
                        dnc_group_id=groups[mode],
                        mode=mode,
                        batch_size=batch_size,
                    ),
                )
            ],
        )

    numbers = nanp_numbers(COUNT, 5)
    source = tmp_path / "source.csv"
    write_source(source, numbers, seed=5)

    first = run_sync(configure(batch_size=500))

    assert first.code == 0, first.stderr
    # The first run against each list reads it once: one Genesys export per list, and each
    # CXone group's records.
    reads = platforms.full_reads()
    exports = sorted(r.path for r in reads if r.method == "POST")
    assert exports == sorted(f"/api/v2/outbound/dnclists/{i}/export" for i in lists.values())
    pages = {r.path for r in reads if r.platform == "cxone"}
    assert {path.rsplit("/", 2)[-2] for path in pages} == {str(g) for g in groups.values()}

    config = configure(batch_size=BATCH)
    mark = platforms.mark()
    unchanged = run_sync(config)

    assert unchanged.code == 0, unchanged.stderr
    assert platforms.number_writes(mark) == []
    assert platforms.full_reads(mark) == []

    dropped = set(rng.sample(numbers, DROPPED))
    added = nanp_numbers(ADDED, 6, exclude=numbers)
    changed = [*added, *(n for n in numbers if n not in dropped)]
    rng.shuffle(changed)
    write_source(source, changed, seed=6)
    mark = platforms.mark()

    after_change = run_sync(config)

    assert after_change.code == 0, after_change.stderr
    assert platforms.full_reads(mark) == []
    summary = after_change.summary()["targets"]
    writes = platforms.number_writes(mark)
    adds, removes = math.ceil(ADDED / BATCH), math.ceil(DROPPED / BATCH)
    for mode in ("upsert", "mirror"):
        expected_removes = removes if mode == "mirror" else 0
        genesys = [r for r in writes if lists[mode] in r.path]
        cxone = [r for r in writes if f"/{groups[mode]}/" in r.path]
        # Genesys adds and removes are both PATCHes; CXone removes are DELETEs.
        assert len(genesys) == adds + expected_removes, mode
        assert sum(1 for r in cxone if r.method == "POST") == adds, mode
        assert sum(1 for r in cxone if r.method == "DELETE") == expected_removes, mode
        for platform in ("genesys", "cxone"):
            target = summary[f"{platform}-{mode}"]
            assert target["writes"] == adds + expected_removes
            assert target["sent"] == ADDED + (DROPPED if mode == "mirror" else 0)
    assert set(state.genesys_numbers(lists["mirror"])) == set(changed)
    assert set(state.genesys_numbers(lists["upsert"])) == set(changed) | dropped
