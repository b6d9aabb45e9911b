"""Saying that a run is waiting, and on what: a heartbeat line, or the progress bar.

While calls are retried or paused (timeouts, refused connections, 5xx, 429s) or an export is
not ready, the network layer notes it on `net.waiting.WAITS`. A command that runs targets
watches that board from a thread of its own:

- with no progress bar (stderr not a terminal, or a command without bars), one line per
  waiting target every `DNCSYNC_HEARTBEAT_SECONDS` (default 30), e.g.
  `dncsync: waiting: main: no answer (ConnectTimeout) from api.example.com, 4 attempts,
  waiting 62 s, next attempt in 8 s, gives up in 238 s`;
- with progress bars, the waiting target's bar says so, refreshed a few times a second.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from dncsync.errors import InputError
from dncsync.net.waiting import WAITS, now
from dncsync.privacy import printable

HEARTBEAT_ENV = "DNCSYNC_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_SECONDS = 30.0
_BAR_REFRESH_SECONDS = 0.25


def heartbeat_seconds() -> float:
    """The heartbeat's interval: `DNCSYNC_HEARTBEAT_SECONDS`, else 30 s."""
    text = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not text:
        return DEFAULT_HEARTBEAT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:  # also refuses NaN
        raise InputError(f"{HEARTBEAT_ENV} must be a positive number of seconds, not {text!r}")
    return seconds


def heartbeat_lines(at: float) -> list[str]:
    """The heartbeat's lines at monotonic time `at`: one per waiting target."""
    return [
        printable(f"dncsync: waiting: {wait.describe(at)}")
        for wait in sorted(WAITS.by_target(at).values(), key=lambda w: w.target)
    ]


@contextlib.contextmanager
def heartbeat(stream: TextIO | None = None, interval: float | None = None) -> Iterator[None]:
    """Print the heartbeat's lines on `stream` (stderr) every `interval` while the block runs."""
    out = stream if stream is not None else sys.stderr
    every = heartbeat_seconds() if interval is None else interval

    def beat() -> None:
        for line in heartbeat_lines(now()):
            print(line, file=out, flush=True)

    with _ticking(every, beat):
        yield


@contextlib.contextmanager
def waiting_bars(bars: Any, tasks: dict[str, Any], lock: threading.Lock) -> Iterator[None]:
    """Keep rich progress bars saying which targets wait and why: a target waiting before
    its first batch gets a bar of its own (`tasks`: target -> task id, shared with the
    caller's updates under `lock`)."""
    waiting: set[str] = set()

    def refresh() -> None:
        at = now()
        current = WAITS.by_target(at)
        with lock:
            for target, wait in current.items():
                if target not in tasks:
                    tasks[target] = bars.add_task(target, total=None)
                reason = wait.describe(at).removeprefix(f"{target}: ")
                bars.update(tasks[target], description=printable(f"{target}  waiting: {reason}"))
            for target in waiting - current.keys():
                if target in tasks:
                    bars.update(tasks[target], description=printable(target))
        waiting.clear()
        waiting.update(current)

    with _ticking(_BAR_REFRESH_SECONDS, refresh):
        yield


@contextlib.contextmanager
def _ticking(every: float, tick: Any) -> Iterator[None]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            tick()

    thread = threading.Thread(target=loop, name="dncsync-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


__all__ = [
    "DEFAULT_HEARTBEAT_SECONDS",
    "HEARTBEAT_ENV",
    "heartbeat",
    "heartbeat_lines",
    "heartbeat_seconds",
    "waiting_bars",
]
