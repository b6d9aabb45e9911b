"""Reconcile: compare what a platform really holds with what it should, in both directions.

Pure: `compare()` takes the desired entries (from the sources), the target's snapshot (what
dncsync believes the platform holds) and the platform's whole list (read back through the
target's `read_all()`), and sorts every number into one bucket:

    desired, held, expiry right     ok
    desired, held, expires earlier  expiry_mismatch  (drift: the platform would release it early)
    desired, not held               missing          (drift)
    held, not desired:
        mirror mode                 unexpected       (drift: sync removes it)
        upsert, in the snapshot     retained         (ours; upsert never removes; not drift)
        upsert, retention ended
          and expiry configured     unexpected       (drift: sync expires it)
        upsert, not in snapshot     foreign          (someone else's; not drift)

Separately it measures how far the snapshot itself drifted from the platform (numbers removed
or added in the platform's UI), and `corrected_snapshot()` gives the snapshot to store so that
the next plan sends exactly what repairs the list: missing numbers are no longer in it (so
they are re-added), unexpected ones are (so mirror mode removes them), and expiry mismatches
carry the platform's expiry (so they are updated). Foreign numbers stay out of an upsert
target's snapshot: they are not dncsync's to manage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dncsync import engine, logs, wiring
from dncsync.audit import RunFiles
from dncsync.config import Config, TargetConfig, resolve_path
from dncsync.engine import TargetOutcome
from dncsync.ingest import IngestResult
from dncsync.logs import mask_phone
from dncsync.model import Entry
from dncsync.plan import Held, Mode, platform_expiry
from dncsync.report import RunReportBuilder, TargetReportBuilder, VerificationStatus, write_reports
from dncsync.report.evidence import (
    RunEvidence,
    fill_target,
    recording_run,
    runs_dir_for,
    total_accounting,
)
from dncsync.state import StateStore
from dncsync.targets import TargetSettings, build_target
from dncsync.targets.base import RemoteRecord, Target

log = logs.logger("dncsync.reconcile")

SAMPLE_SIZE = 5


@dataclass(frozen=True, slots=True)
class Drift:
    """How one target's platform list differs from what it should hold.

    The number tuples hold full numbers, for `--repair`; `summary()` only shows them masked.
    """

    target: str
    mode: str
    expected: int  # numbers the platform should hold (desired, retention not ended)
    held: int  # numbers the platform holds (not expired on the platform)
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    foreign: tuple[str, ...]
    expiry_mismatch: tuple[str, ...]
    retained: int  # upsert: ours, gone from the sources, kept on purpose
    snapshot_stale: int  # in the snapshot, not on the platform (removed on the platform side)
    snapshot_unknown: int  # on the platform, not in the snapshot (added on the platform side)

    @property
    def drifted(self) -> bool:
        """True when the platform does not hold what it should."""
        return bool(self.missing or self.unexpected or self.expiry_mismatch)

    def summary(self) -> dict[str, Any]:
        """Counts and masked samples, JSON-ready."""
        return {
            "status": "drift" if self.drifted else "match",
            "mode": self.mode,
            "expected": self.expected,
            "held": self.held,
            "missing": len(self.missing),
            "unexpected": len(self.unexpected),
            "foreign": len(self.foreign),
            "expiry_mismatch": len(self.expiry_mismatch),
            "retained": self.retained,
            "snapshot_stale": self.snapshot_stale,
            "snapshot_unknown": self.snapshot_unknown,
            "sample": {
                "missing": [mask_phone(p) for p in self.missing[:SAMPLE_SIZE]],
                "unexpected": [mask_phone(p) for p in self.unexpected[:SAMPLE_SIZE]],
                "foreign": [mask_phone(p) for p in self.foreign[:SAMPLE_SIZE]],
                "expiry_mismatch": [mask_phone(p) for p in self.expiry_mismatch[:SAMPLE_SIZE]],
            },
        }


def _expires_early(platform: date | None, should: date | None) -> bool:
    """True when the platform would stop blocking a number before it should."""
    if platform is None:
        return False
    return should is None or platform < should


def compare(
    entries: Iterable[Entry],
    snapshot: Mapping[str, Held],
    remote: Iterable[RemoteRecord],
    *,
    target: str,
    mode: Mode,
    today: date,
    max_expiry_days: int | None = None,
    expire_after_retention: bool = False,
) -> Drift:
    """Sort every number into ok / missing / unexpected / foreign / retained / mismatched."""
    desired = {e.phone: e for e in entries if not e.expired(today)}
    held = {r.phone: r for r in remote if r.held}
    missing: list[str] = []
    mismatch: list[str] = []
    for phone, entry in desired.items():
        record = held.get(phone)
        if record is None:
            missing.append(phone)
        elif _expires_early(
            record.expires, platform_expiry(entry.expires_at, today, max_expiry_days)
        ):
            mismatch.append(phone)
    unexpected: list[str] = []
    foreign: list[str] = []
    retained = 0
    for phone in held:
        if phone in desired:
            continue
        ours = snapshot.get(phone)
        if mode is Mode.MIRROR:
            unexpected.append(phone)
        elif ours is None:
            foreign.append(phone)
        elif (
            expire_after_retention and ours.retention_end is not None and ours.retention_end < today
        ):
            unexpected.append(phone)
        else:
            retained += 1
    return Drift(
        target=target,
        mode=mode.value,
        expected=len(desired),
        held=len(held),
        missing=tuple(sorted(missing)),
        unexpected=tuple(sorted(unexpected)),
        foreign=tuple(sorted(foreign)),
        expiry_mismatch=tuple(sorted(mismatch)),
        retained=retained,
        snapshot_stale=sum(1 for phone in snapshot if phone not in held),
        snapshot_unknown=sum(1 for phone in held if phone not in snapshot),
    )


def corrected_snapshot(
    entries: Iterable[Entry],
    snapshot: Mapping[str, Held],
    remote: Iterable[RemoteRecord],
    drift: Drift,
    *,
    today: date,
) -> list[tuple[str, Held]]:
    """The snapshot to store: what the platform holds, so the next plan repairs the drift."""
    desired = {e.phone: e for e in entries if not e.expired(today)}
    foreign = set(drift.foreign)
    mismatched = set(drift.expiry_mismatch)
    result: list[tuple[str, Held]] = []
    for record in remote:
        if not record.held or record.phone in foreign:
            continue
        entry = desired.get(record.phone)
        ours = snapshot.get(record.phone)
        if entry is not None and record.phone not in mismatched:
            # Held as it should be: the plan sees it unchanged.
            result.append((record.phone, Held(entry.expires_at, record.expires)))
        elif entry is not None:
            # Held with an early platform expiry: a retention the plan sees as different,
            # so it sends an update with the right expiry.
            result.append((record.phone, Held(record.expires, record.expires)))
        elif ours is not None:
            result.append((record.phone, Held(ours.retention_end, record.expires)))
        else:
            result.append((record.phone, Held(record.expires, record.expires)))
    result.sort()
    return result


async def read_and_compare(
    target: Target,
    entries: Iterable[Entry],
    snapshot: Mapping[str, Held],
    *,
    mode: Mode,
    today: date,
    expire_after_retention: bool = False,
) -> tuple[Drift, list[RemoteRecord]]:
    """Read the platform's whole list and compare it: what `reconcile` and `sync --verify` do."""
    remote = await target.read_all()
    drift = compare(
        entries,
        snapshot,
        remote,
        target=target.name,
        mode=mode,
        today=today,
        max_expiry_days=target.max_expiry_days,
        expire_after_retention=expire_after_retention,
    )
    return drift, remote


