"""One run's beginning and end, whatever the command: every step runs inside a `Run`.

    with Run(config, base, "sync") as run:          # id, state store, audit log, run record
        for target in run.targets:
            with run.locked(target):               # one run per list at a time
                run.add(await_step(run, target))   # plan, sync or reconcile one target
    run.conclude()                                  # the exit the run's status calls for

On leaving the block, whatever happened (success, an error, an interrupt), the run's end is
recorded once: its status, the report built from its `RunResult`, the audit log sealed, and
the run record updated with where the evidence is. `plan` (`records=False`) writes nothing
anywhere: no run record, no audit log, no first sightings.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from dncsync import logs, wiring
from dncsync.audit import AuditLog, RunFiles
from dncsync.config import Config, SourceConfig, resolve_path
from dncsync.errors import RunDrifted, RunIncomplete, RunStopped, SafetyStop
from dncsync.ingest import IngestResult, ingest
from dncsync.model import Entry
from dncsync.outcome import RunResult, TargetOutcome, source_set_key
from dncsync.platforms import platform_of
from dncsync.platforms.base import TargetConfigBase
from dncsync.report.evidence import finish_run, recording_run, runs_dir_for
from dncsync.row_warnings import OncePerSource, WarningsCsv
from dncsync.run.retention import retention_from_first_seen
from dncsync.state import StateStore, Store

log = logs.logger("dncsync.run")

StoreFactory = Callable[[Path], Store]


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def sync_status(result: RunResult, stops: list[SafetyStop]) -> str:
    """How a plan or sync ended: a safety stop, numbers not acknowledged, drift, or success."""
    if stops:
        return "safety_stop"
    if any(t.failed for t in result.targets):
        return "partial"
    if any(t.verification is not None and t.verification.drifted for t in result.targets):
        return "drift"
    return "success"


class Run:
    """One run of one command: its id, state store, evidence, locks and record."""

    def __init__(
        self,
        config: Config,
        base: Path,
        command: str,
        *,
        target: str | None = None,
        records: bool = True,
        today: date | None = None,
        status: Callable[[RunResult, list[SafetyStop]], str] = sync_status,
        store: StoreFactory = StateStore,
    ) -> None:
        self.config = config
        self.base = base
        self.command = command
        self.records = records  # False: a dry run writes nothing anywhere
        # Every credential is read before anything touches a network or the state store.
        self.targets = config.targets_named(target)
        self.settings = {t.name: wiring.target_settings(t) for t in self.targets}
        self.started_at = datetime.now(UTC)
        self.origin = time.monotonic()  # the monotonic clock's reading at `started_at`
        self.today = today or self.started_at.date()
        self.id = new_run_id(self.started_at)
        self.result = RunResult(self.id, command, self.started_at, None, config.digest(), {}, [])
        self.stops: list[SafetyStop] = []
        self.summarize: Callable[[], dict[str, Any]] = self.result.summary
        self._status = status
        self._store_factory = store
        self._files = RunFiles.for_run(runs_dir_for(config, base), self.id)
        self._stack = ExitStack()
        self._audit: AuditLog | None = None
        self._warnings: OncePerSource | None = None  # the run folder's warnings.csv
        self.store: Store

    # --- beginning and end ---------------------------------------------------------------

    def __enter__(self) -> Self:
        state_path = Path(resolve_path(self.base, self.config.state.path))
        with ExitStack() as stack:
            self.store = self._store_factory(state_path)
            stack.callback(self.store.close)
            if self.records:
                self._audit = stack.enter_context(recording_run(self._files, self.id))
                warnings = WarningsCsv(str(self._files.warnings))
                self._warnings = OncePerSource(stack.enter_context(warnings))
                self.store.run_started(
                    self.id,
                    self.command,
                    self.started_at.isoformat(),
                    self.result.config_digest,
                    [t.name for t in self.targets],
                )
            else:
                stack.enter_context(logs.recording(self.id))
            log.info(
                "dnc.run_started", command=self.command, targets=[t.name for t in self.targets]
            )
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is not None:
                self.result.status = "failed"
                self.result.error = str(exc) or type(exc).__name__
            else:
                self.result.status = self._status(self.result, self.stops)
            self.result.ended_at = datetime.now(UTC)
            record: dict[str, Any] = {}
            if self._audit is not None:
                self.result.evidence = finish_run(
                    self.result, self._files, self._audit, monotonic_origin=self.origin
                )
                record = self.result.evidence.run_record()
            if self.records:
                self.store.run_ended(
                    self.id,
                    ended_at=self.result.ended_at.isoformat(),
                    status=self.result.status,
                    summary=self.summarize(),
                    **record,
                )
        finally:
            self._stack.__exit__(exc_type, exc, traceback)

    def conclude(self) -> RunResult:
        """The result of a run that ended well; otherwise the error its status calls for."""
        result = self.result
        if self.stops:
            raise RunStopped("; ".join(str(stop) for stop in self.stops), result)
        if result.status == "partial":
            failed = {t.name: t.failed for t in result.targets if t.failed}
            detail = ", ".join(f"{name}: {count}" for name, count in failed.items())
            raise RunIncomplete(
                f"run {result.run_id}: numbers not acknowledged after retries ({detail}); "
                "they stay planned and the next sync sends them again",
                result,
            )
        if result.status == "drift":
            drifted = [t.name for t in result.targets if t.verification and t.verification.drifted]
            raise RunDrifted(
                f"run {result.run_id}: after the sync, {', '.join(drifted)} still differ from "
                "what they should hold; `dncsync reconcile` shows the numbers",
                result,
            )
        return result

    # --- what steps use --------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, target: TargetConfigBase) -> Iterator[None]:
        """Hold the target's lock for the block; another run holding it raises AlreadyRunning."""
        with self.store.lock(target.name):
            yield

    def stop(self, target: TargetConfigBase, stop: SafetyStop) -> None:
        """Note a target stopped for safety; the run goes on with the others."""
        log.warning("dnc.safety_stop", target=target.name, reason=str(stop))
        self.stops.append(stop)

    def add(self, outcome: TargetOutcome) -> None:
        """Record one target's outcome; a safety stop in it is noted for the run's end."""
        self.result.targets.append(outcome)
        if outcome.stopped:
            log.warning("dnc.safety_stop", target=outcome.name, reason=outcome.stopped)
            self.stops.append(SafetyStop(outcome.stopped))

    def outcome(self, target: TargetConfigBase) -> TargetOutcome:
        """An empty outcome for a target, named as the report shows it."""
        return TargetOutcome(
            name=target.name,
            platform=target.platform,
            mode=target.mode.value,
            plan=None,
            list_id=platform_of(target).list_id(target),
            sources=tuple(s.name for s in self.config.sources_for(target)),
        )

    def ingested(self, target: TargetConfigBase) -> IngestResult:
        """The target's sources read and merged; read once per set of sources in a run."""
        sources = self.config.sources_for(target)
        key = source_set_key(s.name for s in sources)
        if key not in self.result.ingest:
            self.result.ingest[key] = self._ingest(sources)
        return self.result.ingest[key]

    def entries(self, target: TargetConfigBase, *, record: bool | None = None) -> list[Entry]:
        """The target's merged entries, RELATIVE retention counted from first sightings."""
        return retention_from_first_seen(
            list(self.ingested(target).entries()),
            self.store,
            self.today,
            record=self.records if record is None else record,
        )

    def _ingest(self, sources: list[SourceConfig]) -> IngestResult:
        # Each warned row is written once: a source read for another target before is not.
        warned = self._warnings.reading(s.name for s in sources) if self._warnings else None
        return ingest(
            wiring.source_specs(sources, self.base),
            wiring.policy(self.config),
            today=self.today,
            warnings=warned,
        )
