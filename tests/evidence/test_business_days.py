"""Business days: Monday to Friday without US federal holidays (observed dates), by table."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.business_days import (
    add_business_days,
    business_days_between,
    federal_holidays,
    honour_deadline,
    is_business_day,
    is_late,
)

# OPM's published federal holiday dates (the observed day federal offices close).
OPM = {
    2021: [
        "2021-01-01", "2021-01-18", "2021-02-15", "2021-05-31", "2021-06-18", "2021-07-05",
        "2021-09-06", "2021-10-11", "2021-11-11", "2021-11-25", "2021-12-24", "2021-12-31",
    ],
    2024: [
        "2024-01-01", "2024-01-15", "2024-02-19", "2024-05-27", "2024-06-19", "2024-07-04",
        "2024-09-02", "2024-10-14", "2024-11-11", "2024-11-28", "2024-12-25",
    ],
    2026: [
        "2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-07-03",
        "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25",
    ],
    2027: [
        "2027-01-01", "2027-01-18", "2027-02-15", "2027-05-31", "2027-06-18", "2027-07-05",
        "2027-09-06", "2027-10-11", "2027-11-11", "2027-11-25", "2027-12-24", "2027-12-31",
    ],
}  # fmt: skip


@pytest.mark.parametrize("year", sorted(OPM))
def test_weekday_holidays_match_opm(year: int) -> None:
    weekday_holidays = sorted(d.isoformat() for d in federal_holidays(year) if d.weekday() < 5)
    assert weekday_holidays == OPM[year]


def test_juneteenth_is_a_holiday_only_from_2021() -> None:
    assert date(2020, 6, 19) not in federal_holidays(2020)
    assert is_business_day(date(2020, 6, 19))  # a Friday
    assert not is_business_day(date(2021, 6, 18))  # observed: the 19th was a Saturday


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-11-16", 0, "2026-11-16"),  # Monday, no days
        ("2026-11-16", 1, "2026-11-17"),
        ("2026-11-20", 1, "2026-11-23"),  # Friday -> Monday
        ("2026-11-21", 1, "2026-11-23"),  # Saturday -> Monday
        ("2026-11-16", 10, "2026-12-01"),  # over Thanksgiving (Thu 26th)
        ("2026-12-22", 3, "2026-12-28"),  # over Christmas (Fri 25th)
        ("2026-06-30", 3, "2026-07-06"),  # over Independence Day observed (Fri 3rd)
        ("2027-12-23", 1, "2027-12-27"),  # Christmas observed on Friday the 24th
        ("2027-12-30", 1, "2028-01-03"),  # New Year's Day observed on Friday Dec 31
        ("2026-11-23", -1, "2026-11-20"),  # backwards over a weekend
        ("2026-11-30", -3, "2026-11-24"),  # backwards over Thanksgiving
    ],
)
def test_add_business_days(start: str, days: int, expected: str) -> None:
    assert add_business_days(date.fromisoformat(start), days) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-11-16", "2026-11-16", 0),
        ("2026-11-16", "2026-11-20", 4),
        ("2026-11-20", "2026-11-23", 1),
        ("2026-11-21", "2026-11-22", 0),  # a weekend
        ("2026-11-16", "2026-12-01", 10),  # Thanksgiving excluded
        ("2026-01-01", "2026-12-31", 250),  # 261 weekdays in 2026, 11 of them holidays
        ("2026-12-01", "2026-11-16", -10),
        ("2021-11-01", "2026-11-01", 1249),  # five years of retention
    ],
)
def test_business_days_between(start: str, end: str, expected: int) -> None:
    assert business_days_between(date.fromisoformat(start), date.fromisoformat(end)) == expected


@pytest.mark.parametrize(
    ("collected", "pushed", "late"),
    [
        ("2026-11-16", "2026-12-01", False),  # the 10th business day: on time
        ("2026-11-16", "2026-12-02", True),  # the 11th: late
        ("2026-11-13", "2026-11-28", False),  # Saturday before the deadline Monday 30th
        ("2026-11-13", "2026-11-30", False),  # the deadline itself
        ("2026-11-13", "2026-12-01", True),
        ("2026-11-20", "2026-11-20", False),  # same day
        ("2026-12-24", "2027-01-11", False),  # Christmas and New Year's Day excluded
        ("2026-12-24", "2027-01-12", True),
    ],
)
def test_is_late_after_ten_business_days(collected: str, pushed: str, late: bool) -> None:
    assert is_late(date.fromisoformat(collected), date.fromisoformat(pushed)) is late


def test_the_deadline_is_ten_business_days_after_collection() -> None:
    assert honour_deadline(date(2026, 11, 16)) == date(2026, 12, 1)


days_2020s = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=200, derandomize=True)
@given(start=days_2020s, days=st.integers(0, 400))
def test_adding_then_counting_gives_back_the_days(start: date, days: int) -> None:
    assert business_days_between(start, add_business_days(start, days)) == days


@settings(max_examples=100, derandomize=True)
@given(start=days_2020s, span=st.integers(0, 60))
def test_counting_agrees_with_walking_day_by_day(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    walked = sum(is_business_day(start + timedelta(days=i)) for i in range(1, span + 1))
    assert business_days_between(start, end) == walked
