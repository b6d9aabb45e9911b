"""Reading CXone's answer to a batch write: which numbers it vouches for, one result each.

Pure: no I/O, no clock; the target hands in the decoded body and the numbers it sent.

CXone answers a records write with 200 and a result per record. A number counts as done
only when a result names it: the result's `phoneNumber` or `formattedPhone`, read as a
number dialled from the US (10 digits, `1` + 10 digits, `011` + international digits, or
`+` + E.164 digits; formatting such as `(415) 555-2671` is stripped, JSON integers read
too), must give the E.164 number sent. Results are matched by that number, in any order.
Only when no result carries a number at all, and there are as many results as records,
are they paired by position (and the batch says so). Anything else (a result naming a
number not sent, a count that differs, results that cannot be read, duplicates that leave
a number without its own result, an `errorCount` that disagrees) makes the whole answer
unusable: every number of the request stays failed and is sent again by the next sync.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dncsync.errors import Failure
from dncsync.privacy import mask_phone

RESULTS_MISMATCH = "cxone.results_mismatch"  # counts differ, or errorCount disagrees
RESULTS_UNREADABLE = "cxone.results_unreadable"  # not results dncsync can read
RESULTS_UNMATCHED = "cxone.results_unmatched"  # results that name other numbers than sent
RECORD_FAILED = "cxone.record_failed"  # a record refused without an error code
RESULT_UNREADABLE = "cxone.result_unreadable"  # a record whose success flag cannot be read

# A DELETE of a record the group does not hold: the number is not held, which is what a
# removal wants.
ABSENT_CODES = frozenset({"RecordNotFound"})

NUMBER_KEYS = ("phoneNumber", "formattedPhone")

_FORMATTING = re.compile(r"[\s().\-]")
_DIGITS = re.compile(r"[0-9]+")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class UnreadableResult(ValueError):
    """A value in CXone's answer that cannot be read as what it should be."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What an answer says of each number sent: None when done, else why not."""

    outcomes: dict[str, Failure | None]  # E.164 sent -> None (done) or the record's failure
    paired_by_position: bool = False  # no result named a number: paired in the order sent


def read_number(value: object) -> str | None:
    """The E.164 number a result's phone field names, read as dialled from the US.

    None when the field is empty; `UnreadableResult` when it holds something that is not
    a number in one of the forms CXone stores (10 digits, `1` + 10, `011` + international
    digits, `+` + E.164 digits), formatting aside.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise UnreadableResult("a phone number that is a boolean")
    if isinstance(value, int):
        if value < 0:
            raise UnreadableResult("a phone number that is negative")
        # An integer cannot keep the leading 0 of `011`: no stored form starts with 11.
        text = str(value)
        if text.startswith("11"):
            text = "0" + text
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
    else:
        raise UnreadableResult(f"a phone number that is a {type(value).__name__}")
    international = text.startswith("+")
    digits = _FORMATTING.sub("", text[1:] if international else text)
    if not _DIGITS.fullmatch(digits):
        raise UnreadableResult("a phone number with characters other than digits")
    if international:
        number = "+" + digits
    elif digits.startswith("011"):  # before the lengths: 011 + 7 digits is 10 digits too
        number = "+" + digits[3:]
    elif len(digits) == 10:
        number = "+1" + digits
    elif len(digits) == 11 and digits.startswith("1"):
        number = "+" + digits
    else:
        raise UnreadableResult(f"a phone number of {len(digits)} digits in no form CXone stores")
    if not _E164.fullmatch(number):
        raise UnreadableResult("a phone number that is not a possible E.164 number")
    return number


def result_number(result: Mapping[str, Any]) -> str | None:
    """The number one result names (its `phoneNumber` or `formattedPhone`); None if neither.

    Both fields must agree when both are there; `UnreadableResult` otherwise.
    """
    named = {number for key in NUMBER_KEYS if (number := read_number(result.get(key)))}
    if len(named) > 1:
        raise UnreadableResult("phoneNumber and formattedPhone name different numbers")
    return named.pop() if named else None


def read_success(value: object) -> bool | None:
    """A result's `success`: a JSON boolean or the string "true"/"false" (any case); else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "false"):
            return word == "true"
    return None


