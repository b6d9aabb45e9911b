"""`plan` and `sync`: plan each target against its snapshot and push the difference.

    sources ─► ingest ─► entries ─► (per target) snapshot ─► plan ─► safety ─► push ─► verify

For each target the step seeds a mirror target's snapshot from the platform on its first run,
plans against the snapshot, refuses unsafe plans before any write, and pushes batches with
bounded concurrency. Each batch is journaled as intended before it is sent and settled
(snapshot and journal in one transaction) after the platform answered, so a run killed at any
point resumes by planning again: acknowledged numbers are in the snapshot and are not sent
again; only the batches in flight at the kill are.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from dncsync import logs
from dncsync.config import Config
from dncsync.drift import Drift, compare, corrected_snapshot
from dncsync.errors import DncsyncError, SafetyStop
from dncsync.model import Entry
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.plan import Batch, Held, Mode, TargetRules, batches, plan
from dncsync.platforms import build_target
from dncsync.platforms.base import TargetConfigBase
from dncsync.run.lifecycle import Run
from dncsync.state import Store
from dncsync.targets.base import Capabilities, ListFacts, RemoteRecord, Target

log = logs.logger("dncsync.run")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the operator asked of this run."""

    target: str | None = None
    apply: bool = True  # False: plan only (no write anywhere, the state store included)
    allow_mass_removal: bool = False
    verify: bool = False  # read each platform back after the push and compare
    today: date | None = None  # injected by tests; default: today in UTC


def run_sync(
    config: Config,
    base: Path,
    options: RunOptions,
    *,
    command: str = "sync",
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunResult:
    """Plan (and with `options.apply`, push) every chosen target, leaving the run's evidence.

    Each target runs on its own: one failing (configuration, credentials, network, platform)
    does not stop the others. A run that did not do everything it should raises the
    `RunEnded` its most severe target calls for (exit 1 to 6, or 130/143 when interrupted),
    carrying the result, so the caller can still print the summary and the report paths.
    `transport` sends every request through it instead of the network (tests, in-process).
    """
    with Run(
        config, base, command, target=options.target, records=options.apply, today=options.today
    ) as run:
        for target in run.targets:

            def step(outcome: TargetOutcome, target: TargetConfigBase = target) -> None:
                asyncio.run(
                    run.running(
                        sync_target(
                            run, target, options, outcome, progress=progress, transport=transport
                        )
                    )
                )

            run.attempt(target, step)
    return run.conclude()


@contextlib.asynccontextmanager
async def open_target(
    run: Run, target: TargetConfigBase, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Target]:
    """The platform target for a configured one, with the run's credentials.

    It opens its own client, or, given a transport, one over it (tests run in-process).
    """
    async with contextlib.AsyncExitStack() as stack:
        client = None
        if transport is not None:
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport))
        handle = build_target(run.settings[target.name], client)
        yield await stack.enter_async_context(handle)


