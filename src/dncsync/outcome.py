"""What a run produced: each target's plan, batches and read-back, and the run around them.

Plain data, filled by the run's steps (`dncsync.run`) and read by the report and the CLI.
Every command (plan, sync, reconcile) leaves the same shape, so the report is built one way.

The accounting, for the console and the report alike:

- per target, the accounting of the sources it syncs from, merged together (its ingest);
- for the run, every distinct source counted once, however many targets read it: the
  accounting of all the run's sources merged once (`ingest.run_accounting`).

Both keep `rows = rows_with_value + filtered + rows_without_value` and
`values = accepted + duplicates + rejected`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from dncsync.drift import Drift
from dncsync.errors import ExitCode, Failure
from dncsync.ingest import IngestResult, run_accounting
from dncsync.model import Accounting
from dncsync.plan import Plan, Sampled, settled, write_keys
from dncsync.privacy import SAMPLE_SIZE, mask_phone, mask_text
from dncsync.snapshot import phone_key
from dncsync.targets.base import BatchResult


@dataclass(slots=True)
class TargetOutcome:
    """One target's plan and, when applied, its push results and read-back."""

    name: str
    platform: str
    mode: str
    plan: Plan | None  # None: a reconcile that only read the platform
    list_id: str = ""
    seeded_from_platform: int | None = None
    batches: list[BatchResult] = field(default_factory=list)
    stopped: str | None = None  # why the target's run stopped before any write
    duration_seconds: float = 0.0  # the whole target: reads, plan, push, verification
    push_seconds: float = 0.0  # from the first batch sent to the last answer
    verification: Drift | None = None  # the platform read back (sync --verify, reconcile)
    verified_at: datetime | None = None
    key: str = ""  # the list's identity: what its state, journal and lock are kept under
    error: str | None = None  # what failed this target (the others ran)
    exit_code: ExitCode | None = None  # the exit code its failure calls for
    interrupted: bool = False  # SIGINT or SIGTERM reached the run while this target ran
    not_run: str | None = None  # why the run never started this target
    read_reason: str | None = None  # why the whole list was read before planning
    clock: dict[str, Any] | None = None  # local and platform time, when they disagree
    variant: dict[str, str] | None = None  # what its answers showed of unconfirmed points
    blocks_nothing: str | None = None  # why the list, though synced, blocks no dialing
    sources: tuple[str, ...] = ()  # the names of the sources the target syncs from
    capacity: dict[str, Any] | None = None  # what the target holds at most, and what it left out
    over_capacity: bool = False  # numbers were left out for want of room (exit 5)
    lists: dict[str, dict[str, Any]] | None = None  # per list, when the target names several
    # Opt-outs stored from numbers found on the list that no source held and dncsync did not
    # add (`collect`); None when the run did not collect from this target.
    collected: int | None = None
    # The E.164 digits of every number the plan adds or updates, sorted: what the report ages
    # for timeliness once the plan itself is settled to its counts and samples.
    pushed_keys: npt.NDArray[np.uint64] | None = None

    def settle_plan(self) -> None:
        """Once pushed, keep the plan's counts and samples and the keys of the numbers it
        sent, not its writes: at millions of numbers per target the writes are gigabytes."""
        plan = self.plan
        if plan is None or isinstance(plan.adds, Sampled):
            return
        adds, updates = write_keys(plan.adds), write_keys(plan.updates)
        if adds is not None and updates is not None:
            self.pushed_keys = np.unique(np.concatenate([adds, updates]))
        else:
            self.pushed_keys = phone_keys(w.phone for w in itertools.chain(plan.adds, plan.updates))
        self.plan = settled(plan, SAMPLE_SIZE)

    @property
    def status(self) -> str:
        """How this target ended: interrupted, failed, safety_stop, partial, drift, success."""
        if self.interrupted or self.not_run:
            return "interrupted"
        if self.error is not None:
            return "failed"
        if self.stopped:
            return "safety_stop"
        if self.failed:
            return "partial"
        if self.over_capacity:
            return "safety_stop"
        if self.verification is not None and self.verification.drifted:
            return "drift"
        return "success"

    @property
    def outcome_code(self) -> ExitCode:
        """The exit code this target alone would end the run with."""
        codes = {
            "failed": self.exit_code or ExitCode.INTERNAL,
            "safety_stop": ExitCode.SAFETY_STOP,
            "partial": ExitCode.PARTIAL_FAILURE,
            "drift": ExitCode.DRIFT,
            "success": ExitCode.OK,
        }
        return codes.get(self.status, ExitCode.INTERRUPTED)

    @property
    def sent(self) -> int:
        """Numbers sent (each batch counted once, retries aside; skipped numbers are not)."""
        return sum(b.sent for b in self.batches)

    @property
    def acknowledged(self) -> int:
        """Numbers the platform acknowledged."""
        return sum(b.acknowledged_count for b in self.batches)

    @property
    def failed(self) -> int:
        """Numbers not acknowledged after retries."""
        return sum(len(b.failed) for b in self.batches)

    @property
    def skipped(self) -> int:
        """Numbers not sent because a setting said so: not failed, never in the snapshot."""
        return sum(len(b.skipped) for b in self.batches)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready view printed by `plan` and `sync`."""
        plan = self.plan or Plan()
        result: dict[str, Any] = {
            "platform": self.platform,
            "mode": self.mode,
            "status": self.status,
            "held_before": plan.held_before,
            "adds": len(plan.adds),
            "updates": len(plan.updates),
            "removes": len(plan.removes),
            "expiries": len(plan.expiries),
            "unchanged": plan.unchanged,
            "expired_not_pushed": plan.expired,
            "foreign": plan.foreign,
            "sample": {
                "adds": [mask_phone(w.phone) for w in plan.adds[:SAMPLE_SIZE]],
                "updates": [mask_phone(w.phone) for w in plan.updates[:SAMPLE_SIZE]],
                "removes": [mask_phone(p) for p in plan.removes[:SAMPLE_SIZE]],
                "expiries": [mask_phone(p) for p in plan.expiries[:SAMPLE_SIZE]],
            },
        }
        if self.seeded_from_platform is not None:
            result["seeded_from_platform"] = self.seeded_from_platform
        if self.collected is not None:
            result["collected"] = self.collected
        if self.stopped:
            result["stopped"] = mask_text(self.stopped)
        if self.error is not None:
            result["error"] = mask_text(self.error)  # may name a source file holding a number
        if self.not_run is not None:
            result["not_run"] = self.not_run
        if self.read_reason is not None:
            result["read_reason"] = self.read_reason
        if self.clock is not None:
            result["clock"] = self.clock
        if self.variant is not None:
            result["variant"] = self.variant
        if self.blocks_nothing is not None:
            result["blocks_nothing"] = self.blocks_nothing
        if self.capacity is not None:
            result["capacity"] = self.capacity
        if self.lists is not None:
            result["lists"] = self.lists
        if self.verification is not None:
            result["verification"] = self.verification.summary()
        if self.batches:
            failures = _first_masked((b.failed for b in self.batches), 50)
            skips = _first_masked((b.skipped for b in self.batches), 50)
            result.update(
                writes=sum(1 for b in self.batches if b.sent),  # requests made, skips aside
                sent=self.sent,
                acknowledged=self.acknowledged,
                failed=self.failed,
                failures=failures,
                skipped=self.skipped,
                skipped_numbers=skips,
                retries=sum(max(b.attempts - 1, 0) for b in self.batches),
                rate_limited=sum(b.rate_limited for b in self.batches),
                waited_seconds=round(sum(b.waited_seconds for b in self.batches), 3),
                duration_seconds=round(self.duration_seconds, 3),
                push_seconds=round(self.push_seconds, 3),
                numbers_per_second=round(self.sent / self.push_seconds, 1)
                if self.push_seconds
                else None,
            )
            if paired := sum(b.paired_by_position for b in self.batches):
                result["paired_by_position"] = paired  # batches whose results named no number
        return result


@dataclass(slots=True)
class RunResult:
    """Everything a run did: what the CLI prints and the report is built from."""

    run_id: str
    command: str
    started_at: datetime
    ended_at: datetime | None
    config_digest: str
    ingest: dict[str, IngestResult]
    targets: list[TargetOutcome]
    status: str = "running"
    evidence: Any = None  # the run's `report.evidence.RunEvidence`, once sealed
    error: str | None = None  # what stopped the run, when something did
    # serve: the intake's figures (received, held, pending, past deadline; oldest pending)
    intake: dict[str, Any] | None = None
    _accounting: tuple[tuple[str, ...], Accounting] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def target(self, name: str) -> TargetOutcome | None:
        """The outcome of the target so named, if it ran."""
        return next((t for t in self.targets if t.name == name), None)

    def accounting(self) -> Accounting | None:
        """The run's accounting, each distinct source counted once; None before any read."""
        if not self.ingest:
            return None
        read = tuple(self.ingest)
        if self._accounting is None or self._accounting[0] != read:
            self._accounting = (read, run_accounting(list(self.ingest.values())))
        return self._accounting[1]

    def target_accounting(self, outcome: TargetOutcome) -> Accounting | None:
        """The accounting of the sources a target syncs from; None when they were not read."""
        ingested = self.ingest.get(source_set_key(outcome.sources)) if outcome.sources else None
        return ingested.accounting if ingested is not None else None

    def collected(self) -> int | None:
        """Opt-outs collected from the targets' lists in the run; None when none collected."""
        counts = [t.collected for t in self.targets if t.collected is not None]
        return sum(counts) if counts else None

    def summary(self) -> dict[str, Any]:
        """One JSON object: the run's accounting and each target's outcome."""
        accounting = self.accounting()
        files = self.evidence.files if self.evidence is not None else None
        sources: dict[str, dict[str, Any]] = {}
        for result in self.ingest.values():
            for s in result.sources:  # a source read for two targets is listed once
                sources.setdefault(
                    s.name,
                    {
                        "name": mask_text(s.name),  # a name or path may hold a number
                        "uri": mask_text(s.uri),
                        "sha256": s.sha256,
                        "rows": s.rows,
                    },
                )
        targets: dict[str, dict[str, Any]] = {}
        for outcome in self.targets:
            targets[outcome.name] = outcome.summary()
            own = self.target_accounting(outcome)
            if own is not None:
                targets[outcome.name]["accounting"] = dataclasses.asdict(own)
        return {
            "run_id": self.run_id,
            "command": self.command,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "accounting": dataclasses.asdict(accounting) if accounting is not None else {},
            "sources": list(sources.values()),
            "targets": targets,
            **({"intake": self.intake} if self.intake is not None else {}),
            **({"collected": collected} if (collected := self.collected()) is not None else {}),
            "evidence": None
            if files is None
            else {
                "audit_log": str(files.audit),
                "report_json": str(files.report_json),
                "report_html": str(files.report_html),
                "warnings": str(files.warnings),
            },
        }


def _first_masked(parts: Iterable[dict[str, Failure]], limit: int) -> dict[str, str]:
    """The first `limit` numbers (masked) and why, without masking a million to show 50."""
    found: dict[str, str] = {}
    for part in parts:
        for phone, why in part.items():
            if len(found) >= limit:
                return found
            found.setdefault(mask_phone(phone), why)
    return found


def phone_keys(phones: Iterable[str]) -> npt.NDArray[np.uint64]:
    """E.164 numbers as their digits (uint64), sorted and distinct; other forms are left out."""
    keys = (key for key in map(phone_key, phones) if key is not None)
    return np.unique(np.fromiter(keys, dtype=np.uint64))


def source_set_key(names: Iterable[str]) -> str:
    """How a run keys the ingest of a set of sources (`RunResult.ingest`): their names."""
    return ",".join(names)


__all__ = ["RunResult", "TargetOutcome", "phone_keys", "source_set_key"]
