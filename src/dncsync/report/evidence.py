"""A run's evidence from start to seal: the audit log while it runs, the reports when it ends.

What the run's lifecycle (`dncsync.run.lifecycle`) calls (DOMAIN.md principle 8):

    files = RunFiles.for_run(runs_dir_for(config, base), run_id)
    with recording_run(files, run_id) as audit:       # every log event of the run -> audit.jsonl
        ... the run ...
        evidence = finish_run(result, files, audit, config=config)
    store.run_ended(..., **evidence.run_record())     # report paths and the audit seal

`finish_run` turns the run's `RunResult` into a `RunReport`, logs the run's end, seals the
audit log and writes `report.json` and `report.html` beside it. The run's `warnings.csv` (its
warned rows, written as ingest reads them) is referenced from the report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dncsync import logs
from dncsync.audit import AuditLog, AuditSeal, RunFiles
from dncsync.config import Config, resolve_path
from dncsync.drift import Drift
from dncsync.model import Entry
from dncsync.outcome import RunResult, TargetOutcome
from dncsync.report import write_reports
from dncsync.report.builder import RunReportBuilder, TargetReportBuilder
from dncsync.report.model import (
    AuditReference,
    RunReport,
    VerificationStatus,
    WarningsReference,
)

log = logs.logger("dncsync.evidence")


def default_runs_dir(state_path: Path) -> Path:
    """Where runs' evidence goes when `[state] runs_dir` is not set: `<state path>.runs/`."""
    return state_path.with_name(state_path.name + ".runs")


def runs_dir_for(config: Config, base: Path) -> Path:
    """The runs folder a configuration names, resolved against the config file's folder."""
    state_path = Path(resolve_path(base, config.state.path))
    if config.state.runs_dir:
        return Path(resolve_path(base, config.state.runs_dir))
    return default_runs_dir(state_path)


@contextmanager
def recording_run(files: RunFiles, run_id: str) -> Iterator[AuditLog]:
    """Open the run's audit log and send every log event of the block to it, with `run_id`."""
    files.create_directory()
    audit = AuditLog.create(files.audit)
    try:
        with logs.recording(run_id, audit):
            yield audit
    finally:
        audit.close()  # idempotent: finish_run normally sealed it already


@dataclass(frozen=True, slots=True)
class RunEvidence:
    """What a finished run left: its report, where the files are, the audit seal."""

    report: RunReport
    files: RunFiles
    seal: AuditSeal

    def run_record(self) -> dict[str, Any]:
        """The keyword arguments `StateStore.run_ended` takes for the evidence."""
        return {
            "report_path": str(self.files.report_json),
            "html_report_path": str(self.files.report_html),
            "audit_path": str(self.files.audit),
            "audit_hash": self.seal.final_hash,
            "audit_lines": self.seal.lines,
        }


def finish_run(
    result: RunResult,
    files: RunFiles,
    audit: AuditLog,
    *,
    config: Config | None = None,
    entries: Iterable[Entry] | None = None,
    monotonic_origin: float | None = None,
    error: str | None = None,
) -> RunEvidence:
    """Build the run's report, log the end, seal the audit log and write both reports.

    `entries` (the merged entries, for timeliness) defaults to re-reading the run's ingest
    results. `monotonic_origin` is `time.monotonic()` at `result.started_at`, to place
    batches (timed on the monotonic clock) on the wall clock; without it the first batch is
    placed at the run's start.
    """
    report = build_report(
        result,
        config=config,
        entries=entries,
        monotonic_origin=monotonic_origin,
        error=error,
    )
    log.info(
        "dnc.run_finished",
        status=report.status.value,
        targets=[t.name for t in report.targets],
        accounting_balanced=report.accounting.balanced,
        warnings=len(report.warnings),
    )
    seal = audit.close()
    sealed = _with_audit(report, files, seal)
    write_reports(sealed, files)
    return RunEvidence(sealed, files, seal)


def _with_audit(report: RunReport, files: RunFiles, seal: AuditSeal) -> RunReport:
    warnings = None
    if files.warnings.exists():  # the run wrote its warned rows (plan writes nothing)
        rows = sum(report.accounting.warnings.values())
        warnings = WarningsReference(str(files.warnings), rows)
    return replace(
        report,
        audit=AuditReference(str(files.audit), seal.final_hash, seal.lines),
        warnings_file=warnings,
    )


