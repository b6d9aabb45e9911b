"""The run report: everything an auditor needs about one run (DOMAIN.md principle 8).

Frozen dataclasses, JSON-serialisable through `dncsync.report.codec`. Phone numbers in a report
are always masked (`+1415555****`): a report carries counts and digests, never full numbers
(DOMAIN.md principle 7). The engine fills a report through `RunReportBuilder`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from dncsync.model import SourceInfo

SCHEMA = "dncsync.run-report/1"
REGISTRY_MAX_AGE_DAYS = 31  # safe harbor: scrub against a registry version at most 31 days old


class RunStatus(StrEnum):
    """How a run (or one target's part of it) ended."""

    SUCCESS = "success"  # every write acknowledged
    PARTIAL = "partial"  # some batch or record not acknowledged after retries
    SAFETY_STOP = "safety_stop"  # stopped before any write (mass removal, empty source)
    FAILED = "failed"  # stopped by an error (configuration, authentication, input)
    INTERRUPTED = "interrupted"  # SIGINT or SIGTERM: no new batch after it, in flight settled

    @property
    def severity(self) -> int:
        """Higher is worse: a run's status is its worst target's."""
        return _SEVERITY[self]


_SEVERITY = {
    RunStatus.SUCCESS: 0,
    RunStatus.PARTIAL: 1,
    RunStatus.SAFETY_STOP: 2,
    RunStatus.FAILED: 3,
    RunStatus.INTERRUPTED: 4,
}


class VerificationStatus(StrEnum):
    """Whether the platform's list was read back after the run, and what it showed."""

    NOT_RUN = "not_run"
    MATCH = "match"
    DRIFT = "drift"


class BatchStatus(StrEnum):
    """The platform's answer to one batch, after retries."""

    ACKNOWLEDGED = "acknowledged"  # every record in it
    PARTIAL = "partial"  # answered, but some records failed (CXone per-record results)
    FAILED = "failed"  # not acknowledged at all


@dataclass(frozen=True, slots=True)
class AccountingEvidence:
    """Every row and phone value read is accounted for: values = accepted + duplicates +
    rejected, rows = rows with a value + filtered + rows without a value.

    The row level is None in reports written before it existed (one value per row then).
    """

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    blank_lines: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    values: int | None = None
    filtered: int | None = None
    rows_with_value: int | None = None
    rows_without_value: int | None = None

    @property
    def balanced(self) -> bool:
        """The accounting identities every report must show."""
        values = self.rows if self.values is None else self.values
        rows_ok = self.rows == (
            (values if self.rows_with_value is None else self.rows_with_value)
            + (self.filtered or 0)
            + (self.rows_without_value or 0)
        )
        return rows_ok and values == self.accepted + self.duplicates + self.rejected


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old a registry source was when the run read it (safe harbor: at most 31 days)."""

    source: str
    registry_date: date
    age_days: int
    stale: bool
    limit_days: int = REGISTRY_MAX_AGE_DAYS


@dataclass(frozen=True, slots=True)
class PlanSample:
    """One planned write, masked, to show what a plan does."""

    action: str  # add | update | remove | expiry
    phone: str  # masked
    retention_end: date | None = None
    platform_expires: date | None = None


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """What the run meant to change on one target."""

    adds: int = 0
    updates: int = 0
    removes: int = 0
    expiries: int = 0
    unchanged: int = 0
    expired: int = 0  # desired entries whose retention already ended: counted, not pushed
    held_before: int = 0  # numbers the target held before the run (per the state store)
    sample: tuple[PlanSample, ...] = ()
    foreign: int = 0  # held, no source has them, dncsync did not put them there: kept

    @property
    def writes(self) -> int:
        """Numbers to send, in any direction."""
        return self.adds + self.updates + self.removes + self.expiries


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One request's worth of numbers, as the platform answered it."""

    number: int  # 1-based, in the order the batches were started
    action: str  # add | remove
    count: int  # numbers sent in the batch (skipped numbers are not sent)
    attempts: int
    status: BatchStatus
    started_at: datetime
    duration_seconds: float
    correlation_id: str | None = None  # e.g. Genesys ININ-Correlation-Id of the last attempt
    http_status: int | None = None
    error_code: str | None = None
    failed: int = 0  # records in it the platform refused
    expires: date | None = None  # the platform expiration sent with it
    skipped: int = 0  # numbers of the batch not sent, as a setting says (not in `count`)
    # The platform's results named no number: they were paired with the records in order.
    paired_by_position: bool = False


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """Time spent waiting because the platform said to slow down (429) or a retry backed off."""

    started_at: datetime
    seconds: float
    status: int | None = 429  # the HTTP status that caused the wait (None: pacing)
    batch: int | None = None  # BatchRecord.number, when known
    count: int = 1  # answers with that status it stands for (a batch's waits, summed)


@dataclass(frozen=True, slots=True)
class FailedNumber:
    """A number the platform did not acknowledge, masked, with the platform's own error.

    A batch refused as a whole is one line with no phone and the count of its numbers.
    """

    phone: str | None  # masked; None for a whole refused batch
    action: str
    error_code: str
    message: str = ""
    count: int = 1
    batch: int | None = None  # BatchRecord.number


@dataclass(frozen=True, slots=True)
class PushSummary:
    """What was sent to one target and what the platform answered."""

    numbers_sent: int = 0
    numbers_acknowledged: int = 0
    numbers_failed: int = 0
    numbers_skipped: int = 0  # not sent, as a setting says (e.g. `international = "skip"`)
    batches_sent: int = 0
    batches_acknowledged: int = 0
    batches_failed: int = 0  # not acknowledged, or acknowledged with some records refused
    requests: int = 0  # HTTP requests, retries included
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    waited_seconds: float = 0.0
    duration_seconds: float = 0.0
    throughput_per_second: float = 0.0  # numbers acknowledged per second of push
    failure_codes: dict[str, int] = field(default_factory=dict)
    failures: tuple[FailedNumber, ...] = ()
    batches: tuple[BatchRecord, ...] = ()
    waits: tuple[RateLimitWait, ...] = ()
    skipped_codes: dict[str, int] = field(default_factory=dict)  # why numbers were skipped
    batches_paired_by_position: int = 0  # acknowledged by the results' order, not their numbers


@dataclass(frozen=True, slots=True)
class Verification:
    """The platform's list read back after the run, compared with what it should hold."""

    status: VerificationStatus = VerificationStatus.NOT_RUN
    checked_at: datetime | None = None
    expected: int | None = None
    actual: int | None = None
    missing: int = 0  # should be there, is not
    unexpected: int = 0  # is there, should not be
    foreign: int = 0  # upsert mode: put there by someone else; not drift


@dataclass(frozen=True, slots=True)
class LateEntry:
    """A pushed entry collected more than the allowed business days before the push."""

    phone: str  # masked
    reason: str
    date_collected: date
    business_days: int


@dataclass(frozen=True, slots=True)
class Timeliness:
    """Age at push time of entries with a date collected (FCC 47 CFR 64.1200(d)(3))."""

    pushed_on: date | None = None
    checked: int = 0  # pushed entries that had a date collected
    late: int = 0  # of those, pushed after the deadline
    limit_business_days: int = 10
    oldest_business_days: int | None = None
    late_by_reason: dict[str, int] = field(default_factory=dict)
    sample: tuple[LateEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportWarning:
    """Something an operator should look at; the run went on."""

    code: str
    message: str
    target: str | None = None


@dataclass(frozen=True, slots=True)
class TargetReport:
    """One target's part of a run."""

    name: str
    platform: str
    list_id: str
    mode: str
    status: RunStatus
    plan: PlanSummary = field(default_factory=PlanSummary)
    push: PushSummary = field(default_factory=PushSummary)
    verification: Verification = field(default_factory=Verification)
    timeliness: Timeliness = field(default_factory=Timeliness)
    stop_reason: str | None = None
    # The sources the target syncs from, and their accounting (None in older reports).
    sources: tuple[str, ...] = ()
    accounting: AccountingEvidence | None = None
    # What the platform's answers showed of its unconfirmed points (`targets.variant`).
    variant: dict[str, str] = field(default_factory=dict)
    # Opt-outs stored from numbers found on the list that no source held and dncsync did not
    # add (`collect`); None when the run did not collect from this target.
    collected: int | None = None


@dataclass(frozen=True, slots=True)
class AuditReference:
    """Where the run's audit log is, and the seal the state store keeps for it."""

    file: str
    final_hash: str | None = None
    lines: int | None = None


@dataclass(frozen=True, slots=True)
class WarningsReference:
    """Where the run's warned rows are (`source,line,kind,detail`), and how many it holds."""

    file: str
    rows: int = 0  # one per warned row and kind: the accounting's warnings, added up


@dataclass(frozen=True, slots=True)
class RunReport:
    """The evidence of one run."""

    run_id: str
    command: str
    started_at: datetime
    finished_at: datetime | None
    dncsync_version: str
    config_digest: str
    status: RunStatus
    accounting: AccountingEvidence
    sources: tuple[SourceInfo, ...] = ()
    freshness: tuple[Freshness, ...] = ()
    targets: tuple[TargetReport, ...] = ()
    warnings: tuple[ReportWarning, ...] = ()
    audit: AuditReference | None = None
    error: str | None = None
    schema: str = SCHEMA
    warnings_file: WarningsReference | None = None
    # serve: the intake's figures and its requests by state (phones masked); None otherwise
    intake: dict[str, Any] | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Wall time of the run, when it finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def target(self, name: str) -> TargetReport:
        """One target's part, by name."""
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


__all__ = [
    "REGISTRY_MAX_AGE_DAYS",
    "SCHEMA",
    "AccountingEvidence",
    "AuditReference",
    "BatchRecord",
    "BatchStatus",
    "FailedNumber",
    "Freshness",
    "LateEntry",
    "PlanSample",
    "PlanSummary",
    "PushSummary",
    "RateLimitWait",
    "ReportWarning",
    "RunReport",
    "RunStatus",
    "TargetReport",
    "Timeliness",
    "Verification",
    "VerificationStatus",
    "WarningsReference",
]
