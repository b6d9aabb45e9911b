"""A target's lists as one run sees them: opened, described, read when needed, and assigned.

A target names one list, or several (`dnc_list_ids`, `dnc_group_ids`) over which its numbers
are spread. For each list the run opens the platform target, asks for its facts (it exists,
its size, the platform's clock), takes its snapshot from the state, and reads the whole list
first when it must (`read_reason`). Then the numbers are fitted to the target's capacity and
each is given its list (`capacity.fit`, `capacity.spread`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx

from dncsync import logs
from dncsync.capacity import Fit, fit, priority, spread
from dncsync.drift import Drift, compare, corrected_snapshot
from dncsync.model import Entry
from dncsync.outcome import TargetOutcome
from dncsync.plan import Mode, Plan, TargetRules, Write, kept_regardless, plan
from dncsync.platforms import build_target, platform_of
from dncsync.platforms.base import TargetConfigBase
from dncsync.run.lifecycle import Run
from dncsync.snapshot import Held, HeldColumns
from dncsync.state import Store
from dncsync.targets.base import Capabilities, ListFacts, RemoteRecord, Target
from dncsync.targets.variant import Fingerprint

log = logs.logger("dncsync.run")

# Past this much disagreement between this machine's clock and the platform's, every
# time-dependent decision for the target is made by the platform's clock.
CLOCK_SKEW_LIMIT_SECONDS = 300.0


@dataclass(slots=True)
class ListState:
    """One list of a target during a run."""

    config: TargetConfigBase  # the target's configuration, naming this list alone
    key: str  # its identity in the state
    list_id: str
    handle: Target
    facts: ListFacts | None = None
    snapshot: Mapping[str, Held] = field(default_factory=dict)
    read_reason: str | None = None
    entries: Sequence[Entry] = field(default_factory=list)  # the numbers assigned to it
    moves_out: list[str] = field(default_factory=list)  # ours here, assigned elsewhere now
    left_out: list[str] = field(default_factory=list)  # ours here, past the capacity now
    plan: Plan = field(default_factory=Plan)


@dataclass(slots=True)
class Lists:
    """Every list of a target, the day decisions are made for, and the capacity fit."""

    states: list[ListState]
    today: date
    fit: Fit | None = None

    @property
    def first(self) -> ListState:
        """The target's first list (the one `dnc_list_id`/`dnc_group_id` names)."""
        return self.states[0]


@contextlib.asynccontextmanager
async def opened(
    run: Run,
    target: TargetConfigBase,
    outcome: TargetOutcome,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Lists]:
    """Open and describe every list of a target (a missing list fails the target, exit 3)."""
    platform = platform_of(target)
    async with contextlib.AsyncExitStack() as stack:
        client = None
        if transport is not None:
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport))
        states: list[ListState] = []
        for part in platform.lists(target):
            settings = run.settings[target.name] if part is target else platform.settings(part)
            handle = build_target(settings, client)
            await stack.enter_async_context(handle)
            states.append(ListState(part, run.key(part), platform.list_id(part), handle))
        for state in states:
            # One cheap request each: the list exists and takes numbers (else this target
            # fails with exit 3, even with nothing to send), its size, the platform's clock.
            state.facts = await state.handle.describe()
        assert states[0].facts is not None
        for state in states:
            if state.facts is not None and state.facts.problem:
                # Synced all the same (it may be switched on again), but said loudly: numbers
                # on a list that blocks nothing protect nobody.
                log.warning("dnc.list_blocks_nothing", target=target.name, why=state.facts.problem)
                outcome.blocks_nothing = state.facts.problem
        try:
            yield Lists(states, decide_today(run, target, states[0].facts, outcome))
        finally:
            # What the answers showed of the platform's variant, whatever became of the run.
            seen = Fingerprint()
            for state in states:
                seen.update(state.handle.variant())
            outcome.variant = seen.as_dict()


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


async def take_snapshots(
    run: Run,
    target: TargetConfigBase,
    lists: Lists,
    entries: Sequence[Entry],
    outcome: TargetOutcome,
    *,
    apply: bool,
) -> None:
    """Each list's snapshot, read from the platform first where it must be."""
    for state in lists.states:
        state.snapshot = run.store.snapshot(state.key)
        assert state.facts is not None
        reason = read_reason(
            run.store, state.key, target, state.facts, state.snapshot, state.handle.capabilities
        )
        if reason is None:
            continue
        log.info("dnc.list_read", target=target.name, list=state.list_id, reason=reason)
        state.read_reason = reason
        outcome.read_reason = reason if len(lists.states) == 1 else f"{state.list_id}: {reason}"
        drift, remote = await read_and_compare(
            state.handle, entries, state.snapshot, target, lists.today
        )
        corrected = corrected_snapshot(entries, state.snapshot, remote, drift, today=lists.today)
        if apply:
            run.store.replace_snapshot(state.key, corrected, run.id)
        if not state.snapshot:
            seeded = outcome.seeded_from_platform or 0
            outcome.seeded_from_platform = seeded + len(corrected)
        state.snapshot = HeldColumns.of(corrected)


