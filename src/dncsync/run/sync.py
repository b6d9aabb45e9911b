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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from dncsync import logs
from dncsync.config import Config
from dncsync.drift import Drift
from dncsync.errors import ConfigError, DncsyncError, SafetyStop
from dncsync.model import Entry
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.plan import Batch, Mode, Plan, batches
from dncsync.platforms.base import TargetConfigBase
from dncsync.privacy import SAMPLE_SIZE, mask_phone
from dncsync.run.collect import collect_all, intake_store_for, settle_held
from dncsync.run.lifecycle import Run
from dncsync.run.lists import (
    Lists,
    ListState,
    assign,
    combined,
    opened,
    read_and_compare,
    take_snapshots,
)
from dncsync.state import Store
from dncsync.targets.base import Target

log = logs.logger("dncsync.run")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the operator asked of this run."""

    target: str | None = None
    apply: bool = True  # False: plan only (no write anywhere, the state store included)
    allow_mass_removal: bool = False
    verify: bool = False  # read each platform back after the push and compare
    # First, on each target with `collect = true`: numbers found on its list that no source
    # holds and dncsync did not add become opt-outs, sent to every target (`run.collect`).
    collect: bool = False
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
    if options.collect and not any(t.collect for t in config.targets_named(options.target)):
        raise ConfigError("--collect: no chosen target has collect = true (docs/configuration.md)")
    with Run(
        config, base, command, target=options.target, records=options.apply, today=options.today
    ) as run:
        # `--collect`: every collecting target read before any target is planned, so each
        # plan holds what the others' lists gave.
        intake = intake_store_for(config, base) if options.collect else None
        try:
            begun = collect_all(run, intake, transport) if intake is not None else {}
            for target in run.targets:
                earlier = begun.get(target.name)
                if earlier is not None and earlier.status != "success":
                    continue  # its collection failed: that outcome says why, the others go on

                def step(outcome: TargetOutcome, target: TargetConfigBase = target) -> None:
                    asyncio.run(
                        run.running(
                            sync_target(
                                run,
                                target,
                                options,
                                outcome,
                                progress=progress,
                                transport=transport,
                            )
                        )
                    )

                run.attempt(target, step, earlier)
            if intake is not None:
                settle_held(run, intake)
        finally:
            if intake is not None:
                intake.close()
    return run.conclude()


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
        outcome.settle_plan()
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
    accepted = run.ingested(target).accounting.accepted + len(run.intake_entries(target))
    async with opened(run, target, outcome, transport) as lists:
        await take_snapshots(run, target, lists, entries, outcome, apply=options.apply)
        assign(target, lists, entries, run.vanished(target, record=options.apply))
        outcome.plan = the_plan = combined(lists)
        _note_lists(outcome, lists)
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
        if options.apply:
            pushing = time.monotonic()
            run.pushing = True
            try:
                await _push_phases(run, target, lists, outcome, progress)
            finally:
                run.pushing = False
                outcome.push_seconds = time.monotonic() - pushing
            if lists.fit is not None and lists.fit.over:
                outcome.over_capacity = True
        if run.interrupted is not None:
            outcome.interrupted = True
            return
        if options.verify:
            drifts = []
            for state in lists.states:
                drift, _ = await read_and_compare(
                    state.handle, state.entries, run.store.snapshot(state.key), target, lists.today
                )
                drifts.append(drift)
                if options.apply and not drift.drifted:
                    run.store.mark_read(state.key, target.name)
            outcome.verification = Drift.combine(drifts)
            outcome.verified_at = datetime.now(UTC)


async def _push_phases(
    run: Run,
    target: TargetConfigBase,
    lists: Lists,
    outcome: TargetOutcome,
    progress: Progress | None,
) -> None:
    """Room first, then adds, then removes: a number changing lists is added to its new list
    before it leaves the old one, and leaves only once the new list acknowledged it."""
    store = run.store
    phases: list[list[tuple[ListState, Plan]]] = [
        [(s, Plan(removes=s.left_out)) for s in lists.states if s.left_out],
        [(s, Plan(adds=s.plan.adds, updates=s.plan.updates)) for s in lists.states],
    ]
    total = sum(
        len(s.left_out) + s.plan.writes + len(s.moves_out) for s in lists.states
    )  # every phase's numbers, moves at most
    advance = _counter(total, progress)
    for phase in phases:
        for state, part in phase:
            await _push_plan(run, target, state, part, outcome, advance)
        if run.interrupted is not None:
            return
    # A number leaves its old list only once its new list acknowledged it.
    held_now = {s.key: set(store.snapshot(s.key)) for s in lists.states if len(lists.states) > 1}
    for state in lists.states:
        moving = [
            p
            for p in state.moves_out
            if any(p in held for key, held in held_now.items() if key != state.key)
        ]
        part = Plan(removes=sorted({*state.plan.removes, *moving}), expiries=state.plan.expiries)
        await _push_plan(run, target, state, part, outcome, advance)
        if run.interrupted is not None:
            return


async def _push_plan(
    run: Run,
    target: TargetConfigBase,
    state: ListState,
    part: Plan,
    outcome: TargetOutcome,
    advance: Callable[[str, int], None],
) -> None:
    if not part.writes:
        return
    capabilities = state.handle.capabilities
    work = list(
        batches(
            part,
            target.batch_size,
            capabilities.max_body_bytes,
            expiry_per_record=capabilities.expiry_per_record,
        )
    )
    await push_all(
        state.handle,
        run.store,
        run.id,
        target,
        work,
        outcome,
        advance,
        key=state.key,
        stopping=lambda: run.interrupted is not None,
    )


def _note_lists(outcome: TargetOutcome, lists: Lists) -> None:
    """Per-list figures and the capacity, for the summary and the report."""
    fitted = lists.fit
    if fitted is not None and (fitted.over or len(lists.states) > 1):
        outcome.capacity = {
            "capacity": fitted.capacity,
            "to_hold": fitted.to_hold,
            "left_out": len(fitted.left_out),
            "left_out_sample": [mask_phone(e.phone) for e in fitted.left_out[:SAMPLE_SIZE]],
        }
        if fitted.over:
            log.warning(
                "dnc.over_capacity",
                target=outcome.name,
                capacity=fitted.capacity,
                to_hold=fitted.to_hold,
                left_out=len(fitted.left_out),
            )
    if len(lists.states) > 1:
        outcome.lists = {
            state.list_id: {
                "held_before": state.plan.held_before,
                "adds": len(state.plan.adds),
                "updates": len(state.plan.updates),
                "removes": len(state.plan.removes),
                "expiries": len(state.plan.expiries),
                "moves_out": len(state.moves_out),
                "left_out": len(state.left_out),
                "foreign": state.plan.foreign,
                "to_hold": len(state.entries),
            }
            for state in lists.states
        }


def _counter(total: int, progress: Progress | None) -> Callable[[str, int], None]:
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
            # Settled: the snapshot holds the acknowledged numbers; the outcome counts them.
            outcome.batches.append(result.settled())
            log.info(
                "dnc.batch_settled",
                target=target.name,
                action=batch.action,
                count=result.count,
                acknowledged=result.acknowledged_count,
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
