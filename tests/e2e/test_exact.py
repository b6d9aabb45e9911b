"""Exact: under every kind of fault, the platform ends holding exactly what the source says.

`dncsync sync` runs as a subprocess against the emulator over a real loopback socket with 5%
server errors, cut connections, faults after the write was applied (the platform has the change,
the client sees a failure), 429 storms and tokens that live one second. The platform is then
read (the emulator's own state: what the platform holds) and compared with the numbers the
source was written from. A second sync of the same source sends nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dncsync.emulator import FaultSettings

from .support import (
    Platforms,
    Row,
    cxone_target,
    genesys_target,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

pytestmark = pytest.mark.slow

COUNT = 5_000
BATCH = 250  # 21 batches
# Valid numbers outside North America: Genesys takes E.164, CXone gets 011 + the digits.
INTERNATIONAL = ("+442079460123", "+493090182011", "+33142685300", "+61291234567")
FAULTS = FaultSettings(
    error_rate=0.05,
    cut_rate=0.06,
    after_write_rate=0.10,
    storm_rate=0.05,
    storm_length=2,
    # Logins stay reliable: a faulted token request counts as an attempt of the request
    # waiting for it, and the backoff that follows would only make the test slow.
    exempt_paths=("*/token",),
)
FAULT_KINDS = ("error_5", "cut", "after_write_error_5", "after_write_cut", "storm_429")
# Seeds with which every fault kind strikes this run (the faults a request meets are a pure
# function of the seed and the request).
SEEDS = {"genesys": 13, "cxone": 2}


def _kind(label: str) -> str | None:
    for kind in FAULT_KINDS:
        if label == kind or (kind.endswith("_5") and label.startswith(kind)):
            return kind
    return None


@pytest.mark.parametrize("platform", ["genesys", "cxone"])
def test_faulty_platform_ends_exact_and_a_rerun_sends_nothing(
    platform: str, start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    seed = SEEDS[platform]
    platforms = start_emulator(seed=seed, faults=FAULTS, token_ttl=1, cxone_token_ttl=1)
    numbers = [*nanp_numbers(COUNT, seed), *INTERNATIONAL]
    write_source(tmp_path / "source.csv", numbers, seed=seed)
    target = genesys_target if platform == "genesys" else cxone_target
    config = write_config(tmp_path, [target(platforms, batch_size=BATCH, concurrency=4)])

    first = run_sync(config)

    assert first.code == 0, first.stderr
    assert platforms.held(platform) == set(numbers)
    (summary,) = first.summary()["targets"].values()
    assert summary["acknowledged"] == len(numbers)
    assert summary["failed"] == 0
    assert summary["writes"] >= 20
    log = platforms.requests()
    met = Counter(_kind(r.fault) for r in log if r.fault is not None)
    assert all(met[kind] for kind in FAULT_KINDS), met
    # One-second tokens outlive no run: dncsync had to sign in again along the way.
    assert sum(1 for r in log if r.path.endswith("/token")) >= 2

    mark = platforms.mark()
    again = run_sync(config)

    assert again.code == 0, again.stderr
    assert platforms.number_writes(since=mark) == []
    assert platforms.held(platform) == set(numbers)


@pytest.mark.parametrize("platform", ["genesys", "cxone"])
def test_platform_expirations_match_the_source(
    platform: str, platforms: Platforms, tmp_path: Path
) -> None:
    rng = random.Random(7)
    today = datetime.now(UTC).date()
    ends = [today + timedelta(days=days) for days in (20, 45, 90, 150)]
    numbers = nanp_numbers(600, 7)
    rows = [
        Row(phone, "COMPANY_POLICY", rng.choice(ends).isoformat()) if i % 2 else Row(phone)
        for i, phone in enumerate(numbers)
    ]
    write_source(tmp_path / "source.csv", rows, seed=7)
    target = genesys_target if platform == "genesys" else cxone_target
    config = write_config(tmp_path, [target(platforms, batch_size=100)])

    finished = run_sync(config)

    assert finished.code == 0, finished.stderr
    # A hold through day D ends at D + 1: Genesys 00:00Z that day, CXone's expiredDate that day.
    expected: dict[str, str | None] = {}
    for row in rows:
        if not row.expiration:
            expected[row.phone] = None
            continue
        end = datetime.fromisoformat(row.expiration).date() + timedelta(days=1)
        expected[row.phone] = (
            end.strftime("%Y-%m-%dT00:00Z") if platform == "genesys" else end.strftime("%m/%d/%Y")
        )
    held = platforms.genesys() if platform == "genesys" else platforms.cxone()
    assert held == expected
