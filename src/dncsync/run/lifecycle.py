"""One run's beginning and end, whatever the command: every step runs inside a `Run`.

    with Run(config, base, "sync") as run:          # id, state store, audit log, run record
        for target in run.targets:
            run.attempt(target, step)               # locked; its failure fails it alone
    run.conclude()                                  # the exit the targets' outcomes call for

Each target is independent: its configuration, credentials, network or platform failing
fails that target only, and the run's exit code is the most severe of the targets'
(`errors.SEVERITY`). SIGINT and SIGTERM stop the run cleanly: while batches are being pushed,
no new one is sent and those in flight are settled; at any other moment the step stops at
once. Either way the run ends recorded as `interrupted`, with its report and sealed audit log.

On leaving the block, whatever happened (success, an error, an interrupt), the run's end is
recorded once: its status, the report built from its `RunResult`, the audit log sealed, and
the run record updated with where the evidence is. `plan` (`records=False`) writes nothing
anywhere: no run record, no audit log, no first sightings.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo

from dncsync import logs, wiring
from dncsync.alerts import Alerter, overdue
from dncsync.audit import AuditLog, RunFiles
from dncsync.config import Config, ServeConfig, SourceConfig, resolve_path
from dncsync.errors import (
    AlreadyRunning,
    DncsyncError,
    ExitCode,
    Interrupted,
    RunDrifted,
    RunFailed,
    RunIncomplete,
    RunInterrupted,
    RunStopped,
    SafetyStop,
    most_severe,
)
from dncsync.ingest import IngestResult, ingest
from dncsync.intake import INTAKE_SOURCE, entry_of, merged
from dncsync.model import Accounting, Entry
from dncsync.outcome import RunResult, TargetOutcome, source_set_key
from dncsync.platforms import platform_of
from dncsync.platforms.base import TargetConfigBase
from dncsync.report.evidence import finish_run, recording_run, runs_dir_for
from dncsync.row_warnings import OncePerSource, WarningsCsv
from dncsync.run.retention import retention_from_first_seen
from dncsync.sources.objects import is_multi
from dncsync.state import StateStore, Store
from dncsync.storage import intake_exists, open_intake, open_store

log = logs.logger("dncsync.run")

StoreFactory = Callable[[Path], Store]
T = TypeVar("T")


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


_STATUS_OF_CODE = {
    ExitCode.TERMINATED: "interrupted",
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.INTERNAL: "failed",
    ExitCode.CONFIG_OR_AUTH: "failed",
    ExitCode.USAGE_OR_INPUT: "failed",
    ExitCode.PARTIAL_FAILURE: "partial",
    ExitCode.SAFETY_STOP: "safety_stop",
    ExitCode.DRIFT: "drift",
    ExitCode.OK: "success",
}


def sync_status(result: RunResult, stops: list[SafetyStop]) -> str:
    """How a plan or sync ended: its most severe target's outcome (`errors.SEVERITY`)."""
    return _STATUS_OF_CODE[most_severe(t.outcome_code for t in result.targets)]


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
        signals: bool = True,
        alerts: bool = True,
    ) -> None:
        self.config = config
        self.base = base
        self.command = command
        self.records = records  # False: a dry run writes nothing anywhere
        # Every credential is read before anything touches a network or the state store; a
        # target whose credentials are missing fails alone, when its turn comes.
        self.targets = config.targets_named(target)
        self.settings: dict[str, Any] = {}
        self._setting_errors: dict[str, DncsyncError] = {}
        for chosen in self.targets:
            try:
                self.settings[chosen.name] = wiring.target_settings(chosen)
            except DncsyncError as error:
                self._setting_errors[chosen.name] = error
        self.interrupted: int | None = None  # the signal that asked the run to stop
        self.pushing = False  # batches are in flight: a signal stops new ones only
        self.task: asyncio.Task[Any] | None = None  # the step running now, to cancel on a signal
        self._keys: dict[str, str] = {}
        self.started_at = datetime.now(UTC)
        self.origin = time.monotonic()  # the monotonic clock's reading at `started_at`
        self.today = today or self.started_at.date()
        self.id = new_run_id(self.started_at)
        self.result = RunResult(self.id, command, self.started_at, None, config.digest(), {}, [])
        self.stops: list[SafetyStop] = []
        self.summarize: Callable[[], dict[str, Any]] = self.result.summary
        self._status = status
        self._handles_signals = signals  # False: the caller (serve) handles them itself
        self._intake: dict[tuple[str, ...] | None, list[Entry]] = {}
        self._store_factory = store
        self._files = RunFiles.for_run(runs_dir_for(config, base), self.id)
        self._stack = ExitStack()
        self._audit: AuditLog | None = None
        self._warnings: OncePerSource | None = None  # the run folder's warnings.csv
        self.store: Store
        # `[[alert]]`: its secrets read now, so a missing one stops the run before it starts.
        # False: the caller (serve) sends them itself, off its event loop.
        self.alerter = Alerter.configured(config, base) if records and alerts else None

    # --- beginning and end ---------------------------------------------------------------

    def __enter__(self) -> Self:
        with ExitStack() as stack:
            self.store = open_store(self.config, self.base, self._store_factory)
            stack.callback(self.store.close)
            if self.records:
                self._audit = stack.enter_context(recording_run(self._files, self.id))
                multi = any(
                    is_multi(resolve_path(self.base, source.url)) for source in self.config.source
                )
                warnings = WarningsCsv(str(self._files.warnings), with_object=multi)
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
            stack.enter_context(self._signals())
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
            if isinstance(exc, Interrupted) or self.interrupted is not None:
                self.result.status = "interrupted"
                self.result.error = self._interrupt_message()
            elif exc is not None:
                self.result.status = "failed"
                self.result.error = str(exc) or type(exc).__name__
            else:
                self.result.status = self._status(self.result, self.stops)
            self.result.ended_at = datetime.now(UTC)
            self._alert()  # before the seal: what was sent is in the run's audit log
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

    def _alert(self) -> None:
        """Send what the run's end calls for; alerting never changes how the run ended."""
        if self.alerter is None:
            return
        try:
            self.alerter.after_run(self.result, self.today)
            if intake_exists(self.config, self.base):
                targets = {t.name: t.scopes for t in self.targets if t.intake}
                store = open_intake(self.config, self.base, targets)
                try:
                    pending = store.open_requests()
                finally:
                    store.close()
                zone = ZoneInfo((self.config.serve or ServeConfig()).timezone)
                now = datetime.now(UTC)
                self.alerter.send(lambda _: overdue(pending, now, zone))
        except Exception as error:  # a broken ledger or channel must not fail a good run
            log.error("dnc.alert_failed", error=f"{type(error).__name__}: {error}")

    def conclude(self) -> RunResult:
        """The result of a run that ended well; otherwise the error its targets call for.

        The exit code is the most severe of the targets' (`errors.SEVERITY`); the message says
        what failed and what was done to the other targets.
        """
        result = self.result
        if self.interrupted is not None:
            raise RunInterrupted(
                self._interrupt_message(), result, Interrupted(self.interrupted).exit_code
            )
        code = most_severe(t.outcome_code for t in result.targets)
        if code is ExitCode.OK:
            return result
        message = f"run {result.run_id}: " + self.describe_outcomes()
        if code is ExitCode.PARTIAL_FAILURE:
            raise RunIncomplete(message, result)
        if code is ExitCode.SAFETY_STOP:
            raise RunStopped(message, result)
        if code is ExitCode.DRIFT:
            raise RunDrifted(message, result)
        raise RunFailed(message, result, code)

    def describe_outcomes(self) -> str:
        """One line: each target that did not end well and why, then what the others did."""
        problems: list[str] = []
        partial: list[str] = []
        others: list[str] = []
        for outcome in self.result.targets:
            match outcome.status:
                case "failed":
                    problems.append(f"target {outcome.name!r} failed: {outcome.error}")
                case "safety_stop" if outcome.over_capacity and outcome.capacity:
                    room = outcome.capacity
                    problems.append(
                        f"target {outcome.name!r} holds at most {room['capacity']} numbers and "
                        f"needs {room['to_hold']}: the most important were pushed, the "
                        f"{room['left_out']} least important were left out (see the report); "
                        "spread it over more lists or set its capacity"
                    )
                case "safety_stop":
                    problems.append(f"target {outcome.name!r} stopped: {outcome.stopped}")
                case "partial":
                    partial.append(f"{outcome.name}: {outcome.failed}")
                case "drift":
                    problems.append(
                        f"target {outcome.name!r} still differs from what it should hold after "
                        "the sync; `dncsync reconcile` shows the numbers"
                    )
                case _:
                    others.append(f"{outcome.name!r} ({_done(outcome)})")
        if partial:
            problems.append(
                f"numbers not acknowledged after retries ({', '.join(partial)}); they stay "
                "planned and the next sync sends them again"
            )
        if others:
            problems.append("the other targets ran: " + ", ".join(others))
        return "; ".join(problems)

    # --- interrupts ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM end the run cleanly (signals reach the main thread only)."""
        if not self._handles_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._on_signal)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Runs between two bytecodes of the main thread, which may hold a lock (a log line
        # half written): it only sets the flag and asks the step's task to stop at its next
        # await. The run stops at its next safe point: before a batch, a target, a page.
        if self.interrupted is not None:
            raise Interrupted(signum)  # asked twice: stop where we are
        self.interrupted = signum
        task = self.task
        if task is not None and not self.pushing:
            task.get_loop().call_soon_threadsafe(task.cancel)

    def _interrupt_message(self) -> str:
        signum = self.interrupted or signal.SIGINT
        name = signal.Signals(signum).name
        settled = sum(len(t.batches) for t in self.result.targets)
        return (
            f"run {self.id} interrupted by {name}: no new batch was sent after it, the "
            f"{settled} batches sent were settled, and the run's report and audit log were "
            "written; the next sync picks up where this one stopped"
        )

    # --- what steps use --------------------------------------------------------------------

    def recording(self) -> contextlib.AbstractContextManager[None]:
        """Events logged in the block carry the run's id and reach its audit log (for work
        that runs outside the run's own tasks, such as serve's API handlers)."""
        return logs.recording(self.id, self._audit)

    def setting_error(self, target: TargetConfigBase) -> DncsyncError | None:
        """Why the target's settings (its credentials) could not be read, if they could not."""
        return self._setting_errors.get(target.name)

    def key(self, target: TargetConfigBase) -> str:
        """The list's identity, the key its state is kept under; a state written under the
        target's name before list identities is moved to it (never reset).

        `target` names one list (a target naming several is split by `Platform.lists`);
        only the first list of a target can have been kept under its name before.
        """
        identity = platform_of(target).list_identity(target)
        cached = self._keys.get(identity)
        if cached is not None:
            return cached
        if self.records:
            if self.store.adopt(target.name, identity):
                log.info("dnc.state_migrated", target=target.name, list=identity)
            key = identity
        else:  # a dry run writes nothing: it reads an unmigrated state where it lies
            key = self.store.resolve(target.name, identity)
        self._keys[identity] = key
        return key

    def keys(self, target: TargetConfigBase) -> list[str]:
        """The keys of every list the target names, in its order."""
        return [self.key(part) for part in platform_of(target).lists(target)]

    def attempt(
        self,
        target: TargetConfigBase,
        step: Callable[[TargetOutcome], object],
        outcome: TargetOutcome | None = None,
    ) -> None:
        """Run one target's step, locked; whatever fails there fails this target alone.

        `outcome`: one an earlier step of this run began for the target (`collect` before
        `sync`), so the target stays one outcome in the run's result."""
        if outcome is None:
            outcome = self.outcome(target)
            self.result.targets.append(outcome)
        if self.interrupted is not None:
            outcome.not_run = "the run was interrupted before this target started"
            return
        try:
            error = self._setting_errors.get(target.name)
            if error is not None:
                raise error
            keys = self.keys(target)
            outcome.key = keys[0]
            with ExitStack() as locks:  # every list the target names, or none
                for key in keys:
                    locks.enter_context(self.store.lock(key, target.name))
                step(outcome)
        except (Interrupted, asyncio.CancelledError):
            if self.interrupted is None:  # cancelled by something else than a signal: a bug
                raise
            outcome.interrupted = True
        except AlreadyRunning as busy:  # a safety stop: nothing was done to this list
            outcome.stopped = str(busy)
        except DncsyncError as failed:
            outcome.error, outcome.exit_code = str(failed), failed.exit_code
            log.error("dnc.target_failed", target=target.name, error=str(failed))
        except Exception as bug:  # a bug in one target's step must not cost the others
            outcome.error = f"internal error ({type(bug).__name__}: {bug})"
            outcome.exit_code = ExitCode.INTERNAL
            log.exception("dnc.target_failed", target=target.name)
        if outcome.stopped:
            log.warning("dnc.safety_stop", target=target.name, reason=outcome.stopped)
            self.stops.append(SafetyStop(outcome.stopped))
        if self.interrupted is not None:
            outcome.interrupted = True
            log.warning(
                "dnc.interrupted",
                target=target.name,
                signal=signal.Signals(self.interrupted).name,
            )

    async def running(self, step: Awaitable[T]) -> T:
        """Await a step as the task a signal cancels (outside the push, where in-flight
        batches are settled first)."""
        self.task = asyncio.current_task()
        try:
            return await step
        finally:
            self.task = None

    def outcome(self, target: TargetConfigBase) -> TargetOutcome:
        """An empty outcome for a target, named as the report shows it."""
        return TargetOutcome(
            name=target.name,
            platform=target.platform,
            mode=target.mode.value,
            plan=None,
            list_id=platform_of(target).list_id(target),
            sources=tuple(s.name for s in self.config.sources_for(target))
            + ((INTAKE_SOURCE,) if self.intake_entries(target) else ()),
        )

    def ingested(self, target: TargetConfigBase) -> IngestResult:
        """The target's sources read and merged; read once per set of sources in a run."""
        sources = self.config.sources_for(target)
        key = source_set_key(s.name for s in sources)
        if key not in self.result.ingest:
            if sources:
                self.result.ingest[key] = self._ingest(sources)
            else:  # a `[serve]` configuration: intake may be the only source
                self.result.ingest[key] = IngestResult(Accounting(), [], self.today, [], [])
        return self.result.ingest[key]

    def entries(self, target: TargetConfigBase, *, record: bool | None = None) -> Sequence[Entry]:
        """The target's merged entries (its sources' and the intake's), RELATIVE retention
        counted from first sightings: as columns, each `Entry` made when read, unless the
        intake or a shifted retention had to be merged in."""
        from_sources = self.ingested(target).columns()
        intake = self.intake_entries(target)
        return retention_from_first_seen(
            merged(from_sources, intake) if intake else from_sources,
            self.store,
            self.today,
            record=self.records if record is None else record,
        )

    def intake_entries(self, target: TargetConfigBase) -> list[Entry]:
        """The opt-outs `dncsync serve` took in that this target takes (none when it says
        `intake = false`); withdrawn requests are not among them."""
        if not target.intake:
            return []
        scopes = None if target.scopes is None else tuple(sorted(target.scopes))
        if scopes not in self._intake:
            found: list[Entry] = []
            if intake_exists(self.config, self.base):
                store = open_intake(self.config, self.base, {})
                try:
                    rows = store.live_requests(scopes)
                finally:
                    store.close()
                policy = wiring.policy(self.config)
                found = merged([], (entry_of(*row, policy, self.today) for row in rows))
            self._intake[scopes] = found
        return self._intake[scopes]

    def forget_intake(self) -> None:
        """Read the intake store again at the next `intake_entries` (opt-outs were stored
        during the run: collected from a platform's list)."""
        self._intake.clear()

    def vanished(self, target: TargetConfigBase, *, record: bool) -> frozenset[str]:
        """The numbers of objects that vanished from the target's additive sources of many
        objects since an earlier sync: a mirror keeps them (`vanished = "keep"`).

        Each object's numbers are remembered in the state (`record`: a sync that applies; a
        plan writes nothing), so a number stays protected after its object is gone, across
        runs, until the source says `vanished = "remove"` (which forgets vanished objects).
        """
        ingested = self.ingested(target)
        kept: set[str] = set()
        for source in self.config.sources_for(target):
            read = ingested.object_numbers.get(source.name)
            if read is None:
                continue  # one object: removals follow the source as before
            known = self.store.source_objects(source.name)
            gone = [uri for uri in known if uri not in read]
            if source.vanished == "keep":
                for uri in gone:
                    kept.update(f"+{key}" for key in known[uri].tolist())
            if record:
                self.store.record_source_objects(
                    source.name, read, forget=gone if source.vanished == "remove" else ()
                )
            if gone:
                log.info(
                    "dnc.objects_vanished",
                    source=source.name,
                    objects=len(gone),
                    kept=source.vanished == "keep",
                )
        return frozenset(kept)

    def _ingest(self, sources: list[SourceConfig]) -> IngestResult:
        # Each warned row is written once: a source read for another target before is not.
        warned = self._warnings.reading(s.name for s in sources) if self._warnings else None
        return ingest(
            wiring.source_specs(sources, self.base),
            wiring.policy(self.config),
            today=self.today,
            warnings=warned,
        )


def _done(outcome: TargetOutcome) -> str:
    if outcome.status == "interrupted":
        return "interrupted"
    if outcome.batches:
        return f"{outcome.acknowledged} numbers acknowledged"
    return "nothing to send" if outcome.plan is not None else "read"
