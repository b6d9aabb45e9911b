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
from dncsync.drift import Drift, compare
from dncsync.errors import DncsyncError, SafetyStop
from dncsync.model import Entry
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.plan import Batch, Held, Mode, TargetRules, batches, plan
from dncsync.platforms import build_target
from dncsync.platforms.base import TargetConfigBase
from dncsync.run.lifecycle import Run
from dncsync.state import Store
from dncsync.targets.base import RemoteRecord, Target

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

    A target stopped for safety does not stop the others; the run then ends with
    `RunStopped` (exit 5). Numbers not acknowledged end it with `RunIncomplete` (exit 4).
    Both carry the result, so the caller can still print the summary and the report paths.
    `transport` sends every request through it instead of the network (tests, in-process).
    """
    with Run(
        config, base, command, target=options.target, records=options.apply, today=options.today
    ) as run:
        for target in run.targets:
            try:
                with run.locked(target):
                    outcome = asyncio.run(
                        sync_target(run, target, options, progress=progress, transport=transport)
                    )
            except SafetyStop as stop:  # another run holds this target
                run.stop(target, stop)
                continue
            run.add(outcome)
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
    *,
    entries: Sequence[Entry] | None = None,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> TargetOutcome:
    """Plan one target and, unless this is a dry run, push the plan."""
    started = time.monotonic()
    if entries is None:
        entries = run.entries(target)
    accepted = run.ingested(target).accounting.accepted
    store = run.store
    outcome = run.outcome(target)
    async with open_target(run, target, transport) as handle:
        snapshot = await _snapshot(run, target, handle, outcome, apply=options.apply)
        rules = TargetRules(
            mode=target.mode,
            max_expiry_days=handle.capabilities.max_expiry_days,
            expire_after_retention=target.expire_after_retention,
        )
        outcome.plan = the_plan = plan(entries, snapshot, run.today, rules)
        log.info(
            "dnc.planned",
            target=target.name,
            adds=len(the_plan.adds),
            updates=len(the_plan.updates),
            removes=len(the_plan.removes),
            expiries=len(the_plan.expiries),
            expired=the_plan.expired,
            unchanged=the_plan.unchanged,
        )
        try:
            check_safety(outcome, target, accepted, options.allow_mass_removal)
        except SafetyStop as stop:
            outcome.stopped = str(stop)
            outcome.duration_seconds = time.monotonic() - started
            return outcome
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
            await push_all(handle, store, run.id, target, work, outcome, _advance(work, progress))
            outcome.push_seconds = time.monotonic() - pushing
        if options.verify:
            outcome.verification, _ = await read_and_compare(
                handle, entries, store.snapshot(target.name), target, run.today
            )
            outcome.verified_at = datetime.now(UTC)
    outcome.duration_seconds = time.monotonic() - started
    return outcome


async def _snapshot(
    run: Run, target: TargetConfigBase, handle: Target, outcome: TargetOutcome, *, apply: bool
) -> dict[str, Held]:
    """What the target holds: the state's snapshot, seeded from the platform on a first mirror."""
    store = run.store
    if target.mode is not Mode.MIRROR or store.is_seeded(target.name):
        return store.snapshot(target.name)
    records = await handle.read_all()
    held = [(r.phone, Held(r.expires, r.expires)) for r in records if r.held]
    outcome.seeded_from_platform = len(held)
    log.info("dnc.snapshot_seeded", target=target.name, numbers=len(held))
    if not apply:
        return dict(held)
    store.replace_snapshot(target.name, held, run.id)
    return store.snapshot(target.name)


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
) -> None:
    """Push batches with bounded concurrency, each journaled before it is sent and settled after."""
    limit = asyncio.Semaphore(target.concurrency)

    async def one(batch: Batch) -> None:
        async with limit:
            batch_id = store.batch_intended(run_id, target.name, batch)
            result = await handle.push(batch)
            store.batch_settled(batch_id, target.name, batch, result, run_id=run_id)
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
    """Read the platform's whole list and compare it: what `reconcile` and `sync --verify` do."""
    remote = await handle.read_all()
    drift = compare(
        entries,
        snapshot,
        remote,
        target=target.name,
        mode=target.mode,
        today=today,
        max_expiry_days=handle.capabilities.max_expiry_days,
        expire_after_retention=target.expire_after_retention,
    )
    return drift, remote
