"""`collect`: numbers added on a platform behind dncsync's back become opt-outs for every target.

For a target with `collect = true`, the whole list is read and compared with what its sources
and the intake hold (`drift.compare`): a number the platform holds that no source holds and
that dncsync did not add (an agent's "do not call", an IVR option, what the list held before
dncsync) is *foreign*. Each becomes an opt-out in the intake store, source
`platform:<target>`, reason `collect_reason`, received when found, so it flows wherever the
intake flows: `plan`/`sync` merge it into every target's entries, serve's pusher sends it to
every target within seconds, and its 10-business-day clock runs like any request's.

On the list it came from it is now held by a source: it is no longer foreign, the snapshot
keeps it as not dncsync's (so no plan ever removes it, in any mode), and the read refreshes
that list's snapshot so the sync that follows plans without reading the list again. A number
that later leaves that list stays an opt-out (the protective reading) and is sent back to it;
withdrawing its request is how it is let go, and a withdrawn number is not collected again.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from dncsync import logs, wiring
from dncsync.config import Config, ServeConfig
from dncsync.drift import corrected_snapshot
from dncsync.intake import collected, entry_of
from dncsync.model import Entry
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.platforms.base import TargetConfigBase
from dncsync.run.lifecycle import Run
from dncsync.run.lists import compare_read, opened
from dncsync.state.intake import IntakeStore
from dncsync.storage import open_intake

log = logs.logger("dncsync.run")

_MOST_SETTLED = 1_000_000  # open deliveries looked at per target after a sync
_FAR = timedelta(days=3650)


def intake_store_for(config: Config, base: Path) -> IntakeStore:
    """The intake store beside the state, knowing every target that takes the intake."""
    return open_intake(config, base, {t.name: t.scopes for t in config.target if t.intake})


def collect_all(
    run: Run,
    intake: IntakeStore,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, TargetOutcome]:
    """Collect from every chosen target with `collect = true`, each locked and on its own;
    their outcomes (the sync that follows fills the same ones). Later steps of the run see
    the new opt-outs among every target's entries."""
    outcomes: dict[str, TargetOutcome] = {}
    for target in run.targets:
        if not target.collect:
            continue

        def step(outcome: TargetOutcome, target: TargetConfigBase = target) -> None:
            asyncio.run(run.running(collect_target(run, target, outcome, intake, transport)))

        outcomes[target.name] = outcome = run.outcome(target)
        run.result.targets.append(outcome)
        run.attempt(target, step, outcome)
    run.forget_intake()
    return outcomes


def settle_held(run: Run, intake: IntakeStore) -> None:
    """Mark held the intake deliveries whose numbers the run's targets now hold, as serve's
    pusher does, so a collected opt-out a sync delivered does not show as pending (in
    `dncsync runs`, the API) until serve runs."""
    if not run.records:
        return
    now = datetime.now(UTC)
    for target in run.targets:
        outcome = run.result.target(target.name)
        if not target.intake or outcome is None or not outcome.key:
            continue
        # Failed deliveries too, whatever their next try: the list holds the number now.
        open_now = intake.open_deliveries(target.name, _MOST_SETTLED, now + _FAR)
        phones = sorted({request.phone for request in open_now})
        held: set[str] = set()
        for key in run.keys(target):
            held |= run.store.holding(key, phones)
        ids = [request.request_id for request in open_now if request.phone in held]
        if ids:
            intake.settle(target.name, ids, {}, {}, retry_at=now).result()


def run_collect(
    config: Config,
    base: Path,
    target: str,
    intake: IntakeStore,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunResult:
    """One run (`command = "collect"`) that collects from one target: what serve does every
    `collect_every`; raises the `RunEnded` its outcome calls for."""
    with Run(config, base, "collect", target=target, signals=False) as run:
        collect_all(run, intake, transport)
    return run.conclude()


async def collect_target(
    run: Run,
    target: TargetConfigBase,
    outcome: TargetOutcome,
    intake: IntakeStore,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Read the target's lists, store what they hold of nobody's as opt-outs; fills
    `outcome.collected` with the opt-outs stored now."""
    policy = wiring.policy(run.config)
    zone = ZoneInfo((run.config.serve or ServeConfig()).timezone)
    entries = run.entries(target)
    found_at = datetime.now(UTC)
    found: list[str] = []
    missing: set[str] | None = None  # on none of the target's lists
    async with opened(run, target, outcome, transport) as lists:
        outcome.key = lists.first.key
        for state in lists.states:
            snapshot = run.store.snapshot(state.key)
            remote = await state.handle.read_all()
            # Foreign whatever `remove_foreign` says: a collecting target may not remove
            # them (`config` refuses the pair).
            foreign = compare_read(
                state.handle, entries, snapshot, remote, target, lists.today, remove_foreign=False
            )
            fresh = [
                entry_of(phone, target.collect_reason, found_at, policy, lists.today)
                for phone in foreign.foreign
            ]
            # The snapshot as the platform holds it, the new opt-outs counted among the
            # desired entries: they are held as they should be, so no plan writes them.
            desired = _Chained(entries, fresh)
            drift = compare_read(
                state.handle, desired, snapshot, remote, target, lists.today, remove_foreign=False
            )
            corrected = corrected_snapshot(desired, snapshot, remote, drift, today=lists.today)
            if run.records:
                run.store.replace_snapshot(state.key, corrected, run.id)
            if not snapshot:
                outcome.seeded_from_platform = (outcome.seeded_from_platform or 0) + len(corrected)
            outcome.read_reason = "collect: reading the list for numbers dncsync did not add"
            found.extend(foreign.foreign)
            # Numbers are spread over a target's lists: missing means missing from all.
            gone = set(foreign.missing)
            missing = gone if missing is None else missing & gone
    if missing and target.intake and run.records:
        # Opt-outs this list held and no longer does (removed on the platform's side): the
        # pusher sends them back, the protective reading; a sync would re-add them too.
        reopened = await asyncio.wrap_future(intake.reopen(target.name, sorted(missing)))
        if reopened:
            log.info("dnc.intake_reopened", target=target.name, deliveries=reopened)
    optouts = [
        collected(phone, target.name, target.collect_reason, found_at, zone)
        for phone in sorted(set(found))
    ]
    stored = await asyncio.wrap_future(intake.collect(optouts)) if optouts else []
    outcome.collected = len(stored)
    log.info(
        "dnc.collected",
        target=target.name,
        found=len(optouts),
        collected=len(stored),
        reason=target.collect_reason.value,
    )


class _Chained(Iterable[Entry]):
    """The entries and the new opt-outs, read again each time (millions are not copied)."""

    def __init__(self, entries: Sequence[Entry], extra: list[Entry]) -> None:
        self.entries, self.extra = entries, extra

    def __iter__(self) -> Iterator[Entry]:
        return itertools.chain(self.entries, self.extra)


__all__ = ["collect_all", "collect_target", "intake_store_for", "run_collect", "settle_held"]
