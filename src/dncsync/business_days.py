"""Business days as DOMAIN.md defines them: Monday to Friday, US federal holidays excluded.

FCC 47 CFR 64.1200(d)(3) requires company-specific do-not-call requests to be honoured within
10 business days. The holiday calendar comes from the `holidays` package (5 U.S.C. 6103 with
the observed rules: Saturday -> Friday before, Sunday -> Monday after; Juneteenth from 2021;
New Year's Day on a Saturday observed on the last Friday of the year before), rather than a
hand-kept table that would need an edit whenever Congress adds a holiday.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

HONOUR_WITHIN_BUSINESS_DAYS = 10  # FCC 47 CFR 64.1200(d)(3), in force since April 2025
_SATURDAY = 5


@lru_cache(maxsize=64)
def federal_holidays(year: int) -> frozenset[date]:
    """The days US federal offices are closed for a holiday in `year` (observed dates too)."""
    calendar = holidays.country_holidays("US", years=year, observed=True, language="en_US")
    return frozenset(day for day in calendar if day.year == year)


def is_business_day(day: date) -> bool:
    """Monday to Friday, and not a federal holiday (observed)."""
    return day.weekday() < _SATURDAY and day not in federal_holidays(day.year)


def add_business_days(start: date, days: int) -> date:
    """The day `days` business days after `start` (before it when negative)."""
    step = timedelta(days=1 if days >= 0 else -1)
    remaining = abs(days)
    current = start
    while remaining:
        current += step
        if is_business_day(current):
            remaining -= 1
    return current


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (negative if `end` is earlier)."""
    if end < start:
        return -business_days_between(end, start)
    # Arithmetic rather than a day-by-day walk: a report ages every pushed entry, and
    # retention spans years.
    return _weekdays_after(start, end) - _holidays_after(start, end)


def _weekdays_after(start: date, end: date) -> int:
    """Monday-to-Friday days in (start, end]."""
    span = (end - start).days
    weeks, rest = divmod(span, 7)
    count = weeks * 5
    weekday = start.weekday()
    for offset in range(1, rest + 1):
        if (weekday + offset) % 7 < _SATURDAY:
            count += 1
    return count


def _holidays_after(start: date, end: date) -> int:
    """Weekday federal holidays in (start, end] (observed dates always fall on weekdays)."""
    return sum(
        1
        for year in range(start.year, end.year + 1)
        for day in federal_holidays(year)
        if start < day <= end and day.weekday() < _SATURDAY
    )


def honour_deadline(collected: date, within: int = HONOUR_WITHIN_BUSINESS_DAYS) -> date:
    """The last day a request collected on `collected` may be honoured on time."""
    return add_business_days(collected, within)


def is_late(collected: date, pushed: date, within: int = HONOUR_WITHIN_BUSINESS_DAYS) -> bool:
    """True when `pushed` falls after the deadline for a request collected on `collected`."""
    return pushed > honour_deadline(collected, within)


__all__ = [
    "HONOUR_WITHIN_BUSINESS_DAYS",
    "add_business_days",
    "business_days_between",
    "federal_holidays",
    "honour_deadline",
    "is_business_day",
    "is_late",
]