async def sync_target(
    run: Run,
    target: TargetConfigBase,
    options: RunOptions,
    outcome: TargetOutcome,
    *,
    entries: Sequence[Entry] | None = None,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> TargetOutcome:
    """Plan one target and, unless this is a dry run, push the plan; fills `outcome`."""
    started = time.monotonic()
    try:
        await _sync_target(run, target, options, outcome, entries, progress, transport)
    finally:
        outcome.duration_seconds = time.monotonic() - started
    return outcome


async def _sync_target(
    run: Run,
    target: TargetConfigBase,
    options: RunOptions,
    outcome: TargetOutcome,
    entries: Sequence[Entry] | None,
    progress: Progress | None,
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    if entries is None:
        entries = run.entries(target)
    accepted = run.ingested(target).accounting.accepted
    store = run.store
    key = outcome.key or run.key(target)
    async with open_target(run, target, transport) as handle:
        # One cheap request first: the list exists and takes numbers (else this target fails
        # with exit 3, even with nothing to send), how many it holds, and the platform's clock.
        facts = await handle.describe()
        today = decide_today(run, target, facts, outcome)
        snapshot = store.snapshot(key)
        reason = _read_reason(store, key, target, facts, snapshot, handle.capabilities)
        if reason is not None:
            snapshot = await _read_list(
                run, target, key, handle, entries, snapshot, today, reason, outcome, options
            )
        rules = TargetRules(
            mode=target.mode,
            max_expiry_days=handle.capabilities.max_expiry_days,
            expire_after_retention=target.expire_after_retention,
            remove_foreign=target.remove_foreign,
        )
        outcome.plan = the_plan = plan(entries, snapshot, today, rules)
        log.info(
            "dnc.planned",
            target=target.name,
            adds=len(the_plan.adds),
            updates=len(the_plan.updates),
            removes=len(the_plan.removes),
            expiries=len(the_plan.expiries),
            expired=the_plan.expired,
            unchanged=the_plan.unchanged,
            foreign=the_plan.foreign,
        )
        try:
            check_safety(outcome, target, accepted, options.allow_mass_removal)
        except SafetyStop as stop:
            outcome.stopped = str(stop)
            return
        if options.apply and the_plan.writes:
            work = list(
                batches(
                    the_plan,
                    target.batch_size,
                    handle.capabilities.max_body_bytes,
                    expiry_per_record=handle.capabilities.expiry_per_record,
                )
            )
            pushing = time.monotonic()
            run.pushing = True
            try:
                await push_all(
                    handle,
                    store,
                    run.id,
                    target,
                    work,
                    outcome,
                    _advance(work, progress),
                    key=key,
                    stopping=lambda: run.interrupted is not None,
                )
            finally:
                run.pushing = False
                outcome.push_seconds = time.monotonic() - pushing
        if run.interrupted is not None:
            outcome.interrupted = True
            return
        if options.verify:
            outcome.verification, _ = await read_and_compare(
                handle, entries, store.snapshot(key), target, today
            )
            outcome.verified_at = datetime.now(UTC)
            if options.apply and not outcome.verification.drifted:
                store.mark_read(key, target.name)


# Past this much disagreement between this machine's clock and the platform's, every
# time-dependent decision for the target is made by the platform's clock.
CLOCK_SKEW_LIMIT_SECONDS = 300.0


def decide_today(
    run: Run, target: TargetConfigBase, facts: ListFacts, outcome: TargetOutcome
) -> date:
    """The day the target's plan is made for: the run's, or the platform's when the clocks
    disagree by more than five minutes (retention, what has expired, the 180-day cap)."""
    if facts.platform_time is None:
        return run.today
    skew = (facts.platform_time - facts.local_time).total_seconds()
    if abs(skew) <= CLOCK_SKEW_LIMIT_SECONDS:
        return run.today
    # The platform's day, as an offset from this machine's, applied to the run's day (which
    # tests may set apart from the machine's clock).
    offset = facts.platform_time.astimezone(UTC).date() - facts.local_time.astimezone(UTC).date()
    today = run.today + offset
    outcome.clock = {
        "local_time": facts.local_time.isoformat(),
        "platform_time": facts.platform_time.isoformat(),
        "skew_seconds": round(skew, 1),
        "decided_by": "platform",
        "today": today.isoformat(),
    }
    log.warning(
        "dnc.clock_skew",
        target=target.name,
        skew_seconds=round(skew, 1),
        local_time=facts.local_time.isoformat(),
        platform_time=facts.platform_time.isoformat(),
    )
    return today


def _read_reason(
    store: Store,
    key: str,
    target: TargetConfigBase,
    facts: ListFacts,
    snapshot: dict[str, Held],
    capabilities: Capabilities,
) -> str | None:
    """Why the whole list must be read before planning, if it must."""
    last = store.last_read(key)
    if last is None:
        return "first run against this list: reading what it already holds"
    if facts.size is not None:
        # Genesys' size lags its writes: a small shortfall is the lag, not a lost number.
        tolerance = max(10, len(snapshot) // 100) if capabilities.size_is_eventual else 0
        if facts.size < len(snapshot) - tolerance:
            return (
                f"the platform says the list holds {facts.size} numbers, the state "
                f"{len(snapshot)}: reading the list to find what is missing"
            )
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    age = (datetime.now(UTC) - last).total_seconds()
    if age >= target.verify_every_seconds:
        return f"last read in full {age / 86400:.1f} days ago (verify_every {target.verify_every})"
    return None


async def _read_list(
    run: Run,
    target: TargetConfigBase,
    key: str,
    handle: Target,
    entries: Sequence[Entry],
    snapshot: dict[str, Held],
    today: date,
    reason: str,
    outcome: TargetOutcome,
    options: RunOptions,
) -> dict[str, Held]:
    """Read the whole list and take it as the snapshot: missing numbers are planned again,
    numbers someone else put there are marked as not ours."""
    log.info("dnc.list_read", target=target.name, reason=reason)
    outcome.read_reason = reason
    drift, remote = await read_and_compare(handle, entries, snapshot, target, today)
    corrected = corrected_snapshot(entries, snapshot, remote, drift, today=today)
    if options.apply:
        run.store.replace_snapshot(key, corrected, run.id)
    if not snapshot:
        outcome.seeded_from_platform = len(corrected)
    return dict(corrected)


def _advance(work: list[Batch], progress: Progress | None) -> Callable[[str, int], None]:
    total = sum(len(b.phones) for b in work)
    done = 0

    def advance(target: str, count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(target, done, total)

    return advance


def check_safety(
    outcome: TargetOutcome, target: TargetConfigBase, accepted: int, allow: bool
) -> None:
    """Refuse, before any write, a plan that would empty or gut a list."""
    assert outcome.plan is not None
    if target.mode is Mode.MIRROR and accepted == 0 and not allow:
        raise SafetyStop(
            f"target {target.name!r}: the sources gave no accepted numbers, and mirror mode "
            f"would remove all {outcome.plan.held_before} numbers the list holds; nothing was "
            "written. Check the source; if the list must really be emptied, rerun with "
            "--allow-mass-removal"
        )
    fraction = outcome.plan.removal_fraction()
    if outcome.plan.removals and fraction > target.max_removal_fraction and not allow:
        raise SafetyStop(
            f"target {target.name!r}: the plan removes {outcome.plan.removals} of "
            f"{outcome.plan.held_before} numbers ({fraction:.1%}), above max_removal_fraction "
            f"{target.max_removal_fraction:.1%}; nothing was written. If these removals are "
            "intended, rerun with --allow-mass-removal"
        )


async def push_all(
    handle: Target,
    store: Store,
    run_id: str,
    target: TargetConfigBase,
    work: list[Batch],
    outcome: TargetOutcome,
    advance: Callable[[str, int], None] | None = None,
    *,
    key: str,
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Push batches with bounded concurrency, each journaled before it is sent and settled
    after; once `stopping()` says so (an interrupt), no new batch is sent."""
    limit = asyncio.Semaphore(target.concurrency)

    async def one(batch: Batch) -> None:
        async with limit:
            if stopping():
                return
            batch_id = store.batch_intended(run_id, key, batch)
            result = await handle.push(batch)
            store.batch_settled(batch_id, key, batch, result, run_id=run_id)
            outcome.batches.append(result)
            log.info(
                "dnc.batch_settled",
                target=target.name,
                action=batch.action,
                count=result.count,
                acknowledged=len(result.acknowledged),
                failed=len(result.failed),
                attempts=result.attempts,
                status=result.status,
                correlation_id=result.correlation_ids[-1:] or None,
                duration_seconds=round(result.duration_seconds, 3),
            )
            if advance is not None:
                advance(target.name, result.count)

    try:
        async with asyncio.TaskGroup() as group:
            for batch in work:
                group.create_task(one(batch))
    except* DncsyncError as failed:
        # A fatal answer (refused credentials, a missing list) fails every batch alike; the
        # TaskGroup wraps it in an ExceptionGroup, which would read as a bug (exit 1). Raise
        # the first one itself, so it keeps its message and its exit code.
        raise failed.exceptions[0] from None


async def read_and_compare(
    handle: Target,
    entries: Sequence[Entry],
    snapshot: dict[str, Held],
    target: TargetConfigBase,
    today: date,
) -> tuple[Drift, list[RemoteRecord]]:
    """Read the platform's whole list and compare it: what `reconcile` and `sync --verify` do.

    Numbers the target is configured not to send are not expected there (they are reported
    as skipped by the push, not as missing)."""
    remote = await handle.read_all()
    drift = compare(
        [entry for entry in entries if not handle.skips(entry.phone)],
        snapshot,
        remote,
        target=target.name,
        mode=target.mode,
        today=today,
        max_expiry_days=handle.capabilities.max_expiry_days,
        expire_after_retention=target.expire_after_retention,
        remove_foreign=target.remove_foreign,
    )
    return drift, remote
