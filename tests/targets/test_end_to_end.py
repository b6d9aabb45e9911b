"""Both targets against the emulator over a real loopback socket: pacing, faults, exactness."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dncsync.emulator import (
    EmulatorSettings,
    FaultSettings,
    RateLimit,
    RequestRecord,
    RunningEmulator,
    run_in_thread,
)
from dncsync.platforms import build_target
from dncsync.platforms.cxone import CxoneTarget
from dncsync.platforms.genesys import GenesysTarget
from dncsync.targets import WriteBatch

from .support import cxone_settings, genesys_settings

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TODAY = datetime.now(UTC).date()


def numbers(count: int, start: int = 0) -> tuple[str, ...]:
    return tuple(f"+1212555{n:04d}" for n in range(start, start + count))


def after_first_window(records: list[RequestRecord], window: float) -> list[RequestRecord]:
    first = min(record.at for record in records)
    return [record for record in records if record.at >= first + window]


@pytest.fixture
def limited() -> Iterator[RunningEmulator]:
    """20 requests per 1-second window per client, Retry-After = seconds to the window's end."""
    settings = EmulatorSettings(rate_limit=RateLimit(20, 1.0), cxone_rate_limit=RateLimit(20, 1.0))
    with run_in_thread(settings) as emulator:
        yield emulator


@pytest.mark.long  # waits out rate windows
async def test_genesys_pacing_learns_the_limit(limited: RunningEmulator) -> None:
    list_id = limited.state.genesys_create_list("dnc")
    # Starting at 3,000/min, far above the platform's 1,200/min: the headers must rein it in.
    settings = genesys_settings(
        limited.base_url, dnc_list_id=list_id, requests_per_minute=3000, concurrency=4
    )
    batches = [WriteBatch("add", numbers(5, start=5 * n), None) for n in range(100)]
    async with build_target(settings) as target:
        results = await asyncio.gather(*(target.push(batch) for batch in batches))
    assert all(result.ok for result in results)
    writes = [r for r in limited.state.requests() if r.method == "PATCH"]
    later = after_first_window(writes, 1.0)
    limited_later = sum(1 for r in later if r.status == 429)
    assert len(later) >= 60
    assert limited_later / len(later) < 0.05, f"{limited_later} of {len(later)} met a 429"
    assert len(limited.state.genesys_numbers(list_id)) == 500


@pytest.mark.long  # waits out rate windows
async def test_cxone_pacing_learns_the_limit_without_headers() -> None:
    settings = EmulatorSettings(
        rate_limit=RateLimit(20, 1.0),
        cxone_rate_limit=RateLimit(20, 1.0),
        cxone_retry_after_header=False,
    )
    with run_in_thread(settings) as emulator:
        group = emulator.state.cxone_create_group("dnc")
        target_settings = cxone_settings(
            emulator.base_url, dnc_group_id=group, requests_per_minute=3000, concurrency=4
        )
        batches = [WriteBatch("add", numbers(5, start=5 * n), None) for n in range(100)]
        async with CxoneTarget(target_settings) as target:
            results = await asyncio.gather(*(target.push(batch) for batch in batches))
        writes = [r for r in emulator.state.requests() if r.path.endswith("/records")]
        held = emulator.state.cxone_held(group)
    assert all(result.ok for result in results)
    later = after_first_window(writes, 1.0)
    limited_later = sum(1 for r in later if r.status == 429)
    assert len(later) >= 60
    assert limited_later / len(later) < 0.05, f"{limited_later} of {len(later)} met a 429"
    assert len(held) == 500


async def test_both_targets_stay_exact_through_faults_over_a_socket() -> None:
    faults = FaultSettings(
        error_rate=0.05, cut_rate=0.05, after_write_rate=0.05, storm_rate=0.05, storm_length=2
    )
    settings = EmulatorSettings(
        rate_limit=RateLimit(1_000_000, 60.0),
        faults=faults,
        seed=5,
        retry_after=0,
        export_delay_seconds=0.05,
    )
    expires = TODAY + timedelta(days=60)
    wanted = set(numbers(600))
    with run_in_thread(settings) as emulator:
        list_id = emulator.state.genesys_create_list("dnc")
        group = emulator.state.cxone_create_group("dnc")
        genesys = GenesysTarget(
            genesys_settings(emulator.base_url, dnc_list_id=list_id, retry_budget_seconds=30)
        )
        cxone = CxoneTarget(
            cxone_settings(emulator.base_url, dnc_group_id=group, retry_budget_seconds=30)
        )
        batches = [WriteBatch("add", numbers(25, start=25 * n), expires) for n in range(26)]
        drop = WriteBatch("remove", numbers(50, start=600), None)
        async with genesys, cxone:
            for target in (genesys, cxone):
                results = await asyncio.gather(*(target.push(batch) for batch in batches))
                assert all(result.ok for result in results)
                assert (await target.push(drop)).ok
            on_genesys = await genesys.read_all()
            on_cxone = await cxone.read_all()
        met = {r.fault for r in emulator.state.requests() if r.fault}
    assert {r.phone for r in on_genesys if r.held} == wanted
    assert {r.phone for r in on_cxone if r.held} == wanted
    assert {r.expires for r in on_genesys} == {expires}
    assert {r.expires for r in on_cxone if r.held} == {expires}
    kinds = {fault.split("_")[0] for fault in met}
    assert {"error", "cut", "after", "storm"} <= kinds
