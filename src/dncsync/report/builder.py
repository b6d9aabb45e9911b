"""Filling a run report as the run goes: the engine feeds a builder, then calls `build()`.

The builders take full phone numbers (what the engine has) and keep only masked ones, so a
report can never carry a full number whatever the caller passes. They are plain synchronous
objects guarded by a lock: safe to feed from asyncio tasks and from threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from dncsync import __version__, privacy
from dncsync.business_days import (
    HONOUR_WITHIN_BUSINESS_DAYS,
    business_days_between,
    honour_deadline,
)
from dncsync.errors import Failure
from dncsync.logs import mask_phone, mask_text, redact_text
from dncsync.model import Accounting, Entry, SourceInfo
from dncsync.report.model import (
    REGISTRY_MAX_AGE_DAYS,
    AccountingEvidence,
    AuditReference,
    BatchRecord,
    BatchStatus,
    FailedNumber,
    Freshness,
    LateEntry,
    PlanSample,
    PlanSummary,
    PushSummary,
    RateLimitWait,
    ReportWarning,
    RunReport,
    RunStatus,
    TargetReport,
    Timeliness,
    Verification,
    VerificationStatus,
)

if TYPE_CHECKING:
    from dncsync.audit import AuditSeal
    from dncsync.plan import Plan
    from dncsync.targets.base import BatchResult

SAMPLE_SIZE = privacy.SAMPLE_SIZE  # masked examples per plan action and of late entries
# Refused numbers listed one by one (masked) in a target's report; past these, they are
# counted by action and error code, so a run refused a million times writes a report of
# kilobytes, not hundreds of megabytes, and every failed number is still accounted for.
FAILED_NUMBERS_LISTED = 1_000


def utc(moment: datetime) -> datetime:
    """A timestamp in UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _split_error(failure: str) -> tuple[str, str]:
    """A failure as (code, message); plain text is read as `code: message`."""
    if isinstance(failure, Failure):
        return failure.code.strip() or "unknown", failure.message.strip()
    code, sep, message = failure.partition(": ")
    if sep:
        return code.strip() or "unknown", message.strip()
    return failure.strip() or "unknown", ""


def _clean_message(text: str) -> str:
    """Platform error text can echo numbers or credentials back: keep neither."""
    return mask_text(redact_text(text))


