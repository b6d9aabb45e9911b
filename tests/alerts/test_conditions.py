"""The alert conditions, called directly: they are pure functions of a run's result."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dncsync.alerts.conditions import Condition, Thresholds, after_run, overdue, streaks_after
from dncsync.model import SourceCounts
from dncsync.outcome import RunResult, TargetOutcome

NEW_YORK = ZoneInfo("America/New_York")


def _result(*statuses: tuple[str, str | None], status: str = "success") -> RunResult:
    targets = []
    for name, error in statuses:
        outcome = TargetOutcome(name=name, platform="p", mode="upsert", plan=None)
        outcome.error = error
        targets.append(outcome)
    return RunResult("run-1", "sync", datetime.now(UTC), None, "digest", {}, targets, status)


def test_a_streak_grows_with_failures_restarts_on_success_and_waits_out_interrupts() -> None:
    failed = _result(("a", "boom"), ("b", None))
    assert streaks_after(failed, {"a": 2, "b": 5}) == {"a": 3, "b": 0}
    interrupted = _result(("a", None))
    interrupted.targets[0].interrupted = True
    assert streaks_after(interrupted, {"a": 3}) == {"a": 3}


def test_a_target_alerts_once_it_failed_the_set_number_of_times_in_a_row() -> None:
    result = _result(("a", "refused"), status="failed")
    two = Thresholds(failures_in_a_row=2)
    assert [a.condition for a in after_run(result, {"a": 1}, two, date.today())] == [
        Condition.RUN_FAILED
    ]
    alerts = after_run(result, {"a": 2}, two, date.today())
    assert [(a.condition, a.subject) for a in alerts] == [
        (Condition.RUN_FAILED, "sync"),
        (Condition.TARGET_FAILING, "a"),
    ]


def test_rejects_alert_only_above_the_percentage() -> None:
    from dncsync.ingest import IngestResult
    from dncsync.model import Accounting

    def with_rejects(rejected: int) -> RunResult:
        result = _result()
        ingested = IngestResult(Accounting(), [], date.today(), [], ["s"])
        ingested.source_counts["s"] = SourceCounts(values=100, rejected=rejected)
        result.ingest["s"] = ingested
        return result

    five = Thresholds(rejected_percent=5)
    assert after_run(with_rejects(5), {}, five, date.today()) == []
    (alert,) = after_run(with_rejects(6), {}, five, date.today())
    assert (alert.condition, alert.subject) == (Condition.REJECTS, "s")


def test_an_opt_out_is_overdue_past_half_the_time_to_the_end_of_its_deadline_day() -> None:
    received = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
    deadline = date(2026, 11, 16)  # its 10th business day (Veterans Day on the 11th)
    end = datetime(2026, 11, 17, tzinfo=NEW_YORK)
    half = received + (end - received) / 2
    pending = [("r1", received, deadline)]
    assert overdue(pending, half - timedelta(seconds=1), NEW_YORK) == []
    (alert,) = overdue(pending, half, NEW_YORK)
    assert (alert.condition, alert.subject, alert.facts["oldest"]) == (
        Condition.OPTOUT_OVERDUE,
        "intake",
        "r1",
    )
