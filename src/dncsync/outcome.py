"""What a run produced: each target's plan, batches and read-back, and the run around them.

Plain data, filled by the run's steps (`dncsync.run`) and read by the report and the CLI.
Every command (plan, sync, reconcile) leaves the same shape, so the report is built one way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dncsync.drift import Drift
from dncsync.ingest import IngestResult
from dncsync.plan import Plan
from dncsync.privacy import SAMPLE_SIZE, mask_phone
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

    @property
    def sent(self) -> int:
        """Numbers sent (each batch counted once, retries aside; skipped numbers are not)."""
        return sum(b.sent for b in self.batches)

    @property
    def acknowledged(self) -> int:
        """Numbers the platform acknowledged."""
        return sum(len(b.acknowledged) for b in self.batches)

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
            "held_before": plan.held_before,
            "adds": len(plan.adds),
            "updates": len(plan.updates),
            "removes": len(plan.removes),
            "expiries": len(plan.expiries),
            "unchanged": plan.unchanged,
            "expired_not_pushed": plan.expired,
            "sample": {
                "adds": [mask_phone(w.phone) for w in plan.adds[:SAMPLE_SIZE]],
                "updates": [mask_phone(w.phone) for w in plan.updates[:SAMPLE_SIZE]],
                "removes": [mask_phone(p) for p in plan.removes[:SAMPLE_SIZE]],
                "expiries": [mask_phone(p) for p in plan.expiries[:SAMPLE_SIZE]],
            },
        }
        if self.seeded_from_platform is not None:
            result["seeded_from_platform"] = self.seeded_from_platform
        if self.stopped:
            result["stopped"] = self.stopped
        if self.verification is not None:
            result["verification"] = self.verification.summary()
        if self.batches:
            failures: dict[str, str] = {}
            skips: dict[str, str] = {}
            for batch in self.batches:
                failures.update((mask_phone(phone), error) for phone, error in batch.failed.items())
                skips.update((mask_phone(phone), why) for phone, why in batch.skipped.items())
            result.update(
                writes=sum(1 for b in self.batches if b.sent),  # requests made, skips aside
                sent=self.sent,
                acknowledged=self.acknowledged,
                failed=self.failed,
                failures=dict(list(failures.items())[:50]),
                skipped=self.skipped,
                skipped_numbers=dict(list(skips.items())[:50]),
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

    def target(self, name: str) -> TargetOutcome | None:
        """The outcome of the target so named, if it ran."""
        return next((t for t in self.targets if t.name == name), None)

    def summary(self) -> dict[str, Any]:
        """One JSON object: the run's accounting and each target's outcome."""
        first = next(iter(self.ingest.values()), None)
        accounting = dataclasses.asdict(first.accounting) if first else {}
        files = self.evidence.files if self.evidence is not None else None
        return {
            "run_id": self.run_id,
            "command": self.command,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "accounting": accounting,
            "sources": [
                {"name": s.name, "uri": s.uri, "sha256": s.sha256, "rows": s.rows}
                for result in self.ingest.values()
                for s in result.sources
            ],
            "targets": {t.name: t.summary() for t in self.targets},
            "evidence": None
            if files is None
            else {
                "audit_log": str(files.audit),
                "report_json": str(files.report_json),
                "report_html": str(files.report_html),
            },
        }


__all__ = ["RunResult", "TargetOutcome"]
