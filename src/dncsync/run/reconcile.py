"""`reconcile`: read each platform's whole list, prove it holds what it should, repair on ask.

Per target: read the list, compare it with the sources and the snapshot (`dncsync.drift`),
correct the snapshot to what the platform holds (so the next plan repairs from there), and
with `--repair` push the difference and read the list again. It runs inside the same `Run`
as `sync`: one lifecycle, one report.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from dncsync import logs
from dncsync.config import Config
from dncsync.drift import Drift, corrected_snapshot, counts
from dncsync.errors import RunEnded, SafetyStop
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.platforms.base import TargetConfigBase
from dncsync.run.lifecycle import Run
from dncsync.run.lists import assign, opened, read_and_compare
from dncsync.run.sync import RunOptions, sync_target

log = logs.logger("dncsync.reconcile")


@dataclass(slots=True)
class TargetReconcile:
    """One target's reconcile: the drift found, and after `--repair`, what was sent and left."""

    drift: Drift
    repaired: TargetOutcome | None = None
    after: Drift | None = None
    stopped: str | None = None

    @property
    def clean(self) -> bool:
        """True when the platform holds what it should (after the repair, if one ran)."""
        final = self.after if self.after is not None else self.drift
        return not final.drifted and self.stopped is None

    def summary(self) -> dict[str, Any]:
        """Counts, masked samples, and the repair's writes: JSON-ready."""
        result = self.drift.summary()
        if self.repaired is not None and self.repaired.plan is not None:
            plan = self.repaired.plan
            result["repair"] = {
                "adds": len(plan.adds),
                "updates": len(plan.updates),
                "removes": len(plan.removes) + len(plan.expiries),
                "sent": self.repaired.sent,
                "acknowledged": self.repaired.acknowledged,
                "failed": self.repaired.failed,
            }
        if self.stopped is not None:
            result["repair_stopped"] = self.stopped
        if self.after is not None:
            after = self.after.summary()
            result["after"] = {
                key: after[key] for key in ("status", "missing", "unexpected", "foreign", "held")
            }
        return result


@dataclass(slots=True)
class ReconcileResult:
    """What a reconcile found and did, per target."""

    run_id: str
    targets: dict[str, TargetReconcile]
    evidence: Any = None  # the run's `report.evidence.RunEvidence`
    failures: dict[str, str] = field(default_factory=dict)  # targets that could not be read
    run: RunResult | None = None  # the run's sources read, for the accounting

    @property
    def clean(self) -> bool:
        """True when every target was read and none drifted (or drifts were repaired)."""
        return not self.failures and all(t.clean for t in self.targets.values())

    def summary(self) -> dict[str, Any]:
        """`{"run_id": ..., "targets": {NAME: {...}}}`."""
        targets: dict[str, Any] = {name: t.summary() for name, t in self.targets.items()}
        for name, error in self.failures.items():
            targets[name] = {"status": "failed", "error": error}
        summary: dict[str, Any] = {
            "run_id": self.run_id,
            "status": "match" if self.clean else "drift",
            "targets": targets,
        }
        # Every row the sources gave accounted for, as `sync` prints it and the report has it.
        accounting = self.run.accounting() if self.run is not None else None
        summary["accounting"] = dataclasses.asdict(accounting) if accounting else None
        if self.run is not None:
            for outcome in self.run.targets:
                own = self.run.target_accounting(outcome)
                if own is not None and outcome.name in targets:
                    targets[outcome.name]["accounting"] = dataclasses.asdict(own)
        return summary


def _reconcile_status(result: RunResult, stops: list[SafetyStop]) -> str:
    drifted = any(
        t.stopped or (t.verification is not None and t.verification.drifted) for t in result.targets
    )
    return "drift" if drifted or stops else "success"