class TargetReportBuilder:
    """Collects one target's plan, batches, waits, failures, timeliness and verification."""

    def __init__(self, name: str, platform: str, list_id: str, mode: str) -> None:
        self.name = name
        self.platform = platform
        self.list_id = list_id
        self.mode = mode
        self._lock = threading.Lock()
        self._plan = PlanSummary()
        self._batches: list[BatchRecord] = []
        self._waits: list[RateLimitWait] = []
        self._failures: list[FailedNumber] = []
        self._listed = 0  # refused numbers listed one by one
        self._unlisted: Counter[tuple[str, str]] = Counter()  # past the list: (action, code)
        self._skipped = 0
        self._skipped_codes: Counter[str] = Counter()
        self._push_window: tuple[datetime, datetime] | None = None
        self._verification = Verification()
        self._status: RunStatus | None = None
        self._stop_reason: str | None = None
        self._pushed_on: date | None = None
        self._checked = 0
        self._late: list[tuple[str, str, date, int]] = []
        self._late_by_reason: Counter[str] = Counter()
        self._oldest: int | None = None
        self._age_cache: dict[date, int] = {}
        self._deadline_cache: dict[date, date] = {}
        self._sources: tuple[str, ...] = ()
        self._accounting: AccountingEvidence | None = None
        self._variant: dict[str, str] = {}
        self._collected: int | None = None

    # -- sources ----------------------------------------------------------------------------

    def set_accounting(self, accounting: Accounting, sources: Iterable[str] = ()) -> None:
        """Record the accounting of the sources this target syncs from (and their names)."""
        with self._lock:
            self._sources = tuple(sources)
            self._accounting = accounting_evidence(accounting)

    def set_variant(self, variant: dict[str, str]) -> None:
        """Record what the platform's answers showed of its unconfirmed points."""
        with self._lock:
            self._variant = dict(variant)

    def set_collected(self, count: int) -> None:
        """Record how many opt-outs were collected from the target's list."""
        with self._lock:
            self._collected = count

    # -- plan -----------------------------------------------------------------------------

    def set_plan(self, plan: Plan, *, sample_size: int = SAMPLE_SIZE) -> None:
        """Record the plan (counts and a masked sample of each action)."""
        sample = [
            *(PlanSample("add", mask_phone(w.phone), w.retention_end, w.platform_expires)
              for w in plan.adds[:sample_size]),
            *(PlanSample("update", mask_phone(w.phone), w.retention_end, w.platform_expires)
              for w in plan.updates[:sample_size]),
            *(PlanSample("remove", mask_phone(p)) for p in plan.removes[:sample_size]),
            *(PlanSample("expiry", mask_phone(p)) for p in plan.expiries[:sample_size]),
        ]  # fmt: skip
        self.set_plan_counts(
            adds=len(plan.adds),
            updates=len(plan.updates),
            removes=len(plan.removes),
            expiries=len(plan.expiries),
            unchanged=plan.unchanged,
            expired=plan.expired,
            held_before=plan.held_before,
            sample=sample,
            foreign=plan.foreign,
        )

    def set_plan_counts(
        self,
        *,
        adds: int = 0,
        updates: int = 0,
        removes: int = 0,
        expiries: int = 0,
        unchanged: int = 0,
        expired: int = 0,
        held_before: int = 0,
        sample: Iterable[PlanSample] = (),
        foreign: int = 0,
    ) -> None:
        """Record plan counts directly (samples are masked again, to be safe)."""
        masked = tuple(replace(s, phone=mask_text(s.phone)) for s in sample)
        with self._lock:
            self._plan = PlanSummary(
                adds, updates, removes, expiries, unchanged, expired, held_before, masked, foreign
            )

    # -- push -----------------------------------------------------------------------------

    def record_batch(
        self,
        *,
        action: str,
        count: int,
        acknowledged: int,
        attempts: int,
        started_at: datetime,
        duration_seconds: float,
        correlation_id: str | None = None,
        http_status: int | None = None,
        error_code: str | None = None,
        failures: Iterable[tuple[str, str, str]] = (),
        expires: date | None = None,
        skipped: int = 0,
        paired_by_position: bool = False,
    ) -> BatchRecord:
        """Record one batch once the platform answered (or retries ran out).

        `failures` lists each refused number as (phone, platform error code, message); the
        phones are masked here. Numbers neither acknowledged nor listed count as failed with
        the batch's `error_code`.
        """
        listed = [
            (mask_phone(phone), code or "unknown", _clean_message(m)) for phone, code, m in failures
        ]
        failed = count - acknowledged
        if acknowledged == count:
            status = BatchStatus.ACKNOWLEDGED
        elif acknowledged == 0:
            status = BatchStatus.FAILED
        else:
            status = BatchStatus.PARTIAL
        unlisted = failed - len(listed)
        with self._lock:
            record = BatchRecord(
                number=len(self._batches) + 1,
                action=action,
                count=count,
                attempts=attempts,
                status=status,
                started_at=utc(started_at),
                duration_seconds=duration_seconds,
                correlation_id=correlation_id,
                http_status=http_status,
                error_code=error_code,
                failed=failed,
                expires=expires,
                skipped=skipped,
                paired_by_position=paired_by_position,
            )
            self._batches.append(record)
            room = max(FAILED_NUMBERS_LISTED - self._listed, 0)
            self._failures.extend(
                FailedNumber(phone, action, code, message, 1, record.number)
                for phone, code, message in listed[:room]
            )
            self._listed += min(room, len(listed))
            for _, code, _ in listed[room:]:
                self._unlisted[(action, code)] += 1
            if unlisted > 0:
                # A whole-batch refusal: one line with the count, under the batch's error, so
                # no failed number goes unexplained.
                self._failures.append(
                    FailedNumber(
                        None,
                        action,
                        error_code or "unknown",
                        f"HTTP {http_status}" if http_status else "",
                        unlisted,
                        record.number,
                    )
                )
            return record

    def record_wait(
        self,
        started_at: datetime,
        seconds: float,
        *,
        status: int | None = 429,
        batch: int | None = None,
        count: int = 1,
    ) -> None:
        """Record time spent waiting on a rate limit (429) or a retry backoff."""
        with self._lock:
            self._waits.append(RateLimitWait(utc(started_at), seconds, status, batch, count))

    def record_result(self, result: BatchResult, *, started_at: datetime) -> BatchRecord | None:
        """Record one batch from the target's `BatchResult` (full numbers; they are masked).

        A batch's waits are summed, so the timeline shows them as one span at the batch's
        start, standing for all the 429s it met. Its skipped numbers are counted apart; a
        batch whose numbers were all skipped sent nothing and is not a batch record (None).
        """
        for code, count in Counter(_split_error(why)[0] for why in result.skipped.values()).items():
            self.record_skipped(count, code=code)
        if result.skipped and result.sent == 0:
            return None
        failures = [(phone, *_split_error(failure)) for phone, failure in result.failed.items()]
        codes = {code for _, code, _ in failures}
        correlation_ids = result.correlation_ids
        record = self.record_batch(
            action=result.action,
            count=result.sent,
            acknowledged=result.acknowledged_count,
            attempts=max(result.attempts, 1),
            started_at=started_at,
            duration_seconds=result.duration_seconds,
            correlation_id=correlation_ids[-1] if correlation_ids else None,
            http_status=result.status,
            error_code=codes.pop() if len(codes) == 1 else None,
            failures=failures,
            expires=result.expires,
            skipped=len(result.skipped),
            paired_by_position=result.paired_by_position,
        )
        if result.waited_seconds > 0 or result.rate_limited:
            self.record_wait(
                started_at,
                result.waited_seconds,
                status=429 if result.rate_limited else None,
                batch=record.number,
                count=max(result.rate_limited, 1),
            )
        return record

    def record_skipped(self, count: int, *, code: str = "unknown") -> None:
        """Numbers not sent, as a setting says (reported, never silent), and why (`code`)."""
        with self._lock:
            self._skipped += count
            self._skipped_codes[code] += count

    def set_push_window(self, started_at: datetime, finished_at: datetime) -> None:
        """The push phase's wall time, for throughput (default: first to last batch)."""
        with self._lock:
            self._push_window = (utc(started_at), utc(finished_at))

    # -- timeliness -----------------------------------------------------------------------

    def note_pushed(self, entries: Iterable[Entry], pushed_on: date) -> None:
        """Age the pushed entries that carry a date collected, and flag the late ones."""
        with self._lock:
            self._pushed_on = pushed_on
            for entry in entries:
                collected = entry.date_collected
                if collected is None:
                    continue
                self._checked += 1
                deadline = self._deadline_cache.get(collected)
                if deadline is None:
                    deadline = self._deadline_cache[collected] = honour_deadline(collected)
                age = self._age_cache.get(collected)
                if age is None:
                    age = self._age_cache[collected] = business_days_between(collected, pushed_on)
                if self._oldest is None or age > self._oldest:
                    self._oldest = age
                if pushed_on > deadline:
                    self._late_by_reason[entry.reason.value] += 1
                    if len(self._late) < SAMPLE_SIZE:
                        self._late.append(
                            (mask_phone(entry.phone), entry.reason.value, collected, age)
                        )

    # -- outcome --------------------------------------------------------------------------

    def set_verification(
        self,
        status: VerificationStatus | str,
        *,
        expected: int | None = None,
        actual: int | None = None,
        missing: int = 0,
        unexpected: int = 0,
        foreign: int = 0,
        checked_at: datetime | None = None,
    ) -> None:
        """Record the read-back of the platform's list after the run."""
        with self._lock:
            self._verification = Verification(
                VerificationStatus(status),
                utc(checked_at) if checked_at else None,
                expected,
                actual,
                missing,
                unexpected,
                foreign,
            )

    def stop(self, reason: str) -> None:
        """The target stopped before any write (safety stop)."""
        with self._lock:
            self._status = RunStatus.SAFETY_STOP
            self._stop_reason = _clean_message(reason)

    def fail(self, reason: str) -> None:
        """The target failed (authentication, configuration, an unexpected error)."""
        with self._lock:
            self._status = RunStatus.FAILED
            self._stop_reason = _clean_message(reason)

    def interrupt(self, reason: str) -> None:
        """SIGINT or SIGTERM stopped the target (what was in flight was settled)."""
        with self._lock:
            self._status = RunStatus.INTERRUPTED
            self._stop_reason = _clean_message(reason)

    def build(self) -> TargetReport:
        """The target's frozen report."""
        with self._lock:
            push = self._push_summary()
            status = self._status
            if status is None:
                status = RunStatus.PARTIAL if push.numbers_failed else RunStatus.SUCCESS
            timeliness = Timeliness(
                pushed_on=self._pushed_on,
                checked=self._checked,
                late=sum(self._late_by_reason.values()),
                limit_business_days=HONOUR_WITHIN_BUSINESS_DAYS,
                oldest_business_days=self._oldest,
                late_by_reason=dict(sorted(self._late_by_reason.items())),
                sample=tuple(LateEntry(*late) for late in self._late),
            )
            return TargetReport(
                name=self.name,
                platform=self.platform,
                list_id=self.list_id,
                mode=self.mode,
                status=status,
                plan=self._plan,
                push=push,
                verification=self._verification,
                timeliness=timeliness,
                stop_reason=self._stop_reason,
                sources=self._sources,
                accounting=self._accounting,
                variant=dict(self._variant),
                collected=self._collected,
            )

    def _push_summary(self) -> PushSummary:
        batches = tuple(sorted(self._batches, key=lambda b: (b.started_at, b.number)))
        if self._push_window is not None:
            window_start, window_end = self._push_window
            duration = (window_end - window_start).total_seconds()
        elif batches:
            first = batches[0].started_at.timestamp()
            last = max(b.started_at.timestamp() + b.duration_seconds for b in batches)
            duration = last - first
        else:
            duration = 0.0
        acknowledged = sum(b.count - b.failed for b in batches)
        failures = [
            *self._failures,
            *(
                FailedNumber(
                    None, action, code, f"past the first {FAILED_NUMBERS_LISTED} listed", count
                )
                for (action, code), count in sorted(self._unlisted.items())
            ),
        ]
        codes: Counter[str] = Counter()
        for failure in failures:
            codes[failure.error_code] += failure.count
        return PushSummary(
            numbers_sent=sum(b.count for b in batches),
            numbers_acknowledged=acknowledged,
            numbers_failed=sum(b.failed for b in batches),
            numbers_skipped=self._skipped,
            batches_sent=len(batches),
            batches_acknowledged=sum(b.status is BatchStatus.ACKNOWLEDGED for b in batches),
            batches_failed=sum(b.status is not BatchStatus.ACKNOWLEDGED for b in batches),
            requests=sum(b.attempts for b in batches),
            retries=sum(max(b.attempts - 1, 0) for b in batches),
            rate_limited=sum(w.count for w in self._waits if w.status == 429),
            waited_seconds=sum(w.seconds for w in self._waits),
            duration_seconds=max(duration, 0.0),
            throughput_per_second=acknowledged / duration if duration > 0 else 0.0,
            failure_codes=dict(sorted(codes.items())),
            failures=tuple(failures),
            batches=batches,
            waits=tuple(sorted(self._waits, key=lambda w: w.started_at)),
            skipped_codes=dict(sorted(self._skipped_codes.items())),
            batches_paired_by_position=sum(b.paired_by_position for b in batches),
        )


