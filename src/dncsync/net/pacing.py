"""Pacing requests so that a platform's rate limit is met rarely, not routinely.

Two mechanisms, both fed by every answer:

- a leaky bucket (aiolimiter) spreads requests at the current rate. The rate starts at the
  configured requests per minute, follows Genesys' `inin-ratelimit-allowed` over the window
  length `inin-ratelimit-reset` reveals, and, on a platform that sends no such headers (CXone),
  halves on a 429, climbs back quickly to just under the rate that met it, then probes
  above it only slowly, so that 429s stay rare once the limit is found;
- a gate that stops new requests while the current window's budget is spent
  (`inin-ratelimit-allowed` - `inin-ratelimit-count`, less the requests still in flight) or while
  a 429's `Retry-After` runs, so one 429 pauses every request, not just the one that met it.

The decisions (`observe`, `wait_needed`) take the time as an argument, so they are tested by
calling them; only `acquire` reads the event loop's clock and waits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from dncsync import logs

_log = logs.logger()

BURST_SECONDS = 0.0  # the bucket holds one request: no burst into a fresh window
WINDOW_MARGIN_SECONDS = 0.1  # resume a little after the platform's window resets
# `inin-ratelimit-reset` comes in whole seconds: the ends read from one window's answers
# spread over a second, and must not be taken for a new window.
_RESET_ROUNDING_SECONDS = 1.0 + 2 * WINDOW_MARGIN_SECONDS
_REBUILD_RATIO = 0.05  # rebuild the bucket only when the rate moves by more than 5%
_NO_HEADER_PAUSE_SECONDS = 1.0  # first pause after a 429 that says nothing about when to retry
_MAX_NO_HEADER_PAUSE_SECONDS = 30.0
# Without headers: after a 429, recover by 5% a success up to 85% of the rate that met it,
# then probe above that by 0.1% of it a success (some 150 successes to reach it again).
_RECOVERY_FACTOR = 1.05
_SAFE_FRACTION = 0.85
_PROBE_FRACTION = 0.001
# A 429 without headers is read against the successes of the last second: what the platform
# did let through is a better estimate of its limit than the pace that overran it.
_THROUGHPUT_SECONDS = 1.0
# The pace counts as used in full when the successes since the first one in that second reach
# this share of what the pace allowed over the same time.
_FULL_USE = 0.8


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """Genesys' `inin-ratelimit-*` headers: the window's budget and how much of it is spent."""

    allowed: int
    count: int
    reset_seconds: float

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateHeaders | None:
        """Read the three headers, or None when any is missing or not a number."""
        try:
            allowed = int(headers["inin-ratelimit-allowed"])
            count = int(headers["inin-ratelimit-count"])
            reset = float(headers["inin-ratelimit-reset"])
        except (KeyError, ValueError):
            return None
        # A counted request is at least 1; a 0 marks an answer outside the count (a refused
        # token), which says nothing about the current window.
        if allowed <= 0 or count <= 0 or reset < 0:
            return None
        return cls(allowed, count, reset)


class Pacer:
    """Paces one target's requests; shared by all its concurrent requests."""

    def __init__(self, requests_per_minute: float, *, target: str = "") -> None:
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        self.target = target
        self._ceiling = requests_per_minute / 60.0  # per second; never exceeded
        self._floor = min(self._ceiling, 0.1)
        self._rate = self._ceiling
        self._bucket_rate = self._rate
        self._limiter = _bucket(self._rate)
        self._paused_until = 0.0
        self._window_end: float | None = None
        self._window_length = 0.0
        self._remaining: int | None = None
        self._in_flight = 0
        self._headers_seen = False
        self._consecutive_pauses = 0  # 429 pauses with no success between them
        self._safe_rate: float | None = None  # just under the rate that last met a 429
        self._successes: deque[float] = deque()  # answer times within the last second

    @property
    def rate_per_minute(self) -> float:
        """The current pace, in requests per minute."""
        return self._rate * 60.0

    @property
    def in_flight(self) -> int:
        """Requests acquired and not yet answered."""
        return self._in_flight

    async def acquire(self) -> float:
        """Wait for a slot; return the seconds waited. Pair with `release`."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            # Wait out a pause before taking a bucket slot: requests that took their slots
            # first would all leave together when the pause ends, a burst into the new window.
            while (wait := self.wait_needed(loop.time())) > 0:
                await asyncio.sleep(wait)
            await self._limiter.acquire()
            if self.wait_needed(loop.time()) <= 0:
                break
        self._in_flight += 1
        return loop.time() - start

    def release(
        self, status: int | None, headers: Mapping[str, str] | None, retry_after: float | None
    ) -> None:
        """Record the answer to an acquired request (status None: no answer came)."""
        self._in_flight = max(0, self._in_flight - 1)
        now = asyncio.get_running_loop().time()
        self.observe(status, headers or {}, retry_after, now)

    def wait_needed(self, now: float) -> float:
        """Seconds a new request must still wait at `now` (0 when it may go)."""
        wait = self._paused_until - now
        if self._window_end is not None and self._remaining is not None:
            if now >= self._window_end + WINDOW_MARGIN_SECONDS:
                self._remaining = None  # a new window: its budget is unknown until answered
            elif self._remaining - self._in_flight <= 0:
                wait = max(wait, self._window_end + WINDOW_MARGIN_SECONDS - now)
        return max(0.0, wait)

    def observe(
        self,
        status: int | None,
        headers: Mapping[str, str],
        retry_after: float | None,
        now: float,
    ) -> None:
        """Learn from one answer: the window's budget, a 429's pause, the pace."""
        limits = RateHeaders.parse(headers)
        if limits is not None:
            self._learn_window(limits, now)
        if status == 429:
            self._on_rate_limited(retry_after, now)
        elif status is not None and 200 <= status < 300:
            self._consecutive_pauses = 0
            if not self._headers_seen:
                self._successes.append(now)
                self._forget_successes_before(now - _THROUGHPUT_SECONDS)
                self._set_rate(self._increased_rate())

    def _learn_window(self, limits: RateHeaders, now: float) -> None:
        self._headers_seen = True
        window_end = now + limits.reset_seconds
        remaining = limits.allowed - limits.count
        if (
            self._window_end is None
            or self._remaining is None
            or window_end > self._window_end + _RESET_ROUNDING_SECONDS
        ):
            self._window_end = window_end  # the first answer of a new window
            self._remaining = remaining
        elif window_end >= self._window_end - _RESET_ROUNDING_SECONDS:
            # The same window; answers can arrive out of order, so keep the lowest budget and
            # the earliest end (the reset is rounded up to whole seconds).
            self._remaining = min(self._remaining, remaining)
            self._window_end = min(self._window_end, window_end)
        # else: a late answer from a window already over; it says nothing about this one.
        if limits.reset_seconds > self._window_length:
            self._window_length = limits.reset_seconds
        if self._window_length > 0:
            self._set_rate(limits.allowed / self._window_length)

    def _on_rate_limited(self, retry_after: float | None, now: float) -> None:
        fresh_pause = now >= self._paused_until
        if fresh_pause:
            self._consecutive_pauses += 1
        asked = retry_after
        if asked is None:
            # A 429 while the window's headers still show budget left is not that window's
            # limit (a platform that sheds load, a burst limit): waiting for the window's reset
            # could take a minute for nothing, so it gets the short pause instead.
            spent = self._remaining is None or self._remaining <= 0
            if self._window_end is not None and self._window_end > now and spent:
                asked = self._window_end - now + WINDOW_MARGIN_SECONDS
            else:
                asked = min(
                    _MAX_NO_HEADER_PAUSE_SECONDS,
                    _NO_HEADER_PAUSE_SECONDS * 2.0 ** (self._consecutive_pauses - 1),
                )
        self._paused_until = max(self._paused_until, now + asked)
        if fresh_pause and not self._headers_seen:
            # One decrease per pause, however many requests in flight met the same limit.
            self._forget_successes_before(now - _THROUGHPUT_SECONDS)
            # What got through is the limit when the pace was being used in full since the
            # window began; otherwise it lowers the estimate at most to half the pace, so a
            # transient 429 storm while little was being sent does not crush the pace.
            achieved = len(self._successes) / _THROUGHPUT_SECONDS
            limit = max(min(self._rate, achieved), self._rate / 2.0)
            if self._successes:
                busy = max(now - self._successes[0], 1.0 / self._rate)
                if len(self._successes) >= _FULL_USE * self._rate * busy:
                    limit = min(self._rate, achieved)
            self._safe_rate = limit * _SAFE_FRACTION
            self._set_rate(min(self._rate / 2.0, self._safe_rate))
        _log.info(
            "net.rate_limited",
            target=self.target,
            pause_seconds=round(asked, 3),
            rate_per_minute=round(self.rate_per_minute, 1),
        )

    def _forget_successes_before(self, moment: float) -> None:
        while self._successes and self._successes[0] < moment:
            self._successes.popleft()

    def _increased_rate(self) -> float:
        if self._safe_rate is None:
            return self._ceiling
        if self._rate < self._safe_rate:
            return min(self._safe_rate, self._rate * _RECOVERY_FACTOR)
        return self._rate + self._safe_rate * _PROBE_FRACTION

    def _set_rate(self, rate: float) -> None:
        self._rate = min(self._ceiling, max(self._floor, rate))
        if abs(self._rate - self._bucket_rate) > self._bucket_rate * _REBUILD_RATIO:
            # Waiters on the old bucket finish at the old pace; aiolimiter has no public way
            # to change a bucket's rate in place.
            self._limiter = _bucket(self._rate)
            self._bucket_rate = self._rate


def _bucket(rate_per_second: float) -> AsyncLimiter:
    capacity = max(1.0, rate_per_second * BURST_SECONDS)
    return AsyncLimiter(capacity, capacity / rate_per_second)
