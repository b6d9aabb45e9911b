"""serve's scheduled work: collecting from targets' lists, and reading scheduled sources again.

    collect = true on a target     every `collect_every`: one `collect` run reads the list;
                                   numbers dncsync did not add become intake opt-outs, which
                                   the pushers send to every other target within seconds
    schedule = "..." on a source   at each fire time: the source's fingerprint (an S3 listing,
                                   a local file's SHA-256); when it changed since the last
                                   complete sync, one `sync` run of the targets that use it

Each job is a run of its own (evidence, locks, report) in a worker thread, so the API and the
pushers go on meanwhile. The jobs run one at a time (`one_at_a_time`), so they never stop each
other on a list's lock; a list locked by a pusher's micro-batch or by a `sync` outside serve
stops that run before any write, and the job is tried again after RETRY_SECONDS. An
unchanged source costs no platform request: only the fingerprint is taken.

Fires are taken, not assumed: every process sharing the state (replicas on one PostgreSQL
state, or serve restarted on a file) names the same fire times (`sources.schedule`), and the
intake store gives each fire to one of them (`claim_fire`). What a complete sync read is kept
there too, so an unchanged source is not synced again by another replica or after a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from dncsync import logs
from dncsync.config import Config, SourceConfig, resolve_path
from dncsync.errors import DncsyncError, RunEnded
from dncsync.platforms.base import TargetConfigBase
from dncsync.run.collect import run_collect
from dncsync.run.sync import RunOptions, run_sync
from dncsync.sources.fingerprint import fingerprint
from dncsync.sources.schedule import Schedule
from dncsync.state.intake import IntakeStore

log = logs.logger("dncsync.serve")

# A job that did not complete (a locked list, a platform down) is tried again this soon, or at
# its next fire time if that comes first.
RETRY_SECONDS = 30.0
_TICK = 0.2  # how often a waiting job looks whether serve is stopping


async def collecting(
    config: Config,
    base: Path,
    target: TargetConfigBase,
    intake: IntakeStore,
    stored: Callable[[int], None],
    stopping: Callable[[], bool],
    one_at_a_time: asyncio.Lock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Collect from `target` at each `collect_every` fire this process takes, until
    `stopping()`; `stored(count)` is told of the opt-outs each collection stored."""

    async def collect() -> bool:
        complete = False
        try:
            async with one_at_a_time:
                result = await asyncio.to_thread(
                    run_collect, config, base, target.name, intake, transport=transport
                )
            count, complete = result.collected() or 0, True
        except RunEnded as ended:
            count = ended.result.collected() or 0
            log.warning("dnc.collect_incomplete", target=target.name, error=str(ended))
        except DncsyncError as failed:
            count = 0
            log.warning("dnc.collect_incomplete", target=target.name, error=str(failed))
        except Exception:  # a bug in one collection must not end the schedule
            count = 0
            log.exception("dnc.collect_incomplete", target=target.name)
        if count:
            stored(count)
        return complete

    schedule = Schedule.every(target.collect_every_seconds)
    await _each_fire(f"collect:{target.name}", schedule, intake, stopping, collect)