class RunReportBuilder:
    """Collects one run's evidence; `target()` hands out a builder per target."""

    def __init__(
        self,
        run_id: str,
        *,
        started_at: datetime,
        config_digest: str,
        command: str = "sync",
        version: str = __version__,
    ) -> None:
        self.run_id = run_id
        self.command = command
        self.started_at = utc(started_at)
        self.config_digest = config_digest
        self.version = version
        self._lock = threading.Lock()
        self._sources: list[SourceInfo] = []
        self._accounting = AccountingEvidence()
        self._targets: dict[str, TargetReportBuilder] = {}
        self._warnings: list[ReportWarning] = []
        self._audit: AuditReference | None = None
        self._error: str | None = None
        self._interrupted = False

    def add_source(self, info: SourceInfo) -> None:
        """Record a source as read (URI, SHA-256, bytes, rows, registry date, S3 version)."""
        with self._lock:
            self._sources.append(replace(info, uri=mask_text(redact_text(info.uri))))

    def set_accounting(self, accounting: Accounting) -> None:
        """Record the run's accounting (values = accepted + duplicates + rejected)."""
        with self._lock:
            self._accounting = accounting_evidence(accounting)

    def warn(self, code: str, message: str, *, target: str | None = None) -> None:
        """Record a warning for the report (masked like everything else)."""
        with self._lock:
            self._warnings.append(ReportWarning(code, _clean_message(message), target))

    def target(
        self, name: str, *, platform: str = "", list_id: str = "", mode: str = "upsert"
    ) -> TargetReportBuilder:
        """The builder for one target (created on first use)."""
        with self._lock:
            builder = self._targets.get(name)
            if builder is None:
                builder = self._targets[name] = TargetReportBuilder(name, platform, list_id, mode)
            return builder

    def fail(self, message: str) -> None:
        """The run as a whole failed (bad configuration, unreadable source, a bug)."""
        with self._lock:
            self._error = _clean_message(message)

    def interrupt(self, message: str) -> None:
        """SIGINT or SIGTERM ended the run."""
        with self._lock:
            self._error = _clean_message(message)
            self._interrupted = True

    def set_audit(self, file: str, seal: AuditSeal | None = None) -> None:
        """Point the report at the run's audit log and the seal the state store keeps."""
        with self._lock:
            self._audit = AuditReference(
                file, seal.final_hash if seal else None, seal.lines if seal else None
            )

    def build(self, finished_at: datetime | None = None) -> RunReport:
        """The frozen report, with the warnings that follow from the evidence."""
        with self._lock:
            targets = tuple(t.build() for t in self._targets.values())
            freshness = tuple(self._freshness())
            warnings = [*self._derived_warnings(targets, freshness), *self._warnings]
            statuses = [t.status for t in targets]
            if self._interrupted:
                statuses.append(RunStatus.INTERRUPTED)
            elif self._error is not None:
                statuses.append(RunStatus.FAILED)
            status = max(statuses, key=lambda s: s.severity, default=RunStatus.SUCCESS)
            return RunReport(
                run_id=self.run_id,
                command=self.command,
                started_at=self.started_at,
                finished_at=utc(finished_at) if finished_at else None,
                dncsync_version=self.version,
                config_digest=self.config_digest,
                status=status,
                accounting=self._accounting,
                sources=tuple(self._sources),
                freshness=freshness,
                targets=targets,
                warnings=tuple(warnings),
                audit=self._audit,
                error=self._error,
            )

    def _freshness(self) -> Iterable[Freshness]:
        today = self.started_at.date()
        for source in self._sources:
            if source.kind == "registry" and source.registry_date is not None:
                age = (today - source.registry_date).days
                yield Freshness(source.name, source.registry_date, age, age > REGISTRY_MAX_AGE_DAYS)

    def _derived_warnings(
        self, targets: tuple[TargetReport, ...], freshness: tuple[Freshness, ...]
    ) -> Iterable[ReportWarning]:
        accounting = self._accounting
        if not accounting.balanced:
            yield ReportWarning("accounting_unbalanced", _unbalanced(accounting))
        for kind, count in accounting.warnings.items():
            yield ReportWarning(kind, f"{count} row(s) corrected: {kind.replace('_', ' ')}")
        for fresh in freshness:
            if fresh.stale:
                yield ReportWarning(
                    "registry_stale",
                    f"source {fresh.source!r}: registry extract dated "
                    f"{fresh.registry_date.isoformat()} is {fresh.age_days} days old; safe "
                    f"harbor needs one at most {fresh.limit_days} days old",
                )
        for target in targets:
            yield from _target_warnings(target)


