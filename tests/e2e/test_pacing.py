"""The pace learns the platform's limit: once past the first window, 429s are rare.

dncsync starts at a pace far above what the emulator allows (6,000 requests a minute against
10 a second) and has to find the limit: from Genesys' `inin-ratelimit-*` headers, and on
CXone, which sends none, from the 429s themselves. The run spans at least six windows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dncsync.emulator import RateLimit

from .support import (
    Platforms,
    cxone_target,
    genesys_target,
    nanp_numbers,
    run_sync,
    write_config,
    write_source,
)

# Each case waits out a platform's rate windows: CI's second stage (`-m long`).
pytestmark = [pytest.mark.slow, pytest.mark.long]

LIMIT = RateLimit(10, 1.0)
WRITES = 60  # six windows' worth at the limit
BATCH = 10


@pytest.mark.parametrize("platform", ["genesys", "cxone"])
def test_past_the_first_window_fewer_than_5_percent_of_requests_meet_a_429(
    platform: str, start_emulator: Callable[..., Platforms], tmp_path: Path
) -> None:
    platforms = start_emulator(rate_limit=LIMIT, cxone_rate_limit=LIMIT)
    numbers = nanp_numbers(WRITES * BATCH, 3)
    write_source(tmp_path / "source.csv", numbers, seed=3)
    target = genesys_target if platform == "genesys" else cxone_target
    config = write_config(
        tmp_path,
        [target(platforms, batch_size=BATCH, concurrency=4, requests_per_minute=6_000.0)],
    )

    finished = run_sync(config)

    assert finished.code == 0, finished.stderr
    assert platforms.held(platform) == set(numbers)
    # The requests the limit counts: the platform API, not logins or discovery.
    counted = [r for r in platforms.requests() if r.path.startswith(("/api/v2/", "/inContactAPI/"))]
    first_window_ends = counted[0].at + LIMIT.window_seconds
    later = [r for r in counted if r.at >= first_window_ends]
    limited = [r for r in later if r.status == 429]
    assert counted[-1].at - counted[0].at >= 5 * LIMIT.window_seconds
    assert len(limited) < 0.05 * len(later), (len(limited), len(later))