def read_count(value: object) -> int | None:
    """An `errorCount`: an int or a string of digits; None when absent.

    `UnreadableResult` when it is there but not a count.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    raise UnreadableResult("errorCount is not a count")


def results_of(body: object) -> tuple[Mapping[str, Any] | None, object]:
    """(the object holding the results, its `recordResults`): `resultSet` or the top level."""
    # The DELETE answer's nesting is unconfirmed: accept either.
    holder = body.get("resultSet") if isinstance(body, Mapping) else None
    if not isinstance(holder, Mapping) or "recordResults" not in holder:
        holder = body if isinstance(body, Mapping) else None
    return holder, holder.get("recordResults") if holder is not None else None


def match_results(
    results: Sequence[Mapping[str, Any]], sent: Sequence[str]
) -> tuple[list[tuple[str, Mapping[str, Any]]], bool] | Failure:
    """Each number sent with its own result, and whether they were paired by position.

    A `Failure` when the results do not give every number sent exactly one result.
    """
    if len(results) != len(sent):
        return Failure(
            RESULTS_MISMATCH,
            f"the platform reported {len(results)} results for {len(sent)} records sent",
        )
    named: list[str | None] = []
    for place, result in enumerate(results, 1):
        try:
            named.append(result_number(result))
        except UnreadableResult as unreadable:
            return Failure(RESULTS_UNREADABLE, f"result {place}: {unreadable}")
    if all(number is None for number in named):
        return list(zip(sent, results, strict=True)), True
    wanted = set(sent)
    by_number: dict[str, Mapping[str, Any]] = {}
    for place, (number, result) in enumerate(zip(named, results, strict=True), 1):
        if number is None:
            return Failure(RESULTS_UNMATCHED, f"result {place} names no number, others do")
        if number not in wanted:
            return Failure(
                RESULTS_UNMATCHED, f"result {place} names {mask_phone(number)}, not a number sent"
            )
        if number in by_number:
            return Failure(
                RESULTS_UNMATCHED,
                f"result {place} names {mask_phone(number)} again: a number sent has no result",
            )
        by_number[number] = result
    return [(phone, by_number[phone]) for phone in sent], False


def record_outcome(result: Mapping[str, Any], *, removing: bool) -> Failure | None:
    """One record's outcome: None when done, else the platform's error as a `Failure`."""
    success = read_success(result.get("success"))
    if success is True:
        return None
    if success is None:
        return Failure(RESULT_UNREADABLE, "its success flag is neither true nor false")
    error = result.get("error")
    code = error.strip() if isinstance(error, str) and error.strip() else RECORD_FAILED
    if removing and code in ABSENT_CODES:
        return None
    return Failure(code)


def read_answer(body: object, sent: Sequence[str], *, removing: bool) -> Reading | Failure:
    """What CXone's answer says of each number sent (E.164, in the order of the records).

    A `Failure` says why the answer as a whole cannot be used: then no number of the
    request counts as done.
    """
    if len(set(sent)) != len(sent):
        raise ValueError("each number may be sent once per request")
    holder, results = results_of(body)
    if not isinstance(results, list):
        return Failure(RESULTS_UNREADABLE, "the answer holds no list of recordResults")
    for place, result in enumerate(results, 1):
        if not isinstance(result, Mapping):
            return Failure(RESULTS_UNREADABLE, f"result {place} is not an object")
    matched = match_results(results, sent)
    if isinstance(matched, Failure):
        return matched
    pairs, by_position = matched
    outcomes: dict[str, Failure | None] = {}
    refused = 0
    for phone, result in pairs:
        outcomes[phone] = record_outcome(result, removing=removing)
        refused += read_success(result.get("success")) is not True
    try:
        reported = read_count(holder.get("errorCount") if holder is not None else None)
    except UnreadableResult as unreadable:
        return Failure(RESULTS_UNREADABLE, str(unreadable))
    if reported is not None and reported != refused:
        return Failure(
            RESULTS_MISMATCH, f"errorCount {reported} but {refused} records reported failed"
        )
    return Reading(outcomes, by_position)


__all__ = [
    "ABSENT_CODES",
    "RECORD_FAILED",
    "RESULTS_MISMATCH",
    "RESULTS_UNMATCHED",
    "RESULTS_UNREADABLE",
    "RESULT_UNREADABLE",
    "Reading",
    "UnreadableResult",
    "match_results",
    "read_answer",
    "read_count",
    "read_number",
    "read_success",
    "record_outcome",
    "result_number",
    "results_of",
]
