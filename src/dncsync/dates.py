"""Dates as DNC exports write them: ISO 8601 and US `MM/DD/YYYY`, nothing guessed."""

from __future__ import annotations

import re
from datetime import date, datetime

_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_date(text: str) -> date | None:
    """A date from ISO 8601 (with or without a time) or `MM/DD/YYYY`; None when it is neither."""
    text = text.strip()
    if not text:
        return None
    us = _US_DATE.fullmatch(text)
    try:
        if us:
            return date(int(us[3]), int(us[1]), int(us[2]))
        iso = _ISO_DATE.fullmatch(text)
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if len(text) >= 10 and text[4] == "-":
            return datetime.fromisoformat(text.replace("z", "Z")).date()
    except ValueError:
        return None
    return None


def add_years(start: date, years: int) -> date:
    """`years` after `start`; 29 February lands on 1 March (the later, more protective day)."""
    year = start.year + years
    if year > date.max.year:
        return date.max
    try:
        return start.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def add_months(start: date, months: int) -> date:
    """`months` after `start`; a day the month lacks moves to the 1st of the next month."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    if year > date.max.year:
        return date.max
    try:
        return start.replace(year=year, month=month)
    except ValueError:
        return date(year + month // 12, month % 12 + 1, 1)
