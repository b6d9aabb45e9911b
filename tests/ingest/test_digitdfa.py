"""The compiled validity tables decide exactly as phonenumbers.is_valid_number does."""

from __future__ import annotations

import random

import numpy as np
import phonenumbers
import pytest

from dncsync.columnar import digitdfa

pytestmark = pytest.mark.usefixtures("kernels_both_ways")  # the DFA walk: compiled and numpy


def _number(code: int, nsn: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn))
    zeros = len(nsn) - len(nsn.lstrip("0"))
    if zeros:
        number.italian_leading_zero = True
        if zeros > 1:
            number.number_of_leading_zeros = zeros
    return number


def _nsns(code: int, rng: random.Random) -> list[str]:
    """Random digit strings and example numbers with their last digits randomised."""
    values = [
        "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 17))) for _ in range(60)
    ]
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
        for kind in range(11):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            nsn = phonenumbers.national_significant_number(example)
            for _ in range(6):
                cut = rng.randint(0, min(4, len(nsn)))
                tail = "".join(rng.choice("0123456789") for _ in range(cut))
                values.append(nsn[: len(nsn) - cut] + tail)
    return [value for value in values if value.strip("0")]


def test_every_calling_code_decides_as_phonenumbers() -> None:
    rng = random.Random(20261122)
    wrong = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        decision = digitdfa.validity_dfa(code)
        assert decision is not None, code
        values = _nsns(code, rng)
        got = decision.decide(
            np.array([int(v) for v in values], np.uint64), np.array([len(v) for v in values])
        )
        for value, verdict in zip(values, got.tolist(), strict=True):
            if phonenumbers.is_valid_number(_number(code, value)) != verdict:
                wrong.append((code, value, verdict))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("code", [1, 44, 49, 7, 39, 800])
def test_shipped_tables_are_the_compiled_ones(code: int) -> None:
    shipped = digitdfa.validity_dfa(code)
    compiled = digitdfa._compile(code, phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code])
    assert shipped is not None
    assert compiled is not None
    assert np.array_equal(shipped.table, compiled.table)
    assert np.array_equal(shipped.valid, compiled.valid)
    shipped_general = digitdfa.general_dfa(code)
    compiled_general = digitdfa._general(code)
    assert shipped_general is not None
    assert compiled_general is not None
    assert np.array_equal(shipped_general.table, compiled_general.table)
    assert np.array_equal(shipped_general.valid, compiled_general.valid)


@pytest.mark.parametrize(
    "pattern",
    ["(?=1)2", "\\1", "a^", "[a-z]", "(?P<x>1)", "\\w"],
)
def test_patterns_outside_the_subset_are_refused(pattern: str) -> None:
    with pytest.raises(digitdfa.Unsupported):
        digitdfa._Parser(pattern).parse()


def test_shipped_region_facts_are_the_metadata_ones() -> None:
    """The facts shipped so that start-up loads no region metadata match the metadata."""
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        assert digitdfa.main_region_facts(code) == digitdfa._facts(code), code