def run_reconcile(
    config: Config,
    base: Path,
    *,
    target: str | None = None,
    repair: bool = False,
    allow_mass_removal: bool = False,
    today: date | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ReconcileResult:
    """Reconcile every chosen target; a recorded run with its audit log and report.

    `transport` sends every request through it instead of the network (tests, in-process).
    """
    run = Run(config, base, "reconcile", target=target, today=today, status=_reconcile_status)
    result = ReconcileResult(run.id, {}, run=run.result)
    run.summarize = result.summary
    with run:
        log.info("dnc.reconcile_started", targets=[t.name for t in run.targets], repair=repair)
        for chosen in run.targets:

            def step(outcome: TargetOutcome, chosen: TargetConfigBase = chosen) -> None:
                result.targets[chosen.name] = asyncio.run(
                    run.running(
                        reconcile_target(
                            run,
                            chosen,
                            outcome,
                            repair=repair,
                            allow_mass_removal=allow_mass_removal,
                            transport=transport,
                        )
                    )
                )

            run.attempt(chosen, step)
        log.info("dnc.reconcile_finished", status="success" if result.clean else "drift")
    result.evidence = run.result.evidence
    failed = [t for t in run.result.targets if t.status in ("failed", "interrupted")]
    if failed:
        result.failures = {t.name: t.error or t.not_run or "interrupted" for t in failed}
        try:
            run.conclude()
        except RunEnded as ended:
            ended.result = result
            raise
    return result


async def reconcile_target(
    run: Run,
    target: TargetConfigBase,
    outcome: TargetOutcome,
    *,
    repair: bool,
    allow_mass_removal: bool,
    transport: httpx.AsyncBaseTransport | None = None,
) -> TargetReconcile:
    """Read, compare and correct one target; with `repair`, push the difference and re-read."""
    store = run.store
    # A repair records first sightings (it may push); a read-only reconcile writes none.
    entries = run.entries(target, record=repair)
    async with opened(run, target, outcome, transport) as lists:
        for state in lists.states:
            state.snapshot = store.snapshot(state.key)
        assign(target, lists, entries)  # which list should hold each number
        drifts = []
        for state in lists.states:
            drift, remote = await read_and_compare(
                state.handle, state.entries, state.snapshot, target, lists.today
            )
            drifts.append(drift)
            if drift.snapshot_stale or drift.snapshot_unknown or drift.expiry_mismatch:
                # The platform is the truth about what it holds: the next plan repairs it.
                store.replace_snapshot(
                    state.key,
                    corrected_snapshot(
                        state.entries, state.snapshot, remote, drift, today=lists.today
                    ),
                    run.id,
                )
                log.info(
                    "dnc.snapshot_corrected",
                    target=target.name,
                    list=state.list_id,
                    removed_on_platform=drift.snapshot_stale,
                    added_on_platform=drift.snapshot_unknown,
                )
            else:
                store.mark_read(state.key, target.name)
        drift = Drift.combine(drifts)
    log.info("dnc.reconciled", target=target.name, **counts(drift))
    outcome.verification, outcome.verified_at = drift, datetime.now(UTC)
    found = TargetReconcile(drift)
    if not (repair and drift.drifted):
        return found
    # The repair is the sync step on the corrected snapshot: the same journal and caps.
    repaired = run.outcome(target)
    repaired.key = outcome.key
    found.repaired = await sync_target(
        run,
        target,
        RunOptions(target=target.name, allow_mass_removal=allow_mass_removal, verify=True),
        repaired,
        entries=entries,
        transport=transport,
    )
    outcome.plan, outcome.batches = repaired.plan, repaired.batches
    outcome.push_seconds = repaired.push_seconds
    if repaired.stopped:  # the removal cap refused the repair before any write
        found.stopped = outcome.stopped = repaired.stopped
        log.warning("dnc.repair_stopped", target=target.name, reason=found.stopped)
        return found
    if run.interrupted is not None or repaired.verification is None:
        return found
    found.after = repaired.verification
    log.info("dnc.repair_checked", target=target.name, **counts(found.after))
    outcome.verification, outcome.verified_at = found.after, repaired.verified_at
    return found
