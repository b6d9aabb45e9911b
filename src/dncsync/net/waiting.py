"""What a run is waiting on right now: calls being retried, 429 pauses, exports not ready.

The network layer notes each wait here as it happens (`WAITS.note`) and clears it when the
call ends; a command's heartbeat (`cli.waiting`) reads the board (`WAITS.current`) from its
own thread, so an operator watching a log or a terminal learns that the run is waiting, on
which target and host, and why, instead of seeing nothing for minutes.

One board per process: the calls of every target note on it, whatever client or transport
they were given. It only holds what to show; nothing decides anything from it.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass

# A first attempt still unanswered after this long is worth a heartbeat line too.
SLOW_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Wait:
    """One call (or one export) waiting, as the board shows it."""

    target: str
    host: str
    reason: str  # e.g. "no answer (ConnectError)", "HTTP 429 (rate limited)"
    since: float  # monotonic: when the call first had to wait
    attempts: int = 0  # attempts made so far
    retry_at: float | None = None  # monotonic: when the next attempt goes
    gives_up_at: float | None = None  # monotonic: when the retry budget ends
    retrying: bool = True  # False: a first attempt still on its way (shown once it is slow)

    def shown(self, now: float) -> bool:
        """Worth saying: a call being retried, or a first attempt slower than `SLOW_SECONDS`."""
        return self.retrying or now - self.since >= SLOW_SECONDS

    def describe(self, now: float) -> str:
        """One line: `target: reason from host, N attempts, waiting Ns; ...`."""
        parts = [f"{self.target}: {self.reason} from {self.host}"]
        if self.attempts:
            parts.append(f"{self.attempts} attempt{'s' if self.attempts > 1 else ''}")
        parts.append(f"waiting {max(0.0, now - self.since):.0f} s")
        if self.retry_at is not None and self.retry_at > now:
            parts.append(f"next attempt in {self.retry_at - now:.0f} s")
        if self.gives_up_at is not None:
            parts.append(f"gives up in {max(0.0, self.gives_up_at - now):.0f} s")
        return ", ".join(parts)


class Waits:
    """The waits in progress, by key (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waits: dict[int, Wait] = {}
        self._keys = itertools.count(1)

    def key(self) -> int:
        """A fresh key for one call's waits."""
        return next(self._keys)

    def note(self, key: int, wait: Wait) -> None:
        """Record (or update) what the call under `key` waits for."""
        with self._lock:
            self._waits[key] = wait

    def clear(self, key: int) -> None:
        """The call under `key` no longer waits."""
        with self._lock:
            self._waits.pop(key, None)

    def current(self) -> list[Wait]:
        """The waits in progress, the latest noted last."""
        with self._lock:
            return list(self._waits.values())

    def by_target(self, now: float) -> dict[str, Wait]:
        """One wait worth saying per target at `now`: its longest-running one."""
        chosen: dict[str, Wait] = {}
        for wait in self.current():
            if not wait.shown(now):
                continue
            known = chosen.get(wait.target)
            if known is None or wait.since < known.since:
                chosen[wait.target] = wait
        return chosen


WAITS = Waits()


def now() -> float:
    """The clock waits are measured on (monotonic)."""
    return time.monotonic()


__all__ = ["SLOW_SECONDS", "WAITS", "Wait", "Waits", "now"]