def build_report(
    result: RunResult,
    *,
    config: Config | None = None,
    entries: Iterable[Entry] | None = None,
    monotonic_origin: float | None = None,
    error: str | None = None,
) -> RunReport:
    """The report of a run, from the engine's `RunResult`."""
    builder = RunReportBuilder(
        result.run_id,
        started_at=result.started_at,
        config_digest=result.config_digest,
        command=result.command,
    )
    seen: set[str] = set()
    for ingested in result.ingest.values():
        for source in ingested.sources:
            if source.name not in seen:
                seen.add(source.name)
                builder.add_source(source)
    accounting = result.accounting()  # each distinct source once, as the console shows it
    if accounting is not None:
        builder.set_accounting(accounting)
    origin = _origin(result.targets, monotonic_origin)
    pushed_on = (result.ended_at or result.started_at).astimezone(UTC).date()
    pushed: dict[str, npt.NDArray[np.uint64]] = {}
    for outcome in result.targets:
        target = builder.target(
            outcome.name, platform=outcome.platform, list_id=outcome.list_id, mode=outcome.mode
        )
        fill_target(target, outcome, result.started_at, origin)
        own = result.target_accounting(outcome)
        if own is not None:
            target.set_accounting(own, outcome.sources)
        if outcome.variant:
            target.set_variant(outcome.variant)
        if outcome.collected is not None:
            target.set_collected(outcome.collected)
        if outcome.blocks_nothing is not None:
            builder.warn(
                "list_blocks_nothing",
                f"{outcome.blocks_nothing}: the numbers synced to it block no dialing until it "
                "is switched on",
                target=outcome.name,
            )
        if outcome.read_reason is not None:
            builder.warn("list_read", outcome.read_reason, target=outcome.name)
        if outcome.clock is not None:
            clock = outcome.clock
            builder.warn(
                "clock_skew",
                f"this machine's clock ({clock['local_time']}) and the platform's "
                f"({clock['platform_time']}) differ by {clock['skew_seconds']} s: retention, "
                f"expiry and the platform's cap were decided by the platform's day "
                f"({clock['today']})",
                target=outcome.name,
            )
        room = outcome.capacity
        if room is not None and room["left_out"]:
            builder.warn(
                "over_capacity",
                f"the target holds at most {room['capacity']} numbers and needed "
                f"{room['to_hold']}: the most important were kept, {room['left_out']} left "
                f"out (among them {', '.join(room['left_out_sample'])})",
                target=outcome.name,
            )
        if outcome.plan is not None and outcome.plan.foreign:
            builder.warn(
                "foreign_numbers",
                f"{outcome.plan.foreign} numbers on the list were put there by someone else "
                "(an agent, an IVR, before dncsync): kept, not removed",
                target=outcome.name,
            )
        if outcome.verification is not None:  # `sync --verify` and reconcile read it back
            checked_at = outcome.verified_at or result.ended_at or datetime.now(UTC)
            record_verification(target, outcome.verification, checked_at)
        if outcome.batches and outcome.plan is not None:
            # Timeliness ages what was sent; failures are listed (masked) on their own.
            outcome.settle_plan()
            if outcome.pushed_keys is not None:
                pushed[outcome.name] = outcome.pushed_keys
    if pushed:
        _note_timeliness(builder, result, pushed, pushed_on, entries)
    error = error or result.error
    if result.status == "interrupted":
        builder.interrupt(error or "interrupted")
    elif error:
        builder.fail(error)
    if result.status == "failed" and not error:
        builder.fail("the run stopped on an error (see the audit log)")
    report = builder.build(finished_at=result.ended_at)
    if result.intake is not None:
        report = dataclasses.replace(report, intake=result.intake)
    return report


def _origin(outcomes: Sequence[TargetOutcome], monotonic_origin: float | None) -> float:
    if monotonic_origin is not None:
        return monotonic_origin
    starts = [b.started_at for o in outcomes for b in o.batches]
    return min(starts, default=0.0)


def _wall(started: datetime, origin: float, moment: float) -> datetime:
    return started + timedelta(seconds=max(moment - origin, 0.0))


def fill_target(
    target: TargetReportBuilder, outcome: TargetOutcome, started: datetime, origin: float
) -> None:
    """Put one target's plan and batches (from the run's `TargetOutcome`) into a report."""
    if outcome.plan is not None:
        target.set_plan(outcome.plan)
    if outcome.interrupted or outcome.not_run:
        target.interrupt(outcome.not_run or "interrupted by a signal")
    elif outcome.stopped:
        target.stop(outcome.stopped)
    elif outcome.error is not None:
        target.fail(outcome.error)
    batches = sorted(outcome.batches, key=lambda b: b.started_at)
    for batch in batches:
        # Full numbers go in: the builder keeps only masked ones.
        target.record_result(batch, started_at=_wall(started, origin, batch.started_at))
    if batches:
        first = _wall(started, origin, batches[0].started_at)
        last = max(
            _wall(started, origin, b.started_at) + timedelta(seconds=b.duration_seconds)
            for b in batches
        )
        target.set_push_window(first, last)


def record_verification(report: TargetReportBuilder, drift: Drift, checked_at: datetime) -> None:
    """Put a read-back comparison into a run report as the target's verification."""
    report.set_verification(
        VerificationStatus.DRIFT if drift.drifted else VerificationStatus.MATCH,
        expected=drift.expected,
        actual=drift.held,
        missing=len(drift.missing),
        unexpected=len(drift.unexpected),
        foreign=len(drift.foreign),
        checked_at=checked_at,
    )


def _note_timeliness(
    builder: RunReportBuilder,
    result: RunResult,
    pushed: dict[str, npt.NDArray[np.uint64]],
    pushed_on: date,
    entries: Iterable[Entry] | None,
) -> None:
    """Age each target's pushed entries that carry a date collected, each number once (the
    first dated entry met for it, sources in the run's order)."""
    for name, keys in pushed.items():
        builder.target(name).note_pushed(
            _first_dated(_candidates(result, keys, entries)), pushed_on
        )


def _first_dated(entries: Iterable[Entry]) -> Iterator[Entry]:
    found: set[str] = set()
    for entry in entries:
        if entry.date_collected is not None and entry.phone not in found:
            found.add(entry.phone)
            yield entry


def _candidates(
    result: RunResult, keys: npt.NDArray[np.uint64], entries: Iterable[Entry] | None
) -> Iterator[Entry]:
    """The entries whose numbers are among `keys`: the given ones, or the run's ingest read
    again a chunk at a time (never every entry at once)."""
    if entries is not None:
        wanted = {f"+{key}" for key in keys.tolist()}
        yield from (e for e in entries if e.phone in wanted)
        return
    for ingested in result.ingest.values():
        yield from ingested.entries(only=keys)


__all__ = [
    "RunEvidence",
    "build_report",
    "default_runs_dir",
    "fill_target",
    "finish_run",
    "record_verification",
    "recording_run",
    "runs_dir_for",
]
