"""What to do with a platform's answer: succeed, retry, fail the batch, or stop the target.

    Outcome
    ├── SUCCESS     2xx
    ├── RETRIABLE   429, 500, 502, 503, 504, timeouts and dropped connections:
    │               tried again within the retry budget (429 waits `Retry-After`)
    ├── SKIPPABLE   any other 4xx or 5xx: this request failed with the platform's code;
    │               the batch is reported failed and the run carries on with the others
    └── FATAL       401 (after one fresh token), 403, 404: credentials, permissions or a
                    list id that will fail every request the same way; the target stops

The outcome is read from the error class `errors.error_for_status` gives (its `retriable` and
`fatal` properties): one table from status to error, one place. The decision is pure
(`classify`), and so is the backoff (`full_jitter_backoff`,
`parse_retry_after`); the only sleeping happens inside stamina's retry loop in `net.api`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from dncsync.errors import error_for_status


class Outcome(StrEnum):
    """How one HTTP answer is handled."""

    SUCCESS = "success"
    RETRIABLE = "retriable"
    SKIPPABLE = "skippable"
    FATAL = "fatal"


def classify(status: int, code: str | None = None) -> Outcome:
    """Map an HTTP status (and the platform's error code) onto an outcome."""
    error = error_for_status(status, code)
    if error is None:
        return Outcome.SUCCESS
    if error.retriable:
        return Outcome.RETRIABLE
    if error.fatal:
        return Outcome.FATAL
    return Outcome.SKIPPABLE


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how patiently a request is retried."""

    budget_seconds: float = 300.0  # total time one request may spend retrying
    initial_seconds: float = 0.5  # first backoff ceiling
    max_seconds: float = 30.0  # largest backoff ceiling
    max_retry_after_seconds: float = 180.0  # a longer Retry-After is capped (as Genesys' SDK does)
    max_attempts: int | None = None  # None: only the budget bounds the attempts
    # The most one attempt may take, from connecting to the answer's last byte (a token
    # request it needs included); None: only httpx's per-read timeouts.
    request_timeout_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.budget_seconds <= 0:
            raise ValueError("retry budget must be positive")
        if self.request_timeout_seconds is not None and self.request_timeout_seconds <= 0:
            raise ValueError("request timeout must be positive")
        if self.initial_seconds < 0 or self.max_seconds < 0:
            raise ValueError("backoff must not be negative")


def full_jitter_backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): uniform in [0, capped exp]."""
    exponent = min(attempt - 1, 60)  # 2**60 seconds is already past any cap
    ceiling = min(policy.max_seconds, policy.initial_seconds * 2.0**exponent)
    return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP-date is GMT by definition
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    if seconds != seconds or seconds < 0:  # NaN or negative: ignore the header
        return None
    return seconds


def retry_delay(
    attempt: int,
    status: int | None,
    retry_after: str | None,
    policy: RetryPolicy,
    rng: random.Random,
    now: datetime,
) -> float:
    """The wait before the next attempt: `Retry-After` for a 429 when given, else full jitter."""
    if status == 429:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            return min(asked, policy.max_retry_after_seconds)
    return full_jitter_backoff(attempt, policy, rng)
