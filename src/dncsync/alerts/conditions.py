"""When to alert: conditions read from a run's result or the intake's open requests.

Pure: no I/O, no clock (the caller passes `today` and `now`). Each condition names a subject
(a command, a target, a source, the intake), and an alert is throttled per condition and
subject (`alerts.ledger`), so one broken target does not hide another's.

    run_failed        a run failed, partly failed or stopped for safety
    target_failing    a target failed N runs (or serve pushes) in a row
    optout_overdue    an opt-out still pending past half the time to its deadline
    drift             reconcile (or sync --verify) found a platform differing
    rejects           a source's rejected values above a percentage of its values
    registry_stale    a registry source older than 31 days (no safe harbor past that)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dncsync.outcome import RunResult

REGISTRY_MAX_AGE = timedelta(days=31)  # the safe harbor's limit on a registry version's age
_FAILED_RUN = ("failed", "partial", "safety_stop")
_FAILED_TARGET = ("failed", "partial")


class Condition(StrEnum):
    """What an alert is about."""

    RUN_FAILED = "run_failed"
    TARGET_FAILING = "target_failing"
    OPTOUT_OVERDUE = "optout_overdue"
    DRIFT = "drift"
    REJECTS = "rejects"
    REGISTRY_STALE = "registry_stale"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: its condition, its subject and the line an operator reads (no number, no
    secret: counts, names and ids only)."""

    condition: Condition
    subject: str
    text: str
    facts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers conditions are judged by (`[[alert]]`)."""

    failures_in_a_row: int = 3
    rejected_percent: float = 5.0


def streaks_after(result: RunResult, before: Mapping[str, int]) -> dict[str, int]:
    """Each target's failures in a row once this run is counted: a failure adds one, a
    success starts again from zero, an interrupted target leaves it as it was."""
    after = dict(before)
    for target in result.targets:
        if target.status in _FAILED_TARGET:
            after[target.name] = before.get(target.name, 0) + 1
        elif target.status != "interrupted":
            after[target.name] = 0
    return after


def after_run(
    result: RunResult, streaks: Mapping[str, int], thresholds: Thresholds, today: date
) -> list[Alert]:
    """The alerts a finished run calls for (`streaks` as `streaks_after` gave them)."""
    found: list[Alert] = []
    # A reconcile's own status says drift or success; a target that failed in it still
    # makes the run one that failed in part.
    bad = [t for t in result.targets if t.status in _FAILED_RUN]
    if result.status in _FAILED_RUN or bad:
        found.append(
            Alert(
                Condition.RUN_FAILED,
                result.command,
                f"dncsync {result.command} run {result.run_id} ended {result.status}"
                + (f": {', '.join(f'{t.name} {t.status}' for t in bad)}" if bad else ""),
                {"run": result.run_id, "status": result.status},
            )
        )
    for target in result.targets:
        count = streaks.get(target.name, 0)
        if target.status in _FAILED_TARGET and count >= thresholds.failures_in_a_row:
            found.append(failing(target.name, count, target.error or target.status))
        if target.verification is not None and target.verification.drifted:
            found.append(
                Alert(
                    Condition.DRIFT,
                    target.name,
                    f"target {target.name} differs from what it should hold "
                    f"(run {result.run_id}); `dncsync reconcile` shows the numbers",
                    {"run": result.run_id, "target": target.name},
                )
            )
    for ingested in result.ingest.values():
        for name, counts in ingested.source_counts.items():
            if (
                counts.values
                and counts.rejected * 100 > thresholds.rejected_percent * counts.values
            ):
                share = counts.rejected * 100 / counts.values
                found.append(
                    Alert(
                        Condition.REJECTS,
                        name,
                        f"source {name}: {counts.rejected:,} of {counts.values:,} values rejected "
                        f"({share:.1f} %, above {thresholds.rejected_percent:g} %); see the "
                        "run's rejects file",
                        {"run": result.run_id, "source": name},
                    )
                )
        for source in ingested.sources:
            if source.kind != "registry":
                continue
            dated = source.registry_date
            if dated is None or today - dated > REGISTRY_MAX_AGE:
                found.append(
                    Alert(
                        Condition.REGISTRY_STALE,
                        source.name,
                        f"registry source {source.name} is dated {dated or 'unknown'}, more "
                        "than 31 days ago: scrubbing against it keeps no safe harbor",
                        {"source": source.name, "registry_date": str(dated)},
                    )
                )
    return _unique(found)


def failing(target: str, count: int, error: str) -> Alert:
    """A target that failed `count` times in a row."""
    return Alert(
        Condition.TARGET_FAILING,
        target,
        f"target {target} failed {count} times in a row; last: {error}",
        {"target": target, "failures_in_a_row": str(count)},
    )


def overdue(
    pending: Iterable[tuple[str, datetime, date]], now: datetime, zone: ZoneInfo
) -> list[Alert]:
    """One alert when opt-outs are still pending past half the time from their receipt to
    the end of their deadline day (in `zone`): half the time gone is the moment to act."""
    late: list[tuple[datetime, str, date]] = []
    for request_id, received_at, deadline in pending:
        end = datetime.combine(deadline + timedelta(days=1), time(), zone)
        if now >= received_at + (end - received_at) / 2:
            late.append((received_at, request_id, deadline))
    if not late:
        return []
    late.sort()
    _, oldest, deadline = late[0]
    return [
        Alert(
            Condition.OPTOUT_OVERDUE,
            "intake",
            f"{len(late):,} opt-outs are still not held on every target past half the time "
            f"to their deadline; the oldest, {oldest}, is due {deadline.isoformat()}",
            {"pending": str(len(late)), "oldest": oldest, "deadline": deadline.isoformat()},
        )
    ]


def while_serving(
    pending: Iterable[tuple[str, datetime, date]],
    streaks: Iterable[tuple[str, int, str]],
    now: datetime,
    zone: ZoneInfo,
    thresholds: Thresholds,
) -> list[Alert]:
    """serve's periodic check: overdue opt-outs, and targets (name, failures in a row, last
    error) whose opens or pushes failed `failures_in_a_row` times running."""
    return overdue(pending, now, zone) + [
        failing(name, count, error)
        for name, count, error in streaks
        if count >= thresholds.failures_in_a_row
    ]


def _unique(alerts: list[Alert]) -> list[Alert]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for alert in alerts:
        if (alert.condition, alert.subject) not in seen:
            seen.add((alert.condition, alert.subject))
            kept.append(alert)
    return kept


__all__ = [
    "REGISTRY_MAX_AGE",
    "Alert",
    "Condition",
    "Thresholds",
    "after_run",
    "failing",
    "overdue",
    "streaks_after",
    "while_serving",
]
