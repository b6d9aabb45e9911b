"""One run, end to end: the only place that wires the pieces together.

    sources ─► ingest ─► entries ─► (per target) snapshot ─► plan ─► safety ─► push ─► summary

For each target the run takes the target's lock, seeds a mirror target's snapshot from the
platform on its first run, plans against the snapshot, refuses unsafe plans before any write,
and pushes batches with bounded concurrency. Each batch is journaled as intended before it is
sent and settled (snapshot and journal in one transaction) after the platform answered, so a
run killed at any point resumes by planning again: acknowledged numbers are in the snapshot
and are not sent again; only the batches in flight at the kill are.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dncsync import logs, wiring
from dncsync.audit import AuditLog, RunFiles
from dncsync.config import Config, SourceConfig, TargetConfig, resolve_path
from dncsync.errors import DncsyncError, DriftFound, PartialFailure, SafetyStop
from dncsync.ingest import IngestResult, ingest
from dncsync.logs import mask_phone
from dncsync.model import Entry, ExpirationPolicy
from dncsync.plan import Batch, Held, Mode, Plan, TargetRules, batches, plan
from dncsync.report.evidence import RunEvidence, finish_run, recording_run, runs_dir_for
from dncsync.state import StateStore
from dncsync.targets import Target, TargetSettings, build_target

if TYPE_CHECKING:
    from dncsync.reconcile import Drift

log = logs.logger("dncsync.engine")

SAMPLE_SIZE = 5


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the operator asked of this run."""

    target: str | None = None
    apply: bool = True  # False: plan only (no write anywhere, the state store included)
    allow_mass_removal: bool = False
    verify: bool = False  # read each platform back after the push and compare
    today: date | None = None  # injected by tests; default: today in UTC


@dataclass(slots=True)
class BatchOutcome:
    """What happened to one batch, for the summary and the report."""

    action: str
    count: int
    expires: date | None
    acknowledged: int
    failed: int
    attempts: int
    status: int | None
    correlation_ids: list[str]
    rate_limited: int
    waited_seconds: float
    started_at: float
    duration_seconds: float
    errors: list[tuple[str, str]]  # (phone, platform error); masked wherever it is shown