def accounting_evidence(accounting: Accounting) -> AccountingEvidence:
    """An accounting as the report keeps it (kinds and reasons sorted)."""
    return AccountingEvidence(
        rows=accounting.rows,
        accepted=accounting.accepted,
        duplicates=accounting.duplicates,
        rejected=accounting.rejected,
        blank_lines=accounting.blank_lines,
        warnings=dict(sorted(accounting.warnings.items())),
        reject_reasons=dict(sorted(accounting.reject_reasons.items())),
        values=accounting.values,
        filtered=accounting.filtered,
        rows_with_value=accounting.rows_with_value,
        rows_without_value=accounting.rows_without_value,
    )


def _unbalanced(a: AccountingEvidence) -> str:
    values = a.rows if a.values is None else a.values
    return (
        f"values ({values}) ?= accepted ({a.accepted}) + duplicates ({a.duplicates}) + "
        f"rejected ({a.rejected}); rows ({a.rows}) ?= rows with a value ({a.rows_with_value}) "
        f"+ filtered ({a.filtered or 0}) + rows without a value ({a.rows_without_value or 0})"
    )


def _target_warnings(target: TargetReport) -> Iterable[ReportWarning]:
    push, late = target.push, target.timeliness
    if target.accounting is not None and not target.accounting.balanced:
        yield ReportWarning("accounting_unbalanced", _unbalanced(target.accounting), target.name)
    if push.numbers_failed:
        yield ReportWarning(
            "numbers_failed",
            f"{push.numbers_failed} number(s) not acknowledged by the platform "
            f"({', '.join(f'{c}: {n}' for c, n in push.failure_codes.items())})",
            target.name,
        )
    if push.numbers_skipped:
        yield ReportWarning(
            "numbers_skipped",
            f"{push.numbers_skipped} number(s) not sent, as the target's settings say "
            f"({', '.join(f'{c}: {n}' for c, n in push.skipped_codes.items())}); "
            "the platform does not block them",
            target.name,
        )
    if push.batches_paired_by_position:
        yield ReportWarning(
            "paired_by_position",
            f"{push.batches_paired_by_position} batch(es) answered with results that name no "
            "number: each result was paired with the record sent in the same position",
            target.name,
        )
    if late.late:
        yield ReportWarning(
            "late_entries",
            f"{late.late} entr{'y was' if late.late == 1 else 'ies were'} pushed more than "
            f"{late.limit_business_days} business days after collection "
            "(FCC 47 CFR 64.1200(d)(3))",
            target.name,
        )
    verification = target.verification
    if verification.status is VerificationStatus.DRIFT:
        yield ReportWarning(
            "verification_drift",
            f"the platform's list differs: {verification.missing} missing, "
            f"{verification.unexpected} unexpected",
            target.name,
        )
    if target.stop_reason and target.status is RunStatus.SAFETY_STOP:
        yield ReportWarning("safety_stop", target.stop_reason, target.name)


__all__ = [
    "SAMPLE_SIZE",
    "RunReportBuilder",
    "TargetReportBuilder",
    "accounting_evidence",
    "utc",
]
