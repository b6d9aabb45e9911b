"""A large run's evidence stays small: counts and masked samples, never every number."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dncsync.plan import Plan, Sampled, Write, settled
from dncsync.report import dumps
from dncsync.report.builder import FAILED_NUMBERS_LISTED, RunReportBuilder

PHONES = [f"+1415555{n:04d}" for n in range(FAILED_NUMBERS_LISTED + 500)]


def test_refused_numbers_past_the_list_are_counted_not_listed() -> None:
    builder = RunReportBuilder(
        "run-1", started_at=datetime(2026, 1, 5, tzinfo=UTC), config_digest="d"
    )
    target = builder.target("t", platform="genesys", list_id="L")
    started = datetime(2026, 1, 5, tzinfo=UTC)
    for start in range(0, len(PHONES), 500):
        chunk = PHONES[start : start + 500]
        target.record_batch(
            action="add",
            count=len(chunk),
            acknowledged=0,
            attempts=1,
            started_at=started,
            duration_seconds=0.1,
            failures=[(p, "full", "the list is full") for p in chunk],
        )
    push = builder.build().targets[0].push
    listed = [f for f in push.failures if f.phone is not None]
    counted = [f for f in push.failures if f.phone is None]
    assert len(listed) == FAILED_NUMBERS_LISTED
    assert [(f.error_code, f.count) for f in counted] == [("full", 500)]
    assert sum(f.count for f in push.failures) == push.numbers_failed == len(PHONES)
    assert push.failure_codes == {"full": len(PHONES)}
    text = dumps(builder.build())
    assert not any(p in text for p in PHONES)  # masked, every one


def test_a_settled_plan_keeps_counts_and_samples() -> None:
    writes = [Write(p, date(2026, 3, 1), None) for p in PHONES]
    plan = settled(Plan(adds=writes, removes=PHONES[:3]), 5)
    assert len(plan.adds) == len(PHONES)
    assert plan.writes == len(PHONES) + 3
    assert [w.phone for w in plan.adds[:5]] == PHONES[:5]
    assert list(plan.removes) == PHONES[:3]  # shorter than the sample: whole
    with pytest.raises(LookupError):
        list(plan.adds)  # never a silently short list
    with pytest.raises(LookupError):
        plan.adds[10]
    assert isinstance(plan.adds, Sampled)
