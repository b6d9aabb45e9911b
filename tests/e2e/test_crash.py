"""Crash-safe: `dncsync sync` killed with SIGKILL mid-push resumes exactly, re-sending nothing
acknowledged.

One seeded sequence of runs against both platforms (150 ms of latency on every request, so
batches are in flight when the kill lands; faults after the write, so the platform sometimes
applies a batch the client then sees fail):

1. killed right after the platform applied a batch whose answer failed: the platform holds
   numbers dncsync has not recorded;
2. to 5. killed after a seeded number of acknowledged writes, two on each platform; the source
   is edited (rows shuffled, numbers added in front, unsent numbers dropped) between the third
   kill and its rerun;
6. run to the end.

After every kill the state store is read as the next run will find it, and every rerun's writes
are checked number by number (the emulator records the numbers of every write it applied).
"""

from __future__ import annotations

import bisect
import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dncsync.emulator import FaultSettings
from dncsync.state import StateStore

from .support import (
    AppliedWrite,
    Platforms,
    Sync,
    command,
    cxone_target,
    genesys_target,
    list_key,
    nanp_numbers,
    poll,
    write_config,
    write_source,
)

# Many seeded kill points, each a SIGKILLed subprocess and a rerun: CI's second stage.
pytestmark = [pytest.mark.slow, pytest.mark.long]

SEED = 20
COUNT = 2_000
BATCH = 100  # 20 batches per platform
CONCURRENCY = 4
TARGETS = {"genesys": "genesys-e2e", "cxone": "cxone-e2e"}
PLATFORMS = tuple(TARGETS)


@dataclass(frozen=True, slots=True)
class KillPoint:
    """When to kill a run: after an applied-but-failed write, or after `acks` acknowledged."""

    platform: str | None  # None: the first write applied and answered with a failure
    acks: int = 0
    edit_source_after: bool = False


@dataclass(frozen=True, slots=True)
class AtKill:
    """What the next run finds: the platforms, the state store, the writes applied so far."""

    held: dict[str, set[str]]
    snapshot: dict[str, set[str]]
    writes_before: int  # position in the emulator's write record where the rerun starts


@dataclass(slots=True)
class Runs:
    """Where each run's writes start in the emulator's record, and what each left in flight."""

    starts: list[int] = field(default_factory=list)
    unsettled: list[dict[str, int]] = field(default_factory=list)  # journal rows left intended

    def of(self, write: AppliedWrite) -> int:
        """The index of the run that sent a write."""
        return bisect.bisect_right(self.starts, write.order) - 1


def _kill_points(rng: random.Random) -> list[KillPoint]:
    return [
        KillPoint(None),
        KillPoint("genesys", rng.randint(2, 4)),
        KillPoint("genesys", rng.randint(2, 4), edit_source_after=True),
        KillPoint("cxone", rng.randint(2, 4)),
        KillPoint("cxone", rng.randint(2, 4)),
    ]


def _state(config: Path) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Each target's snapshot, and the batches the newest (killed) run left unsettled."""
    snapshot: dict[str, set[str]] = {}
    unsettled: dict[str, int] = {}
    with StateStore(config.parent / "state" / "dncsync.db") as store:
        killed = store.runs()[0].id
        for platform, target in TARGETS.items():
            key = list_key(config, target)
            snapshot[platform] = set(store.snapshot(key))
            unsettled[platform] = sum(
                1
                for row in store.journal(key)
                if row["run_id"] == killed and row["state"] == "intended"
            )
    return snapshot, unsettled


def _reached(platforms: Platforms, point: KillPoint, since: int) -> str | None:
    """The correlation id of the request that makes `point` reached, or None (not yet)."""
    if point.platform is None:
        for record in platforms.number_writes(since):
            if record.fault is not None and record.fault.startswith("after_write"):
                return record.correlation_id
        return None
    acknowledged = [
        r
        for r in platforms.number_writes(since, point.platform)
        if 200 <= r.status < 300 and r.fault is None
    ]
    return acknowledged[point.acks - 1].correlation_id if len(acknowledged) >= point.acks else None


def _sent(writes: list[AppliedWrite], platform: str) -> set[str]:
    return {p for w in writes if w.platform == platform for p in w.phones}


