"""What the hostile tests share: a bounded `dncsync sync`, its one error line, the snapshot."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from dncsync.state import StateStore
from e2e.support import Finished, Sync, command, list_key

# Short enough to wait out, long enough for a loaded machine's honest answers.
BUDGET, TIMEOUT = 3.0, 1.5
SLACK = 20.0  # the test fails if a run takes longer than budget + timeout + this, per target


@dataclass(frozen=True, slots=True)
class Timed:
    """A finished run and how long it took."""

    finished: Finished
    seconds: float

    @property
    def code(self) -> int:
        """The exit code."""
        return self.finished.code


def sync(config: Path, *args: str, limit: float, output: str = "json") -> Timed:
    """Run `dncsync sync`; killed (and the test failed) past `limit` seconds."""
    started = time.monotonic()
    finished = Sync(command(config, *args, output=output), config.parent / "output").wait(limit)
    return Timed(finished, time.monotonic() - started)


def error_line(stderr: str) -> str:
    """The run's one error line: the last on stderr, no traceback anywhere."""
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("dncsync: error: "), line
    return line


def snapshot(config: Path, target: str) -> set[str]:
    """The numbers the state says the target's list holds."""
    with StateStore(config.parent / "state" / "dncsync.db") as store:
        return set(store.snapshot(list_key(config, target)))


__all__ = ["BUDGET", "SLACK", "TIMEOUT", "Timed", "error_line", "snapshot", "sync"]
