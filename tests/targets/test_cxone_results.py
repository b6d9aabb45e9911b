"""Reading CXone's answer to a records write, by calling the pure functions: a table of
answers and what each says of the numbers sent."""

from __future__ import annotations

from typing import Any

import pytest

from dncsync.errors import Failure
from dncsync.platforms.cxone.results import (
    RECORD_FAILED,
    RESULT_UNREADABLE,
    RESULTS_MISMATCH,
    RESULTS_UNMATCHED,
    RESULTS_UNREADABLE,
    UnreadableResult,
    read_answer,
    read_count,
    read_number,
    read_success,
)

SF, TORONTO, BERLIN = "+14155552671", "+14165550123", "+4930901820"
SENT = (SF, TORONTO, BERLIN)  # sent as 4155552671, 4165550123, 0114930901820
DIGITS = {SF: "4155552671", TORONTO: "4165550123", BERLIN: "0114930901820"}


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("4155552671", SF),  # 10 digits: a North American number
        ("(415) 555-2671", SF),  # CXone's formattedPhone
        ("415.555.2671", SF),
        ("1-415-555-2671", SF),  # 1 + 10 digits
        ("14155552671", SF),
        ("+1 415 555 2671", SF),  # + and E.164 digits
        (" +14155552671 ", SF),
        (4155552671, SF),  # a JSON integer
        (14155552671, SF),
        ("0114930901820", BERLIN),  # 011 + international digits
        ("+49 30 901820", BERLIN),
        (114930901820, BERLIN),  # an integer cannot keep 011's leading 0
        ("0112901234", "+2901234"),  # 011 + 7 digits is 10 digits, still international
        ("4930901820", "+14930901820"),  # bare country-code digits read as a US number
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_a_result_number_reads_as_dialled_from_the_us(value: object, number: str | None) -> None:
    assert read_number(value) == number


@pytest.mark.parametrize(
    "value",
    [True, 4155552671.0, -4155552671, [], {}, "415555267", "4155552671 x12", "n/a", "+0123", "+"],
)
def test_a_value_that_is_no_number_is_unreadable(value: object) -> None:
    with pytest.raises(UnreadableResult):
        read_number(value)


@pytest.mark.parametrize(
    ("value", "success"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        (" False ", False),
        (None, None),
        (1, None),
        ("yes", None),
        ("", None),
    ],
)
def test_success_is_a_boolean_or_its_word(value: object, success: bool | None) -> None:
    assert read_success(value) is success


@pytest.mark.parametrize(("value", "count"), [(0, 0), (2, 2), ("0", 0), (" 3 ", 3), (None, None)])
def test_error_count_is_an_int_or_digits(value: object, count: int | None) -> None:
    assert read_count(value) == count


@pytest.mark.parametrize("value", ["many", -1, True, 1.5, "1.0", []])
def test_an_error_count_that_is_no_count_is_unreadable(value: object) -> None:
    with pytest.raises(UnreadableResult):
        read_count(value)


# --- whole answers --------------------------------------------------------------------------


def named(
    phone: str, success: object = True, error: object = None, **fields: Any
) -> dict[str, Any]:
    """A result naming `phone` by the digits it was sent as (unless `fields` say otherwise)."""
    result: dict[str, Any] = {"success": success, "error": error, "phoneNumber": DIGITS[phone]}
    result.update(fields)
    return result


def nameless(success: object = True, error: object = None) -> dict[str, Any]:
    """A result without any number (the spec's `{success, error, formattedPhone}`, empty)."""
    return {"success": success, "error": error, "formattedPhone": None}


def answer(*results: object, error_count: object = "count", top_level: bool = False) -> object:
    """A records answer; `errorCount` counts the failures unless given."""
    if error_count == "count":
        error_count = sum(
            1 for r in results if not (isinstance(r, dict) and r.get("success") is True)
        )
    holder: dict[str, Any] = {"recordResults": list(results)}
    if error_count is not None:
        holder["errorCount"] = error_count
    return holder if top_level else {"resultSet": holder}


Done = tuple[frozenset[str], dict[str, str], bool]  # acknowledged, failed codes, by position


def done(
    *acknowledged: str, failed: dict[str, str] | None = None, by_position: bool = False
) -> Done:
    return frozenset(acknowledged), failed or {}, by_position


ALL = done(*SENT)

