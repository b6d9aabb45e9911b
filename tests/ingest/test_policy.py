"""Regulatory rules: aliases, retention corrections, and the most protective merge."""

from __future__ import annotations

import functools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dncsync.errors import ConfigError
from dncsync.model import Entry, ExpirationPolicy, Reason
from dncsync.policy import (
    DEFAULT_POLICY,
    Policy,
    RequestKind,
    RetentionRule,
    read_date_collected,
    read_expiration,
)

from .helpers import merge

TODAY = date(2026, 11, 22)
NEVER, RELATIVE, ABSOLUTE = ExpirationPolicy


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("customer request", Reason.CUSTOMER_REQUESTED),
        ("Customer_Requested", Reason.CUSTOMER_REQUESTED),
        ("OPT-OUT", Reason.CUSTOMER_REQUESTED),
        ("national dnc", Reason.NATIONAL),
        ("Known Litigator", Reason.LITIGATOR),
        ("LITIGATOR", Reason.LITIGATOR),
    ],
)
def test_reason_aliases_ignore_case_space_underscore_and_dash(text: str, reason: Reason) -> None:
    assert DEFAULT_POLICY.reason_for(text) == (reason, None)


def test_unmapped_reason_is_unknown_and_warned() -> None:
    assert DEFAULT_POLICY.reason_for("moved away") == (Reason.UNKNOWN, "unmapped_reason")
    assert DEFAULT_POLICY.reason_for("") == (Reason.UNKNOWN, "missing_reason")


def test_configured_aliases_merge_over_the_defaults() -> None:
    policy = Policy(reason_aliases={"Moved Away": Reason.COMPANY_POLICY})
    assert policy.reason_for("moved-away") == (Reason.COMPANY_POLICY, None)
    assert policy.reason_for("litigator") == (Reason.LITIGATOR, None)


def test_regulatory_floors_cannot_be_configured_away() -> None:
    with pytest.raises(ConfigError):
        Policy(retention={Reason.NATIONAL: RetentionRule(RELATIVE, years=1)})
    with pytest.raises(ConfigError):
        Policy(retention={Reason.CUSTOMER_REQUESTED: RetentionRule(RELATIVE, 1, 1)})


def retention(reason: Reason, expiration: str = "", collected: str = "", policy: str = "") -> tuple:
    requested = read_expiration(expiration, policy)
    when, _ = read_date_collected(collected, TODAY)
    kept = DEFAULT_POLICY.retention_for(reason, requested, when, TODAY)
    return kept.policy, kept.expires_at, kept.warnings


def test_registry_reasons_never_expire_and_a_stated_expiry_is_corrected() -> None:
    assert retention(Reason.NATIONAL) == (NEVER, None, ())
    assert retention(Reason.LITIGATOR, "2027-01-01") == (NEVER, None, ("retention_forced_never",))


def test_customer_requests_last_at_least_five_years_from_collection() -> None:
    assert retention(Reason.CUSTOMER_REQUESTED, collected="2026-10-02") == (
        RELATIVE,
        date(2031, 10, 2),
        (),
    )
    assert retention(Reason.CUSTOMER_REQUESTED, "2027-01-01", "2026-10-02") == (
        RELATIVE,
        date(2031, 10, 2),
        ("expiration_extended",),
    )
    # No date collected: five years from today (the engine later moves it to the first run).
    assert retention(Reason.CUSTOMER_REQUESTED)[1] == date(2031, 11, 22)
    assert retention(Reason.CUSTOMER_REQUESTED, "never") == (NEVER, None, ())


def test_bad_expirations_take_the_most_protective_reading() -> None:
    assert retention(Reason.COMPANY_POLICY, "soon") == (NEVER, None, ("unreadable_expiration",))
    assert retention(Reason.COMPANY_POLICY, "2020-01-01", "2024-01-01") == (
        RELATIVE,
        date(2029, 1, 1),
        ("expiration_before_collected",),
    )
    assert retention(Reason.COMPANY_POLICY, "2027-08-20", "2026-08-20") == (
        ABSOLUTE,
        date(2027, 8, 20),
        (),
    )
    assert retention(Reason.COMPANY_POLICY, "2y", "2026-08-20") == (RELATIVE, date(2028, 8, 20), ())


def test_dates_are_iso_or_us_and_anything_else_is_warned() -> None:
    assert read_date_collected("10/28/2026", TODAY) == (date(2026, 10, 28), None)
    assert read_date_collected("2026-10-28T10:00:00Z", TODAY) == (date(2026, 10, 28), None)
    assert read_date_collected("28.10.2026", TODAY) == (None, "unreadable_date_collected")
    assert read_date_collected("2027-01-01", TODAY) == (date(2027, 1, 1), "future_date_collected")
    assert read_expiration("", "ABSOLUTE").kind is RequestKind.NONE


reasons = st.sampled_from(list(Reason))
entries = st.builds(
    Entry,
    phone=st.just("+14155552671"),
    reason=reasons,
    expiration_policy=st.sampled_from([RELATIVE, ABSOLUTE]),
    expires_at=st.dates(date(2020, 1, 1), date(2040, 1, 1)),
    date_collected=st.none() | st.dates(date(2015, 1, 1), date(2026, 1, 1)),
    source=st.sampled_from(["crm", "legal", "web"]),
) | st.builds(
    Entry,
    phone=st.just("+14155552671"),
    reason=reasons,
    expiration_policy=st.just(NEVER),
    expires_at=st.none(),
    date_collected=st.none() | st.dates(date(2015, 1, 1), date(2026, 1, 1)),
    source=st.sampled_from(["crm", "legal", "web"]),
)


@given(st.lists(entries, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_property_merge_does_not_depend_on_order(rows: list[Entry], rng) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(rows)
    rng.shuffle(shuffled)
    assert functools.reduce(merge, rows) == functools.reduce(merge, shuffled)


@given(st.lists(entries, min_size=1, max_size=6))
def test_property_merge_is_most_protective(rows: list[Entry]) -> None:
    merged = functools.reduce(merge, rows)
    assert merged.reason.strength == max(row.reason.strength for row in rows)
    if any(row.expiration_policy is NEVER for row in rows):
        assert merged.expiration_policy is NEVER
    else:
        assert merged.expires_at == max(row.expires_at for row in rows if row.expires_at)
    dates = [row.date_collected for row in rows if row.date_collected]
    assert merged.date_collected == (min(dates) if dates else None)