def record_verification(report: TargetReportBuilder, drift: Drift, checked_at: datetime) -> None:
    """Put a comparison into a run report as the target's verification."""
    report.set_verification(
        VerificationStatus.DRIFT if drift.drifted else VerificationStatus.MATCH,
        expected=drift.expected,
        actual=drift.held,
        missing=len(drift.missing),
        unexpected=len(drift.unexpected),
        foreign=len(drift.foreign),
        checked_at=checked_at,
    )


# --- the command: read, compare, correct the snapshot, repair ------------------------------


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
        if self.repaired is not None:
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
    evidence: RunEvidence | None = None

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


def run_reconcile(
    config: Config,
    base: Path,
    *,
    target: str | None = None,
    repair: bool = False,
    allow_mass_removal: bool = False,
    today: date | None = None,
) -> ReconcileResult:
    """Reconcile every chosen target; a recorded run with its audit log and report."""
    targets = config.targets_named(target)
    started_at = datetime.now(UTC)
    day = today or started_at.date()
    run_id = engine.new_run_id(started_at)
    settings = {t.name: wiring.target_settings(t) for t in targets}  # credentials first
    state_path = Path(resolve_path(base, config.state.path))
    files = RunFiles.for_run(runs_dir_for(config, base), run_id)
    result = ReconcileResult(run_id, {})
    report = RunReportBuilder(
        run_id, started_at=started_at, config_digest=config.digest(), command="reconcile"
    )
    status = "failed"
    with StateStore(state_path) as store, recording_run(files, run_id) as audit:
        store.run_started(
            run_id, "reconcile", started_at.isoformat(), config.digest(), [t.name for t in targets]
        )
        log.info("dnc.reconcile_started", targets=[t.name for t in targets], repair=repair)
        try:
            ingested: dict[str, IngestResult] = {}
            for chosen in targets:
                sources = config.sources_for(chosen)
                key = ",".join(s.name for s in sources)
                if key not in ingested:
                    ingested[key] = engine.ingest_for(config, base, sources, day)
                    for info in ingested[key].sources:
                        report.add_source(info)
                with store.lock(chosen.name):
                    result.targets[chosen.name] = asyncio.run(
                        _reconcile_target(
                            chosen,
                            settings[chosen.name],
                            ingested[key],
                            store,
                            run_id,
                            day,
                            report,
                            repair=repair,
                            allow_mass_removal=allow_mass_removal,
                            started_at=started_at,
                        )
                    )
            report.set_accounting(total_accounting(i.accounting for i in ingested.values()))
            status = "success" if result.clean else "drift"
        finally:
            ended_at = datetime.now(UTC)
            log.info("dnc.reconcile_finished", status=status)
            seal = audit.close()
            report.set_audit(str(files.audit), seal)
            built = report.build(finished_at=ended_at)
            write_reports(built, files)
            result.evidence = RunEvidence(built, files, seal)
            store.run_ended(
                run_id,
                ended_at=ended_at.isoformat(),
                status=status,
                summary=result.summary(),
                **result.evidence.run_record(),
            )
    return result