CASES: list[tuple[str, object, Done | str]] = [
    ("exact, in order", answer(*(named(p) for p in SENT)), ALL),
    ("reordered", answer(*(named(p) for p in reversed(SENT))), ALL),
    (
        "formattedPhone only",
        answer(
            {"success": True, "formattedPhone": "(415) 555-2671"},
            {"success": True, "formattedPhone": "+1 416 555 0123"},
            {"success": True, "formattedPhone": "0114930901820"},
        ),
        ALL,
    ),
    (
        "phoneNumber as JSON integers, formattedPhone agreeing",
        answer(
            named(TORONTO, phoneNumber=4165550123, formattedPhone="(416) 555-0123"),
            named(SF, phoneNumber=4155552671),
            named(BERLIN, phoneNumber=114930901820),
        ),
        ALL,
    ),
    (
        "no numbers, counts equal",
        answer(nameless(), nameless(), nameless()),
        done(*SENT, by_position=True),
    ),
    (
        "no numbers, one refused",
        answer(nameless(), nameless(False, "MaxRecordsExceeded"), nameless()),
        done(SF, BERLIN, failed={TORONTO: "MaxRecordsExceeded"}, by_position=True),
    ),
    (
        "a record refused by number",
        answer(named(BERLIN), named(SF, False, "InvalidPhoneNumber"), named(TORONTO)),
        done(TORONTO, BERLIN, failed={SF: "InvalidPhoneNumber"}),
    ),
    (
        "a record refused without a code",
        answer(named(SF), named(TORONTO, False), named(BERLIN)),
        done(SF, BERLIN, failed={TORONTO: RECORD_FAILED}),
    ),
    (
        "success and errorCount as strings",
        answer(
            named(SF, "true"), named(TORONTO, "FALSE", "InvalidPhoneNumber"), named(BERLIN, "True"),
            error_count="1",
        ),
        done(SF, BERLIN, failed={TORONTO: "InvalidPhoneNumber"}),
    ),
    (
        "a success flag that cannot be read",
        answer(named(SF), named(TORONTO, success=None), named(BERLIN), error_count=None),
        done(SF, BERLIN, failed={TORONTO: RESULT_UNREADABLE}),
    ),
    ("results at the top level", answer(*(named(p) for p in SENT), top_level=True), ALL),
    ("no errorCount at all", answer(*(named(p) for p in SENT), error_count=None), ALL),
    # Whole answers that cannot be used: every number of the request stays failed.
    (
        "names a number not sent",
        answer(named(SF), named(TORONTO, phoneNumber="2125550199"), named(BERLIN)),
        RESULTS_UNMATCHED,
    ),
    (
        "names other numbers altogether",
        answer(*({"success": True, "phoneNumber": f"212555{n:04d}"} for n in range(3))),
        RESULTS_UNMATCHED,
    ),
    (
        "bare country-code digits for an international number",
        answer(named(SF), named(TORONTO), named(BERLIN, phoneNumber="4930901820")),
        RESULTS_UNMATCHED,
    ),
    ("one result fewer", answer(named(SF), named(TORONTO)), RESULTS_MISMATCH),
    ("one result more", answer(*(named(p) for p in SENT), named(SF)), RESULTS_MISMATCH),
    ("no numbers, one result fewer", answer(nameless(), nameless()), RESULTS_MISMATCH),
    ("no results", answer(), RESULTS_MISMATCH),
    (
        "a duplicate leaves a number without its result",
        answer(named(SF), named(SF), named(BERLIN)),
        RESULTS_UNMATCHED,
    ),
    ("some named, some not", answer(named(SF), nameless(), named(BERLIN)), RESULTS_UNMATCHED),
    (
        "phoneNumber and formattedPhone disagree",
        answer(named(SF, formattedPhone="(416) 555-0123"), named(TORONTO), named(BERLIN)),
        RESULTS_UNREADABLE,
    ),
    (
        "a number that does not read",
        answer(named(SF), named(TORONTO, phoneNumber="n/a"), named(BERLIN)),
        RESULTS_UNREADABLE,
    ),
    (
        "an item that is not an object",
        answer(named(SF), DIGITS[TORONTO], named(BERLIN)),
        RESULTS_UNREADABLE,
    ),
    ("recordResults not a list", {"resultSet": {"recordResults": {}}}, RESULTS_UNREADABLE),
    ("an empty body", None, RESULTS_UNREADABLE),
    ("a body that is a word", "OK", RESULTS_UNREADABLE),
    (
        "errorCount disagrees",
        answer(*(named(p) for p in SENT), error_count=1),
        RESULTS_MISMATCH,
    ),
    (
        "errorCount that is no count",
        answer(*(named(p) for p in SENT), error_count="none"),
        RESULTS_UNREADABLE,
    ),
]  # fmt: skip


def outcome(reading: object) -> Done | str:
    if isinstance(reading, Failure):
        return reading.code
    assert not isinstance(reading, str)
    acknowledged = frozenset(p for p, f in reading.outcomes.items() if f is None)
    failed = {p: f.code for p, f in reading.outcomes.items() if f is not None}
    assert set(reading.outcomes) == set(SENT)  # every number sent has an outcome
    return acknowledged, failed, reading.paired_by_position


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_answer_vouches_only_for_the_numbers_its_results_name(
    body: object, expected: Done | str
) -> None:
    assert outcome(read_answer(body, SENT, removing=False)) == expected


def test_a_removal_of_a_record_the_group_does_not_hold_is_done() -> None:
    body = answer(named(SF), named(TORONTO, False, "RecordNotFound"), named(BERLIN))
    assert outcome(read_answer(body, SENT, removing=True)) == ALL
    assert outcome(read_answer(body, SENT, removing=False)) == done(
        SF, BERLIN, failed={TORONTO: "RecordNotFound"}
    )


def test_a_failure_message_never_carries_a_full_number() -> None:
    body = answer(named(SF), named(TORONTO, phoneNumber="2125550199"), named(BERLIN))
    failure = read_answer(body, SENT, removing=False)
    assert isinstance(failure, Failure)
    assert "2125550199" not in failure
    assert "+1212555****" in failure.message


def test_each_number_may_be_sent_once() -> None:
    with pytest.raises(ValueError, match="once"):
        read_answer(answer(named(SF), named(SF)), (SF, SF), removing=False)