def read_reason(
    store: Store,
    key: str,
    target: TargetConfigBase,
    facts: ListFacts,
    snapshot: Mapping[str, Held],
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


def assign(
    target: TargetConfigBase,
    lists: Lists,
    entries: Sequence[Entry],
    kept: frozenset[str] = frozenset(),
) -> None:
    """Fit the entries to the target's capacity and give each its list; plan every list.

    `kept`: numbers a mirror must not remove (those of vanished objects of additive sources).
    """
    first = lists.first.handle
    rules = TargetRules(
        mode=target.mode,
        max_expiry_days=first.capabilities.max_expiry_days,
        expire_after_retention=target.expire_after_retention,
        remove_foreign=target.remove_foreign,
        kept=kept,
    )
    union = _union(lists)
    total, per_list = platform_of(target).capacity(target, len(lists.states))
    taken = kept_regardless(entries, union, lists.today, rules)
    del union
    # Numbers not sent (skipped by the target's settings) take no room on the platform.
    lists.fit = fitted = fit(
        _Desired(entries, lists.today, first), total, taken, keep=len(lists.states) > 1
    )
    left = {e.phone for e in fitted.left_out}
    placed = _place(lists, entries, fitted, left, per_list)
    for state in lists.states:
        state.plan = plan(state.entries, state.snapshot, lists.today, rules)
        elsewhere = {p for p, home in placed.items() if home != state.key}
        state.moves_out = sorted(
            p for p, h in state.snapshot.items() if h.ours and p in elsewhere
        ) if elsewhere else []  # fmt: skip
        state.left_out = sorted(
            p for p, h in state.snapshot.items() if h.ours and p in left
        ) if left else []  # fmt: skip
        # Moves and room for more important numbers are taken off in their own phases.
        leaving = set(state.moves_out) | set(state.left_out)
        state.plan.removes = [p for p in state.plan.removes if p not in leaving]
        state.plan.expiries = [p for p in state.plan.expiries if p not in leaving]
        if target.mode is Mode.UPSERT:
            state.plan.retained -= len(leaving)


class _Desired(Iterable[Entry]):
    """The entries a target sends and that take room: not expired, not skipped. Read again
    each time it is iterated, so millions of entries are never held in a second list."""

    def __init__(self, entries: Sequence[Entry], today: date, handle: Target) -> None:
        self.entries, self.today, self.handle = entries, today, handle

    def __iter__(self) -> Iterator[Entry]:
        return (
            e for e in self.entries if not e.expired(self.today) and not self.handle.skips(e.phone)
        )


def _union(lists: Lists) -> Mapping[str, Held]:
    """Every list's snapshot together (the first list's wins); one list's is its own."""
    if len(lists.states) == 1:
        return lists.first.snapshot
    union: dict[str, Held] = {}
    for state in reversed(lists.states):
        union.update(state.snapshot)
    return union


def _place(
    lists: Lists, entries: Sequence[Entry], fitted: Fit, left: set[str], per_list: int
) -> dict[str, str]:
    """Give each entry that fits its list (`ListState.entries`); each phone's list when the
    target has several (empty for one list, where every entry that fits goes)."""
    if len(lists.states) == 1:
        lists.first.entries = [e for e in entries if e.phone not in left] if left else entries
        return {}
    keys = [state.key for state in lists.states]
    placed = spread((e.phone for e in sorted(fitted.kept, key=priority)), keys, per_list)
    homes: dict[str, list[Entry]] = {key: [] for key in keys}
    for entry in entries:
        if entry.phone in left:
            continue
        home = placed.get(entry.phone) or _holder(lists, entry.phone) or keys[0]
        homes[home].append(entry)
    for state in lists.states:
        state.entries = homes[state.key]
    return placed


def _holder(lists: Lists, phone: str) -> str | None:
    """The list that holds a number already (an expired entry stays where it is)."""
    return next((s.key for s in lists.states if phone in s.snapshot), None)


def combined(lists: Lists) -> Plan:
    """The target's plan: its lists' plans together."""
    if len(lists.states) == 1:
        return lists.first.plan
    total = Plan()
    adds: list[Write] = []
    updates: list[Write] = []
    removes: list[str] = []
    expiries: list[str] = []
    for state in lists.states:
        part = state.plan
        adds += part.adds
        updates += part.updates
        removes += part.removes
        expiries += part.expiries
        total.expired += part.expired
        total.held_before += part.held_before
        total.unchanged += part.unchanged
        total.foreign += part.foreign
        total.retained += part.retained
    total.adds, total.updates, total.removes, total.expiries = adds, updates, removes, expiries
    return total


async def read_and_compare(
    handle: Target,
    entries: Sequence[Entry],
    snapshot: Mapping[str, Held],
    target: TargetConfigBase,
    today: date,
) -> tuple[Drift, list[RemoteRecord]]:
    """Read the platform's whole list and compare it: what `reconcile` and `sync --verify` do.

    Numbers the target is configured not to send are not expected there (they are reported
    as skipped by the push, not as missing)."""
    remote = await handle.read_all()
    drift = compare_read(handle, entries, snapshot, remote, target, today)
    return drift, remote


def compare_read(
    handle: Target,
    entries: Iterable[Entry],
    snapshot: Mapping[str, Held],
    remote: Sequence[RemoteRecord],
    target: TargetConfigBase,
    today: date,
    *,
    remove_foreign: bool | None = None,
) -> Drift:
    """A list read (`remote`) compared with the entries, without the numbers the target is
    configured not to send; `remove_foreign` as the target says unless given."""
    return compare(
        (entry for entry in entries if not handle.skips(entry.phone)),
        snapshot,
        remote,
        target=target.name,
        mode=target.mode,
        today=today,
        max_expiry_days=handle.capabilities.max_expiry_days,
        expire_after_retention=target.expire_after_retention,
        remove_foreign=target.remove_foreign if remove_foreign is None else remove_foreign,
    )