async def watching(
    config: Config,
    base: Path,
    source: SourceConfig,
    intake: IntakeStore,
    stopping: Callable[[], bool],
    one_at_a_time: asyncio.Lock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Sync the targets that use a scheduled source at each fire this process takes, when
    the source changed since the last complete sync."""
    assert source.schedule is not None
    schedule = Schedule.parse(source.schedule)
    users = [t.name for t in config.target if source.name in _source_names(config, t)]
    if not users:
        log.warning("dnc.schedule_unused", source=source.name)
        return
    # One run for every target when all use the source; else one run per target using it.
    runs: list[str | None] = [None] if len(users) == len(config.target) else list(users)
    url = resolve_path(base, source.url)
    job = f"source:{source.name}"
    # What a complete sync read: the source's fingerprint under this configuration (a changed
    # configuration, a target added say, syncs again though the source did not change).
    configured = config.digest()

    async def look() -> bool:
        try:
            now = await asyncio.to_thread(fingerprint, url, source.s3_endpoint_url)
            read = f"{configured} {now}"
            if read == await asyncio.to_thread(intake.remembered, job):
                log.info("dnc.source_unchanged", source=source.name)
                return True
        except DncsyncError as failed:
            log.warning("dnc.source_unreadable", source=source.name, error=str(failed))
            return False
        except Exception:  # a bug in one look must not end the schedule
            log.exception("dnc.source_unreadable", source=source.name)
            return False
        if stopping():
            return True  # no new run once serve stops
        async with one_at_a_time:
            complete = await _sync(config, base, source, runs, transport)
        if complete:
            await asyncio.wrap_future(intake.remember(job, read))
        return complete

    await _each_fire(job, schedule, intake, stopping, look)


async def _each_fire(
    job: str,
    schedule: Schedule,
    intake: IntakeStore,
    stopping: Callable[[], bool],
    work: Callable[[], Awaitable[bool]],
) -> None:
    """Work each fire of `job` that this process takes (of every process and replica
    sharing the state, one takes each fire): the latest fire at the start, then each next
    one. Work that did not complete is tried again after RETRY_SECONDS by the process that
    took the fire, until the next fire comes (then whoever takes that one works it)."""
    fire = schedule.last_fire(datetime.now(UTC))
    while not stopping():
        try:
            taken = await asyncio.wrap_future(intake.claim_fire(job, fire))
        except DncsyncError as failed:  # the store unreachable: this fire is not worked
            taken = False
            log.warning("dnc.schedule_unclaimed", job=job, error=str(failed))
        following = schedule.next_fire(max(fire, datetime.now(UTC)))
        if taken:
            log.info("dnc.fire_taken", job=job, fire=fire.isoformat())
            while not await _worked(job, work) and not stopping():
                retry = datetime.now(UTC) + timedelta(seconds=RETRY_SECONDS)
                if retry >= following:
                    break
                await _until(time.monotonic() + RETRY_SECONDS, stopping)
            following = schedule.next_fire(max(fire, datetime.now(UTC)))
        else:
            log.info("dnc.fire_taken_elsewhere", job=job, fire=fire.isoformat())
        wait = (following - datetime.now(UTC)).total_seconds()
        await _until(time.monotonic() + max(0.0, wait), stopping)
        fire = following


async def _sync(
    config: Config,
    base: Path,
    source: SourceConfig,
    runs: list[str | None],
    transport: httpx.AsyncBaseTransport | None,
) -> bool:
    """One `sync` run per entry of `runs` (a target's name, or None for all); whether every
    one ended well."""
    complete = True
    for chosen in runs:
        try:
            result = await asyncio.to_thread(
                run_sync, config, base, RunOptions(target=chosen), transport=transport
            )
            run_id = result.run_id
        except RunEnded as ended:
            complete = False
            run_id = ended.result.run_id
            log.warning("dnc.scheduled_sync_incomplete", source=source.name, error=str(ended))
        except DncsyncError as failed:
            complete = False
            run_id = None
            log.warning("dnc.scheduled_sync_incomplete", source=source.name, error=str(failed))
        except Exception:  # a bug in one run must not end the schedule
            complete = False
            run_id = None
            log.exception("dnc.scheduled_sync_incomplete", source=source.name)
        log.info("dnc.source_synced", source=source.name, target=chosen, run=run_id)
    return complete


async def _worked(job: str, work: Callable[[], Awaitable[bool]]) -> bool:
    """Whether the work completed; an error it did not expect is logged and counts as not
    completed (tried again), never the end of the job's schedule."""
    try:
        return await work()
    except Exception:
        log.exception("dnc.timed_job_failed", job=job)
        return False


def _source_names(config: Config, target: TargetConfigBase) -> set[str]:
    return {source.name for source in config.sources_for(target)}


async def _until(deadline: float, stopping: Callable[[], bool]) -> None:
    while not stopping() and time.monotonic() < deadline:
        await asyncio.sleep(min(_TICK, max(0.0, deadline - time.monotonic())))


__all__ = ["RETRY_SECONDS", "collecting", "watching"]
