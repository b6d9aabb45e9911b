"""Phone normalization: phonenumbers' verdicts exactly, E.164 out, a fixed list of reasons."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.model import RejectReason, Strictness
from dncsync.phone import e164_key, key_e164, mask, normalize

from .messy import load_bench


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(415) 555-2671", "+14155552671"),
        ("1-650-253-0000", "+16502530000"),
        ("+1 212-555-0123", "+12125550123"),
        ("011 49 30 901820", "+4930901820"),
        ("+44 20 7946 0958", "+442079460958"),
        ("1-800-FLOWERS", "+18003569377"),
        ("(212) 555-0123 ext. 44", "+12125550123"),
    ],
)
def test_national_international_vanity_and_extensions_become_e164(raw: str, e164: str) -> None:
    assert normalize(raw).e164 == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", RejectReason.EMPTY),
        ("   ", RejectReason.EMPTY),
        ("#VALUE!", RejectReason.NOT_A_NUMBER),
        ("not a number", RejectReason.NOT_A_NUMBER),
        ("+999 123 4567", RejectReason.INVALID_COUNTRY_CODE),
        ("123", RejectReason.TOO_SHORT),
        ("4155552671123456", RejectReason.TOO_LONG),
        ("+10000000000", RejectReason.POSSIBLE_NOT_VALID),
        ("555-0100", RejectReason.POSSIBLE_NOT_VALID),
    ],
)
def test_rejects_carry_a_reason_from_the_fixed_list(raw: str, reason: RejectReason) -> None:
    result = normalize(raw)
    assert result.e164 is None
    assert result.reject is reason


def test_extension_and_vanity_are_reported() -> None:
    assert normalize("(212) 555-0123 ext. 44").extension
    assert not normalize("(212) 555-0123 ext. 44").vanity
    assert normalize("1-800-FLOWERS").vanity
    assert not normalize("(415) 555-2671").vanity


def test_possible_strictness_uses_is_possible_number() -> None:
    assert normalize("+10000000000", strictness=Strictness.POSSIBLE).e164 == "+10000000000"
    assert normalize("123", strictness=Strictness.POSSIBLE).reject is RejectReason.TOO_SHORT


def test_default_region_applies_to_national_formats() -> None:
    assert normalize("020 7946 0958", region="GB").e164 == "+442079460958"
    assert normalize("020 7946 0958").e164 is None


def test_keys_round_trip_and_masking_hides_the_subscriber() -> None:
    assert key_e164(e164_key("+14155552671")) == "+14155552671"
    assert mask("+14155552671") == "+1415555****"


def reference(raw: str, region: str = "US") -> str | None:
    """What a user gets from phonenumbers directly: E.164 when is_valid_number, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_differential_against_phonenumbers_on_generated_messy_data() -> None:
    bench = load_bench()
    for raw in bench.messy_values(seed=11, count=5_000):
        assert normalize(raw).e164 == reference(raw), raw


messy_text = st.text(alphabet="0123456789 ()-.+x#ABCWXYZ/,ext", max_size=24)


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_property_verdicts_equal_phonenumbers(raw: str) -> None:
    assert normalize(raw).e164 == reference(raw)


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_property_normalization_is_idempotent(raw: str) -> None:
    first = normalize(raw).e164
    if first is not None:
        assert normalize(first).e164 == first
