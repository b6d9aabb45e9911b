"""`reconcile`: read each platform's whole list, prove it holds what it should, repair on ask.

Per target: read the list, compare it with the sources and the snapshot (`dncsync.drift`),
correct the snapshot to what the platform holds (so the next plan repairs from there), and
with `--repair` push the difference and read the list again. It runs inside the same `Run`
as `sync`: one lifecycle, one report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from dncsync import logs
from dncsync.config import Config
from dncsync.drift import Drift, corrected_snapshot, counts
from dncsync.errors import SafetyStop
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.platforms.base import TargetConfigBase
from dncsync.run.lifecycle import Run
from dncsync.run.sync import RunOptions, open_target, read_and_compare, sync_target

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

    @property
    def clean(self) -> bool:
        """True when no target drifted (or every drift was repaired and re-checked)."""
        return all(t.clean for t in self.targets.values())

    def summary(self) -> dict[str, Any]:
        """`{"run_id": ..., "targets": {NAME: {...}}}`."""
        return {
            "run_id": self.run_id,
            "status": "match" if self.clean else "drift",
            "targets": {name: t.summary() for name, t in self.targets.items()},
        }


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
    result = ReconcileResult(run.id, {})
    run.summarize = result.summary
    with run:
        log.info("dnc.reconcile_started", targets=[t.name for t in run.targets], repair=repair)
        for chosen in run.targets:
            with run.locked(chosen):
                found, outcome = asyncio.run(
                    reconcile_target(
                        run,
                        chosen,
                        repair=repair,
                        allow_mass_removal=allow_mass_removal,
                        transport=transport,
                    )
                )
            result.targets[chosen.name] = found
            run.result.targets.append(outcome)
        log.info("dnc.reconcile_finished", status="success" if result.clean else "drift")
    result.evidence = run.result.evidence
    return result


async def reconcile_target(
    run: Run,
    target: TargetConfigBase,
    *,
    repair: bool,
    allow_mass_removal: bool,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[TargetReconcile, TargetOutcome]:
    """Read, compare and correct one target; with `repair`, push the difference and re-read."""
    store = run.store
    # A repair records first sightings (it may push); a read-only reconcile writes none.
    entries = run.entries(target, record=repair)
    snapshot = store.snapshot(target.name)
    outcome = run.outcome(target)
    async with open_target(run, target, transport) as handle:
        drift, remote = await read_and_compare(handle, entries, snapshot, target, run.today)
    log.info("dnc.reconciled", target=target.name, **counts(drift))
    outcome.verification, outcome.verified_at = drift, datetime.now(UTC)
    found = TargetReconcile(drift)
    if drift.snapshot_stale or drift.snapshot_unknown or drift.expiry_mismatch:
        # The platform is the truth about what it holds: the next plan repairs from there.
        store.replace_snapshot(
            target.name,
            corrected_snapshot(entries, snapshot, remote, drift, today=run.today),
            run.id,
        )
        log.info(
            "dnc.snapshot_corrected",
            target=target.name,
            removed_on_platform=drift.snapshot_stale,
            added_on_platform=drift.snapshot_unknown,
        )
    if not (repair and drift.drifted):
        return found, outcome
    found.repaired = await sync_target(
        run,
        target,
        RunOptions(target=target.name, allow_mass_removal=allow_mass_removal),
        entries=entries,
        transport=transport,
    )
    outcome.plan, outcome.batches = found.repaired.plan, found.repaired.batches
    outcome.push_seconds = found.repaired.push_seconds
    if found.repaired.stopped:  # the removal cap refused the repair before any write
        found.stopped = outcome.stopped = found.repaired.stopped
        log.warning("dnc.repair_stopped", target=target.name, reason=found.stopped)
        return found, outcome
    async with open_target(run, target, transport) as handle:
        found.after, _ = await read_and_compare(
            handle, entries, store.snapshot(target.name), target, run.today
        )
    log.info("dnc.repair_checked", target=target.name, **counts(found.after))
    outcome.verification, outcome.verified_at = found.after, datetime.now(UTC)
    return found, outcome