def _check_rerun(
    platforms: Platforms, before: AtKill, runs: Runs, desired: set[str], *, finished: bool
) -> None:
    """A rerun sends no acknowledged number; re-sends come only from batches in flight."""
    earlier = platforms.writes.since()[: before.writes_before]
    rerun = platforms.writes.since(before.writes_before)
    for platform in PLATFORMS:
        sent = _sent(rerun, platform)
        acknowledged = before.snapshot[platform]
        assert not sent & acknowledged, f"{platform}: acknowledged numbers sent again"
        assert sent <= desired, f"{platform}: numbers no source has were sent"
        if finished:
            # The whole rerun is exactly what the state store did not show as acknowledged.
            assert sent == desired - acknowledged, platform
        resent = sent & before.held[platform]
        # Each re-sent number came from a batch the platform applied but a killed run never
        # recorded: per run, no more such batches than it left 'intended' in the journal.
        origins: dict[int, set[frozenset[str]]] = {}
        for phone in resent:
            origin = max(
                (w for w in earlier if w.platform == platform and phone in w.phones and w.applied),
                key=lambda w: w.order,
            )
            origins.setdefault(runs.of(origin), set()).add(origin.phones)
        for run, batches in origins.items():
            assert len(batches) <= runs.unsettled[run][platform], (platform, run, len(batches))


def test_sigkill_at_seeded_points_then_rerun_ends_exact(
    start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    platforms = start_emulator(
        seed=SEED,
        latency_ms=150,
        faults=FaultSettings(after_write_rate=0.15, paths=("*/phonenumbers", "*/records")),
    )
    numbers = nanp_numbers(COUNT, SEED)
    desired = set(numbers)
    source = tmp_path / "source.csv"
    write_source(source, numbers, seed=SEED)
    config = write_config(
        tmp_path,
        [
            genesys_target(platforms, batch_size=BATCH, concurrency=CONCURRENCY),
            cxone_target(platforms, batch_size=BATCH, concurrency=CONCURRENCY),
        ],
    )
    before: AtKill | None = None
    runs = Runs()

    for point in _kill_points(rng):
        mark = platforms.mark()
        runs.starts.append(platforms.writes.mark())
        run = Sync(command(config), tmp_path / "output")
        trigger = poll(
            functools.partial(_reached, platforms, point, mark),
            deadline_seconds=30,
            what=f"kill point {point}",
            alive=run.running,
        )
        run.kill()
        assert trigger, f"the run ended before kill point {point} was reached"
        platforms.settle()
        held = {platform: platforms.held(platform) for platform in PLATFORMS}
        snapshot, unsettled = _state(config)
        runs.unsettled.append(unsettled)
        if before is not None:
            _check_rerun(platforms, before, runs, desired, finished=False)
        for platform in PLATFORMS:
            # dncsync never records a number the platform does not hold.
            assert snapshot[platform] <= held[platform], platform
        if point.platform is None:
            applied = next(w for w in platforms.writes.since() if w.correlation_id == trigger)
            # The kill landed after the platform applied a batch and before dncsync recorded it.
            assert applied.phones <= held[applied.platform]
            assert not applied.phones & snapshot[applied.platform]
        before = AtKill(held, snapshot, platforms.writes.mark())

        if point.edit_source_after:
            # Resume is keyed by content: reorder everything, add numbers in front, and drop
            # numbers no run has sent yet. A resume by file offset would miss or repeat rows.
            ever_sent = {p for w in platforms.writes.since() for p in w.phones}
            unsent = sorted(desired - ever_sent)
            dropped = set(rng.sample(unsent, 50))
            added = nanp_numbers(100, SEED + 1, exclude=desired)
            kept = [n for n in numbers if n not in dropped]
            rng.shuffle(kept)
            numbers = [*added, *kept]
            desired = set(numbers)
            write_source(source, numbers, seed=SEED + 1)

    runs.starts.append(platforms.writes.mark())
    final = Sync(command(config), tmp_path / "output").wait()

    assert final.code == 0, final.stderr
    assert len(runs.unsettled) >= 5  # kills
    platforms.settle()
    runs.unsettled.append(_state(config)[1])
    assert before is not None
    _check_rerun(platforms, before, runs, desired, finished=True)
    for platform in PLATFORMS:
        assert platforms.held(platform) == desired, platform