@dataclass(slots=True)
class TargetOutcome:
    """One target's plan and, when applied, its push results."""

    name: str
    platform: str
    mode: str
    plan: Plan
    seeded_from_platform: int | None = None
    batches: list[BatchOutcome] = field(default_factory=list)
    stopped: str | None = None  # why the target's run stopped before any write
    duration_seconds: float = 0.0  # the whole target: reads, plan, push, verification
    push_seconds: float = 0.0  # from the first batch sent to the last answer
    verification: Drift | None = None  # with `sync --verify`: the platform read back

    @property
    def sent(self) -> int:
        """Numbers sent (each batch counted once, retries aside)."""
        return sum(b.count for b in self.batches)

    @property
    def acknowledged(self) -> int:
        """Numbers the platform acknowledged."""
        return sum(b.acknowledged for b in self.batches)

    @property
    def failed(self) -> int:
        """Numbers not acknowledged after retries."""
        return sum(b.failed for b in self.batches)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready view printed by `plan` and `sync`."""
        result: dict[str, Any] = {
            "platform": self.platform,
            "mode": self.mode,
            "held_before": self.plan.held_before,
            "adds": len(self.plan.adds),
            "updates": len(self.plan.updates),
            "removes": len(self.plan.removes),
            "expiries": len(self.plan.expiries),
            "unchanged": self.plan.unchanged,
            "expired_not_pushed": self.plan.expired,
            "sample": {
                "adds": [mask_phone(w.phone) for w in self.plan.adds[:SAMPLE_SIZE]],
                "updates": [mask_phone(w.phone) for w in self.plan.updates[:SAMPLE_SIZE]],
                "removes": [mask_phone(p) for p in self.plan.removes[:SAMPLE_SIZE]],
                "expiries": [mask_phone(p) for p in self.plan.expiries[:SAMPLE_SIZE]],
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
            for outcome in self.batches:
                failures.update((mask_phone(phone), error) for phone, error in outcome.errors)
            result.update(
                writes=len(self.batches),
                sent=self.sent,
                acknowledged=self.acknowledged,
                failed=self.failed,
                failures=dict(list(failures.items())[:50]),
                retries=sum(max(b.attempts - 1, 0) for b in self.batches),
                rate_limited=sum(b.rate_limited for b in self.batches),
                waited_seconds=round(sum(b.waited_seconds for b in self.batches), 3),
                duration_seconds=round(self.duration_seconds, 3),
                push_seconds=round(self.push_seconds, 3),
                numbers_per_second=round(self.sent / self.push_seconds, 1)
                if self.push_seconds
                else None,
            )
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
    evidence: RunEvidence | None = None  # the audit log and reports, once the run is sealed

    def summary(self) -> dict[str, Any]:
        """One JSON object: the run's accounting and each target's outcome."""
        first = next(iter(self.ingest.values()), None)
        accounting = dataclasses.asdict(first.accounting) if first else {}
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
            if self.evidence is None
            else {
                "audit_log": str(self.evidence.files.audit),
                "report_json": str(self.evidence.files.report_json),
                "report_html": str(self.evidence.files.report_html),
            },
        }


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def retention_from_first_seen(
    entries: Sequence[Entry], store: StateStore, today: date, *, record: bool = True
) -> list[Entry]:
    """Count RELATIVE retention without a collection date from the number's first sighting.

    Ingest counts it from today; shifting by (first seen - today) keeps the expiry from
    sliding forward on every run (DOMAIN.md principle 5).
    """
    floating = [
        e.phone
        for e in entries
        if e.date_collected is None
        and e.expiration_policy is ExpirationPolicy.RELATIVE
        and e.expires_at is not None
    ]
    if not floating:
        return list(entries)
    seen = store.first_seen(floating, today, record=record)
    result: list[Entry] = []
    for entry in entries:
        first = seen.get(entry.phone)
        if first is not None and first != today and entry.expires_at is not None:
            entry = dataclasses.replace(entry, expires_at=entry.expires_at - (today - first))
        result.append(entry)
    return result


def check_safety(outcome: TargetOutcome, target: TargetConfig, accepted: int, allow: bool) -> None:
    """Refuse, before any write, a plan that would empty or gut a list."""
    if target.mode is Mode.MIRROR and accepted == 0 and not allow:
        raise SafetyStop(
            f"target {target.name!r}: the sources gave no accepted numbers, and mirror mode "
            f"would remove all {outcome.plan.held_before} numbers the list holds; nothing was "
            "written. Check the source; if the list must really be emptied, rerun with "
            "--allow-mass-removal"
        )
    fraction = outcome.plan.removal_fraction()
    if outcome.plan.removals and fraction > target.max_removal_fraction and not allow:
        raise SafetyStop(
            f"target {target.name!r}: the plan removes {outcome.plan.removals} of "
            f"{outcome.plan.held_before} numbers ({fraction:.1%}), above max_removal_fraction "
            f"{target.max_removal_fraction:.1%}; nothing was written. If these removals are "
            "intended, rerun with --allow-mass-removal"
        )


def ingest_for(
    config: Config, base: Path, sources: Sequence[SourceConfig], today: date
) -> IngestResult:
    """Read and merge a set of sources (the validate pipeline)."""
    return ingest(wiring.source_specs(sources, base), wiring.policy(config), today=today)


async def _push_all(
    handle: Target,
    store: StateStore,
    run_id: str,
    target: TargetConfig,
    work: list[Batch],
    outcome: TargetOutcome,
    on_progress: Callable[[int], None] | None,
) -> None:
    limit = asyncio.Semaphore(target.concurrency)

    async def one(batch: Batch) -> None:
        async with limit:
            batch_id = store.batch_intended(run_id, target.name, batch)
            started = time.monotonic()
            result = await handle.push(batch)
            store.batch_settled(
                batch_id,
                target.name,
                batch,
                result.acknowledged,
                failed=len(result.failed),
                attempts=result.attempts,
                correlation_id=",".join(result.correlation_ids) or None,
                error="; ".join(sorted(set(result.failed.values())))[:500] or None,
                run_id=run_id,
            )
            batch_outcome = BatchOutcome(
                action=batch.action,
                count=len(batch.phones),
                expires=batch.expires,
                acknowledged=len(result.acknowledged),
                failed=len(result.failed),
                attempts=result.attempts,
                status=result.status,
                correlation_ids=list(result.correlation_ids),
                rate_limited=result.rate_limited,
                waited_seconds=result.waited_seconds,
                started_at=started,
                duration_seconds=time.monotonic() - started,
                errors=list(result.failed.items()),
            )
            outcome.batches.append(batch_outcome)
            log.info(
                "dnc.batch_settled",
                target=target.name,
                action=batch.action,
                count=len(batch.phones),
                acknowledged=batch_outcome.acknowledged,
                failed=batch_outcome.failed,
                attempts=result.attempts,
                status=result.status,
                correlation_id=batch_outcome.correlation_ids[-1:] or None,
                duration_seconds=round(batch_outcome.duration_seconds, 3),
            )
            if on_progress is not None:
                on_progress(len(batch.phones))

    try:
        async with asyncio.TaskGroup() as group:
            for batch in work:
                group.create_task(one(batch))
    except* DncsyncError as failed:
        # A fatal answer (refused credentials, a missing list) fails every batch alike; the
        # TaskGroup wraps it in an ExceptionGroup, which would read as a bug (exit 1). Raise
        # the first one itself, so it keeps its message and its exit code.
        raise failed.exceptions[0] from None


async def sync_target(
    target: TargetConfig,
    settings: TargetSettings,
    entries: Sequence[Entry],
    accepted: int,
    store: StateStore,
    run_id: str,
    options: RunOptions,
    today: date,
    progress: Callable[[str, int, int], None] | None = None,
) -> TargetOutcome:
    """Plan one target and, unless this is a dry run, push the plan."""
    started = time.monotonic()
    async with build_target(settings) as handle:
        seeded: int | None = None
        if target.mode is Mode.MIRROR and not store.is_seeded(target.name):
            records = await handle.read_all()
            held = [(r.phone, Held(r.expires, r.expires)) for r in records if r.held]
            seeded = len(held)
            if options.apply:
                store.replace_snapshot(target.name, held, run_id)
                snapshot = store.snapshot(target.name)
            else:
                snapshot = dict(held)
            log.info("dnc.snapshot_seeded", target=target.name, numbers=seeded)
        else:
            snapshot = store.snapshot(target.name)
        rules = TargetRules(
            mode=target.mode,
            max_expiry_days=handle.max_expiry_days,
            expire_after_retention=target.expire_after_retention,
        )
        the_plan = plan(entries, snapshot, today, rules)
        outcome = TargetOutcome(
            name=target.name,
            platform=target.platform,
            mode=target.mode.value,
            plan=the_plan,
            seeded_from_platform=seeded,
        )
        log.info(
            "dnc.planned",
            target=target.name,
            adds=len(the_plan.adds),
            updates=len(the_plan.updates),
            removes=len(the_plan.removes),
            expiries=len(the_plan.expiries),
            expired=the_plan.expired,
            unchanged=the_plan.unchanged,
        )
        try:
            check_safety(outcome, target, accepted, options.allow_mass_removal)
        except SafetyStop as stop:
            outcome.stopped = str(stop)
            outcome.duration_seconds = time.monotonic() - started
            return outcome
        if options.apply and the_plan.writes:
            work = list(
                batches(
                    the_plan,
                    target.batch_size,
                    handle.max_body_bytes,
                    # CXone takes an expiration per record; Genesys one per request.
                    expiry_per_record=target.platform == "cxone",
                )
            )
            total = sum(len(b.phones) for b in work)
            done = 0

            def advance(count: int) -> None:
                nonlocal done
                done += count
                if progress is not None:
                    progress(target.name, done, total)

            pushing = time.monotonic()
            await _push_all(handle, store, run_id, target, work, outcome, advance)
            outcome.push_seconds = time.monotonic() - pushing
        if options.verify:
            from dncsync.reconcile import read_and_compare  # reconcile builds on the engine

            outcome.verification, _ = await read_and_compare(
                handle,
                entries,
                store.snapshot(target.name),
                mode=target.mode,
                today=today,
                expire_after_retention=target.expire_after_retention,
            )
    outcome.duration_seconds = time.monotonic() - started
    return outcome


def run(
    config: Config,
    base: Path,
    options: RunOptions,
    *,
    command: str = "sync",
    progress: Callable[[str, int, int], None] | None = None,
) -> RunResult:
    """Plan (and with `options.apply`, push) every chosen target, leaving the run's evidence.

    A target stopped for safety does not stop the others; the run then ends with
    `RunStopped` (exit 5). Numbers not acknowledged end it with `RunIncomplete` (exit 4).
    Both carry the result, so the caller can still print the summary and the report paths.
    """
    targets = config.targets_named(options.target)
    # Every credential is read before anything touches a network or the state store.
    settings = {target.name: wiring.target_settings(target) for target in targets}
    started_at = datetime.now(UTC)
    origin = time.monotonic()
    today = options.today or started_at.date()
    run_id = new_run_id(started_at)
    result = RunResult(run_id, command, started_at, None, config.digest(), {}, [])
    state_path = Path(resolve_path(base, config.state.path))
    files = RunFiles.for_run(runs_dir_for(config, base), run_id)
    stops: list[SafetyStop] = []
    with StateStore(state_path) as store, _evidence(files, run_id, options.apply) as audit:
        if options.apply:
            store.run_started(
                run_id,
                command,
                started_at.isoformat(),
                result.config_digest,
                [t.name for t in targets],
            )
        log.info("dnc.run_started", command=command, targets=[t.name for t in targets])
        error: str | None = None
        try:
            for target in targets:
                try:
                    outcome = _run_target(
                        config,
                        base,
                        target,
                        settings[target.name],
                        store,
                        result,
                        options,
                        today,
                        progress,
                    )
                except SafetyStop as stop:  # another run holds this target
                    log.warning("dnc.safety_stop", target=target.name, reason=str(stop))
                    stops.append(stop)
                    continue
                result.targets.append(outcome)
                if outcome.stopped:
                    log.warning("dnc.safety_stop", target=target.name, reason=outcome.stopped)
                    stops.append(SafetyStop(outcome.stopped))
            result.status = _status(result.targets, stopped=bool(stops))
        except BaseException as problem:
            result.status = "failed"
            error = str(problem) or type(problem).__name__
            raise
        finally:
            result.ended_at = datetime.now(UTC)
            record: dict[str, Any] = {}
            if audit is not None:
                result.evidence = finish_run(
                    result, files, audit, config=config, monotonic_origin=origin, error=error
                )
                record = result.evidence.run_record()
            if options.apply:
                store.run_ended(
                    run_id,
                    ended_at=result.ended_at.isoformat(),
                    status=result.status,
                    summary=result.summary(),
                    **record,
                )
    if stops:
        raise RunStopped(result, stops)
    if result.status == "partial":
        raise RunIncomplete(result)
    if result.status == "drift":
        raise RunDrifted(result)
    return result


def _status(outcomes: Sequence[TargetOutcome], *, stopped: bool) -> str:
    if stopped:
        return "safety_stop"
    if any(t.failed for t in outcomes):
        return "partial"
    if any(t.verification is not None and t.verification.drifted for t in outcomes):
        return "drift"
    return "success"


@contextlib.contextmanager
def _evidence(files: RunFiles, run_id: str, apply: bool) -> Iterator[AuditLog | None]:
    """A run that writes gets an audit log; a dry run only tags its events with the run id."""
    if not apply:
        with logs.recording(run_id):
            yield None
        return
    with recording_run(files, run_id) as audit:
        yield audit


def _run_target(
    config: Config,
    base: Path,
    target: TargetConfig,
    settings: TargetSettings,
    store: StateStore,
    result: RunResult,
    options: RunOptions,
    today: date,
    progress: Callable[[str, int, int], None] | None,
) -> TargetOutcome:
    with store.lock(target.name):
        sources = config.sources_for(target)
        key = ",".join(s.name for s in sources)
        if key not in result.ingest:
            result.ingest[key] = ingest_for(config, base, sources, today)
        ingested = result.ingest[key]
        entries = _entries(ingested, store, today, apply=options.apply)
        return asyncio.run(
            sync_target(
                target,
                settings,
                entries,
                ingested.accounting.accepted,
                store,
                result.run_id,
                options,
                today,
                progress,
            )
        )


class _CarriesResult:
    """An error that ends a run which still has a summary and evidence to show."""

    result: RunResult


class RunIncomplete(PartialFailure, _CarriesResult):
    """Some numbers were not acknowledged after retries."""

    def __init__(self, result: RunResult) -> None:
        failed = {t.name: t.failed for t in result.targets if t.failed}
        detail = ", ".join(f"{name}: {count}" for name, count in failed.items())
        super().__init__(
            f"run {result.run_id}: numbers not acknowledged after retries ({detail}); "
            "they stay planned and the next sync sends them again"
        )
        self.result = result


class RunStopped(SafetyStop, _CarriesResult):
    """A target's plan was refused for safety; the other targets ran."""

    def __init__(self, result: RunResult, stops: Sequence[SafetyStop]) -> None:
        super().__init__("; ".join(str(stop) for stop in stops))
        self.result = result


class RunDrifted(DriftFound, _CarriesResult):
    """`sync --verify` read a platform back and it does not hold what it should."""

    def __init__(self, result: RunResult) -> None:
        drifted = [t.name for t in result.targets if t.verification and t.verification.drifted]
        super().__init__(
            f"run {result.run_id}: after the sync, {', '.join(drifted)} still differ from what "
            "they should hold; `dncsync reconcile` shows the numbers"
        )
        self.result = result


def _entries(ingested: IngestResult, store: StateStore, today: date, *, apply: bool) -> list[Entry]:
    return retention_from_first_seen(list(ingested.entries()), store, today, record=apply)
