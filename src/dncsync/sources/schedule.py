"""When `dncsync serve` reads a source again: an interval ("15m") or a cron line.

Pure: `next_fire` takes the moment to count from, so the rule is tested by calling it. A cron
line has five fields (minute hour day month weekday, croniter's reading) and is read in UTC,
so a schedule does not shift when a machine's time zone or daylight saving time changes.

Fire times are the same on every machine: an interval fires at the multiples of itself counted
from the Unix epoch (a "15m" at :00, :15, :30 and :45), not from when a process started, so
replicas of serve sharing one state name the same fires and take each once
(`IntakeStore.claim_fire`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class Schedule:
    """A source's schedule: every `interval` seconds, or at each time a cron line names."""

    text: str
    interval: float | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """An interval such as "15m", "1h", "30s", or a five-field cron line; ValueError."""
        value = text.strip()
        seconds = _interval(value)
        if seconds is not None:
            return cls(text, interval=seconds)
        from croniter import croniter  # only a cron schedule pays for the import

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(
                f"{text!r} is not a schedule: use an interval (30s, 15m, 1h, 1d) or a cron "
                "line of five fields (e.g. '*/15 * * * *', read in UTC)"
            )
        return cls(text, cron=value)

    @classmethod
    def every(cls, seconds: float) -> Schedule:
        """An interval of `seconds` (a target's `collect_every`)."""
        return cls(f"{seconds:g}s", interval=seconds)

    def last_fire(self, at: datetime) -> datetime:
        """The latest fire time at or before `at` (UTC): the fire a process starting at `at`
        works, unless another took it."""
        moment = at.astimezone(UTC)
        if self.interval is not None:
            return _EPOCH + timedelta(seconds=self.interval * ((moment - _EPOCH) // self._step))
        from croniter import croniter

        assert self.cron is not None
        # croniter's previous time is strictly before its start: start just after `at`.
        found = croniter(self.cron, moment + timedelta(seconds=1)).get_prev(datetime)
        assert isinstance(found, datetime)
        return found.astimezone(UTC)

    @property
    def _step(self) -> timedelta:
        assert self.interval is not None
        return timedelta(seconds=self.interval)

    def next_fire(self, after: datetime) -> datetime:
        """The first fire time strictly after `after` (UTC)."""
        moment = after.astimezone(UTC)
        if self.interval is not None:
            return self.last_fire(moment) + self._step
        from croniter import croniter

        assert self.cron is not None
        found = croniter(self.cron, moment).get_next(datetime)
        assert isinstance(found, datetime)
        return found.astimezone(UTC)


def _interval(value: str) -> float | None:
    """Seconds in "30s", "15m", "1h", "1d", "1w"; None when the text is not one."""
    number, unit = value[:-1], value[-1:].lower()
    if unit in _UNITS and number.isdigit() and int(number) > 0:
        return float(int(number) * _UNITS[unit])
    return None


__all__ = ["Schedule"]