async def _reconcile_target(
    target: TargetConfig,
    settings: TargetSettings,
    ingested: IngestResult,
    store: StateStore,
    run_id: str,
    today: date,
    report: RunReportBuilder,
    *,
    repair: bool,
    allow_mass_removal: bool,
    started_at: datetime,
) -> TargetReconcile:
    entries = engine.retention_from_first_seen(
        list(ingested.entries()), store, today, record=repair
    )
    snapshot = store.snapshot(target.name)
    part = report.target(
        target.name,
        platform=target.platform,
        list_id=str(getattr(target, "dnc_list_id", None) or getattr(target, "dnc_group_id", "")),
        mode=target.mode.value,
    )
    async with build_target(settings) as handle:
        drift, remote = await read_and_compare(
            handle,
            entries,
            snapshot,
            mode=target.mode,
            today=today,
            expire_after_retention=target.expire_after_retention,
        )
    log.info("dnc.reconciled", target=target.name, **_counts(drift))
    record_verification(part, drift, datetime.now(UTC))
    outcome = TargetReconcile(drift)
    if drift.snapshot_stale or drift.snapshot_unknown or drift.expiry_mismatch:
        # The platform is the truth about what it holds: the next plan repairs from there.
        store.replace_snapshot(
            target.name, corrected_snapshot(entries, snapshot, remote, drift, today=today), run_id
        )
        log.info(
            "dnc.snapshot_corrected",
            target=target.name,
            removed_on_platform=drift.snapshot_stale,
            added_on_platform=drift.snapshot_unknown,
        )
    if not (repair and drift.drifted):
        return outcome
    # The engine times batches on the monotonic clock: its reading at the run's start.
    origin = time.monotonic() - (datetime.now(UTC) - started_at).total_seconds()
    outcome.repaired = await engine.sync_target(
        target,
        settings,
        entries,
        ingested.accounting.accepted,
        store,
        run_id,
        engine.RunOptions(target=target.name, allow_mass_removal=allow_mass_removal),
        today,
    )
    if outcome.repaired.stopped:  # the removal cap refused the repair before any write
        outcome.stopped = outcome.repaired.stopped
        part.stop(outcome.stopped)
        log.warning("dnc.repair_stopped", target=target.name, reason=outcome.stopped)
        return outcome
    fill_target(part, outcome.repaired, started_at, origin)
    async with build_target(settings) as handle:
        outcome.after, _ = await read_and_compare(
            handle,
            entries,
            store.snapshot(target.name),
            mode=target.mode,
            today=today,
            expire_after_retention=target.expire_after_retention,
        )
    log.info("dnc.repair_checked", target=target.name, **_counts(outcome.after))
    record_verification(part, outcome.after, datetime.now(UTC))
    return outcome


def _counts(drift: Drift) -> dict[str, int]:
    return {
        "expected": drift.expected,
        "held": drift.held,
        "missing": len(drift.missing),
        "unexpected": len(drift.unexpected),
        "foreign": len(drift.foreign),
        "expiry_mismatch": len(drift.expiry_mismatch),
    }


__all__ = [
    "Drift",
    "ReconcileResult",
    "TargetReconcile",
    "compare",
    "corrected_snapshot",
    "read_and_compare",
    "record_verification",
    "run_reconcile",
]
