"""Fixed-window request counting per caller, read against an injected clock.

Genesys reports its limit as a count within a window that resets (`inin-ratelimit-count`,
`-allowed`, `-reset`), which is a fixed window; a token bucket would not produce those headers.
Not thread-safe by itself: the emulator's state lock guards it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dncsync.emulator.settings import RateLimit


@dataclass(frozen=True, slots=True)
class RateVerdict:
    """One request's standing in its caller's window."""

    allowed: bool
    count: int  # requests counted in this window, this one included
    limit: int
    reset_seconds: float  # until the window rolls over

    @property
    def reset_whole_seconds(self) -> int:
        """Seconds until reset, rounded up, at least 1 while the window is open."""
        return max(1, math.ceil(self.reset_seconds))


class FixedWindowCounter:
    """Counts requests per key in windows aligned to the key's first request."""

    def __init__(self, limit: RateLimit) -> None:
        self._limit = limit
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, count)

    def hit(self, key: str, now: float) -> RateVerdict:
        """Count one request for `key` at `now`; the verdict says whether it may pass."""
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self._limit.window_seconds:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        return RateVerdict(
            allowed=count <= self._limit.allowed,
            count=count,
            limit=self._limit.allowed,
            reset_seconds=max(0.0, start + self._limit.window_seconds - now),
        )

    def reset(self) -> None:
        """Forget every window."""
        self._windows.clear()
