"""The pusher: pending intake sent to every target in micro-batches, each target on its own.

Per target, a loop wakes every `flush_seconds`, or as soon as `max_batch` requests wait, and
sends one micro-batch through the machinery `sync` uses: each batch journaled before it is
sent and settled after (`run.sync.push_all`, with the targets' pacing and retries). The list's
lock is taken for that micro-batch only, so a `sync` or `reconcile` interleaves; a list locked
by one is tried again at the next flush.

A request becomes `held` on a target once the state's snapshot of the list holds its number,
that is once the platform acknowledged it (now or before: a number acknowledged before a
crash is found there and never sent again). A number the target does not send (its settings
skip it) is `skipped`; one it refused is `failed`, and tried again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from dncsync import logs
from dncsync.errors import AlreadyRunning, DncsyncError, LockLost
from dncsync.intake import entry_of
from dncsync.outcome import TargetOutcome
from dncsync.plan import Plan, TargetRules, batches, plan
from dncsync.platforms.base import TargetConfigBase
from dncsync.policy import Policy
from dncsync.run.lifecycle import Run
from dncsync.run.lists import Lists, ListState, opened
from dncsync.run.sync import push_all
from dncsync.serve.metrics import ServeMetrics
from dncsync.state.intake import IntakeStore, Pending

log = logs.logger("dncsync.serve")

# A number a target refused is tried again after this long (a fix on the platform's side, a
# withdrawn rejection); a failure of the whole target (auth, network) waits as long.
RETRY_AFTER = timedelta(seconds=30)
# While draining, failed numbers are tried at once: the process is about to stop.
_FAR_FUTURE = timedelta(days=3650)


@dataclass(slots=True)
class TargetPusher:
    """One target's loop during one run."""

    target: TargetConfigBase
    run: Run
    intake: IntakeStore
    policy: Policy
    metrics: ServeMetrics
    flush_seconds: float
    max_batch: int
    transport: httpx.AsyncBaseTransport | None = None
    waiting: int = 0  # requests accepted since the last flush (a hint, not a count)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ready: bool = False  # opened and described its list
    error: str | None = None  # the last failure of the whole target
    failures_in_a_row: int = 0  # opens and flushes that failed since the last good one
    outcome: TargetOutcome | None = None
    in_flight: int = 0

    def accepted(self, count: int) -> None:
        """New requests were committed: flush early once `max_batch` wait."""
        self.waiting += count
        if self.waiting >= self.max_batch:
            self.wake.set()

    async def serve(self, stopping: Callable[[], bool], draining: Callable[[], bool]) -> None:
        """Flush until `stopping()`; while `draining()`, flush back to back until nothing
        is open; a target that cannot be opened is tried again after RETRY_AFTER."""
        outcome = self.run.outcome(self.target)
        self.outcome = outcome
        self.run.result.targets.append(outcome)
        while not stopping():
            try:
                unusable = self.run.setting_error(self.target)
                if unusable is not None:
                    raise unusable
                async with opened(self.run, self.target, outcome, self.transport) as lists:
                    outcome.key = lists.first.key
                    self.ready, self.error = True, None
                    await self._flushing(lists, stopping, draining)
                    return
            except DncsyncError as failed:
                self.ready, self.error = False, str(failed)
                self.failures_in_a_row += 1
                outcome.error, outcome.exit_code = str(failed), failed.exit_code
                self.metrics.failures.labels(self.target.name).inc()
                log.error("dnc.target_failed", target=self.target.name, error=str(failed))
            await self._pause(RETRY_AFTER.total_seconds(), stopping)

    async def _pause(self, seconds: float, stopping: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        while not stopping() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), min(0.2, seconds))
            if self.waiting >= self.max_batch:
                return

    async def _flushing(
        self, lists: Lists, stopping: Callable[[], bool], draining: Callable[[], bool]
    ) -> None:
        state = lists.first  # intake goes to a target's first list; sync spreads it later
        rules = TargetRules(
            mode=self.target.mode,
            max_expiry_days=state.handle.capabilities.max_expiry_days,
            expire_after_retention=self.target.expire_after_retention,
            remove_foreign=self.target.remove_foreign,
        )
        while not stopping():
            self.wake.clear()
            self.waiting = 0
            now = datetime.now(UTC) + (_FAR_FUTURE if draining() else timedelta())
            pending = self.intake.open_deliveries(
                self.target.name, self.max_batch * self.target.concurrency, now
            )
            if pending:
                try:
                    await self._flush(state, rules, lists, pending)
                except AlreadyRunning as busy:
                    # A sync, or another replica, holds the list: they send these too; give
                    # them back for whoever pushes next, and try again at the next flush (not
                    # at once: that would spin on the lock while the holder pushes).
                    if isinstance(busy, LockLost):
                        log.warning("dnc.list_lock_lost", target=self.target.name)
                    self.intake.release(self.target.name, [p.request_id for p in pending])
                    await self._pause(self.flush_seconds, stopping)
                    continue
                except DncsyncError as failed:
                    self.error = str(failed)
                    self.failures_in_a_row += 1
                    self.metrics.failures.labels(self.target.name).inc()
                    log.error("dnc.push_failed", target=self.target.name, error=str(failed))
                    await self._pause(min(RETRY_AFTER.total_seconds(), 5.0), stopping)
                    continue
                if len(pending) >= self.max_batch * self.target.concurrency:
                    continue  # more are waiting: no pause
            if draining() and not pending:
                return
            await self._pause(self.flush_seconds, stopping)

    async def _flush(
        self, state: ListState, rules: TargetRules, lists: Lists, pending: list[Pending]
    ) -> None:
        run, name = self.run, self.target.name
        assert self.outcome is not None
        by_phone: dict[str, list[Pending]] = {}
        for request in pending:
            by_phone.setdefault(request.phone, []).append(request)
        phones = sorted(by_phone)
        skipped = {
            r.request_id: "not sent: the target's settings skip this number"
            for phone in phones
            if state.handle.skips(phone)
            for r in by_phone[phone]
        }
        with run.store.lock(state.key, name):
            held = run.store.holding(state.key, phones)
            entries = [
                entry_of(
                    phone,
                    max((r.reason for r in by_phone[phone]), key=lambda r: r.strength),
                    min(r.received_at for r in by_phone[phone]),
                    self.policy,
                    lists.today,
                )
                for phone in phones
                if phone not in held and not state.handle.skips(phone)
            ]
            # A request whose retention has already ended (received long ago) is not sent, as
            # sync does not send an expired entry; it is settled as skipped, not left pending.
            for entry in entries:
                if entry.expired(lists.today):
                    for r in by_phone[entry.phone]:
                        skipped[r.request_id] = "not sent: its retention ended before it arrived"
            to_send = plan(entries, {}, lists.today, rules)
            work = list(
                batches(
                    Plan(adds=to_send.adds),
                    self.max_batch,
                    state.handle.capabilities.max_body_bytes,
                    expiry_per_record=state.handle.capabilities.expiry_per_record,
                )
            )
            before = len(self.outcome.batches)
            self.in_flight = sum(len(b.phones) for b in work)
            try:
                if work:
                    run.pushing = True
                    await push_all(
                        state.handle,
                        run.store,
                        run.id,
                        self.target,
                        work,
                        self.outcome,
                        key=state.key,
                    )
            finally:
                run.pushing = False
                self.in_flight = 0
            held = run.store.holding(state.key, phones)
        failed: dict[str, str] = {}
        for result in self.outcome.batches[before:]:
            self.metrics.batches.labels(name, "failed" if result.failed else "ok").inc()
            if result.rate_limited:
                self.metrics.rate_limited.labels(name).inc(result.rate_limited)
            for phone, why in result.failed.items():
                for r in by_phone.get(phone, []):
                    failed[r.request_id] = str(why)
        if failed:
            self.metrics.failures.labels(name).inc(len(failed))
            self.failures_in_a_row += 1
        else:
            self.failures_in_a_row = 0
        now = datetime.now(UTC)
        held_ids = [r.request_id for phone in phones if phone in held for r in by_phone[phone]]
        for phone in phones:
            if phone in held:
                for r in by_phone[phone]:
                    self.metrics.held_latency.labels(name).observe(
                        max(0.0, (now - r.accepted_at).total_seconds())
                    )
        await asyncio.wrap_future(
            self.intake.settle(
                name,
                held_ids,
                {rid: why for rid, why in failed.items() if rid not in set(held_ids)},
                skipped,
                retry_at=now + RETRY_AFTER,
            )
        )
        log.info(
            "dnc.intake_flushed",
            target=name,
            requests=len(pending),
            sent=len(entries),
            held=len(held_ids),
            failed=len(failed),
            skipped=len(skipped),
        )


__all__ = ["TargetPusher"]
