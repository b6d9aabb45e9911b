"""Status -> outcome, and the pure backoff arithmetic (in the spirit of singer-sdk's table)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from dncsync.net.retry import (
    Outcome,
    RetryPolicy,
    classify,
    full_jitter_backoff,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, None, Outcome.SUCCESS),
        (204, None, Outcome.SUCCESS),
        (429, "too.many.requests.retry.after", Outcome.RETRIABLE),
        (500, None, Outcome.RETRIABLE),
        (502, None, Outcome.RETRIABLE),
        (503, None, Outcome.RETRIABLE),
        (504, None, Outcome.RETRIABLE),
        (401, "bad.credentials", Outcome.FATAL),
        (403, "missing.permissions", Outcome.FATAL),
        (404, "not.found", Outcome.FATAL),
        (400, "dnc.source.operation.not.supported", Outcome.FATAL),
        (400, "invalid.date", Outcome.SKIPPABLE),
        (400, "bad.request", Outcome.SKIPPABLE),
        (400, "dnc.phone.numbers.per.list.limit.exceeded", Outcome.SKIPPABLE),
        (409, None, Outcome.SKIPPABLE),
        (413, "request.entity.too.large", Outcome.SKIPPABLE),
        (408, None, Outcome.SKIPPABLE),
        (422, None, Outcome.SKIPPABLE),
        (501, None, Outcome.SKIPPABLE),
        (505, None, Outcome.SKIPPABLE),
    ],
)
def test_status_maps_to_outcome(status: int, code: str | None, expected: Outcome) -> None:
    assert classify(status, code) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        (" 12 ", 12.0),
        (format_datetime(NOW + timedelta(seconds=7), usegmt=True), 7.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),  # already past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, expected: float) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_full_jitter_stays_under_the_capped_exponential() -> None:
    policy = RetryPolicy(initial_seconds=0.5, max_seconds=8.0)
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        waits = [full_jitter_backoff(attempt, policy, rng) for _ in range(200)]
        assert all(0.0 <= wait <= ceiling for wait in waits)
        # Full jitter spreads over the whole range, not just its top.
        assert min(waits) < ceiling * 0.1 < ceiling * 0.9 < max(waits)


def test_backoff_is_reproducible_from_a_seed() -> None:
    policy = RetryPolicy()
    first = [full_jitter_backoff(n, policy, random.Random(3)) for n in range(1, 6)]
    again = [full_jitter_backoff(n, policy, random.Random(3)) for n in range(1, 6)]
    assert first == again


def test_a_429_waits_what_retry_after_asks_capped() -> None:
    policy = RetryPolicy(max_retry_after_seconds=180.0)
    rng = random.Random(0)
    assert retry_delay(1, 429, "2", policy, rng, NOW) == 2.0
    assert retry_delay(1, 429, "3600", policy, rng, NOW) == 180.0
    # Without a usable header, a 429 backs off like any retriable failure.
    assert 0.0 <= retry_delay(1, 429, None, policy, rng, NOW) <= policy.initial_seconds
    # Retry-After on a 503 is not a rate limit: full jitter applies.
    assert retry_delay(1, 503, "60", policy, rng, NOW) <= policy.initial_seconds


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="budget"):
        RetryPolicy(budget_seconds=0)
