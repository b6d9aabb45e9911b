"""The columnar fast path gives phonenumbers' verdicts and E.164, value by value (differential)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.columnar.column import PhoneColumn
from dncsync.columnar.phones import normalize_column
from dncsync.ingest import ingest, normalize_rows
from dncsync.model import Strictness
from dncsync.policy import DEFAULT_POLICY
from dncsync.sources import SourceSpec

from .helpers import TODAY
from .messy import load_bench

pytestmark = pytest.mark.usefixtures("kernels_both_ways")


def verdicts(column: PhoneColumn) -> dict[int, object]:
    table: dict[int, object] = {}
    for row, key in zip(column.accepted.tolist(), column.keys.tolist(), strict=True):
        table[row] = key
    for row, reason in zip(column.rejected.tolist(), column.reasons, strict=True):
        table[row] = reason
    return table


def assert_same(values: list[str], strictness: Strictness = Strictness.VALID) -> None:
    fast = normalize_column(values, "US", strictness)
    reference = normalize_rows(values, "US", strictness)
    fast_table, reference_table = verdicts(fast), verdicts(reference)
    wrong = [
        (values[row], fast_table[row], reference_table[row])
        for row in range(len(values))
        if fast_table[row] != reference_table[row]
    ]
    assert not wrong, wrong[:10]
    assert (fast.extensions, fast.vanity) == (reference.extensions, reference.vanity)


def test_messy_corpus_matches_phonenumbers_on_every_value() -> None:
    assert_same(list(load_bench().messy_values(seed=2024, count=30_000)))


def test_possible_strictness_matches_too() -> None:
    assert_same(list(load_bench().messy_values(seed=99, count=5_000)), Strictness.POSSIBLE)


def test_edge_shapes_match() -> None:
    values = [
        "", " ", "+", "++1", "+0 415 555 2671", "+011 44 20 7946 0958", "011", "0112", "01144",
        "011 0 44", "1", "12", "45", "(45)", "4-5", "123", "1234567", "13456789", "113456789",
        "12345678901", "10415555267", "11415555267", "1415555267112", "10000000000000000000",
        "+1 000 000 0000", "+44 (0)20 7946 0958", "+39 02 1234 5678", "+7 912 345 67 89",
        "+1 268 464 1234", "+44 1481 256789", "+262 692 12 34 56", "+800 1234 5678",
        "(415) 555-2671 ext. 12", "(415) 555-2671 X12", "415.555.2671, ext 9",
        "1-800-FLOWERS", "1 (800) CALL-ATT", "1.41555E+10", "\t415 555 2671", "415\t555 2671",
        "+1 (415) 555-2671", "(+44) 20 7946 0958", "415/555-2671", "+54 9 11 2345 6789",
    ]  # fmt: skip
    assert_same(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 +()-.x#ABCT", max_size=22), min_size=1, max_size=30))
def test_property_generated_values_match(values: list[str]) -> None:
    assert_same(values)


def test_ingest_gives_the_same_entries_either_way(tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    load_bench().write_csv(path, rows=4_000, seed=8)
    spec = [SourceSpec("messy", str(path))]
    fast = ingest(spec, DEFAULT_POLICY, today=TODAY)
    slow = ingest(spec, DEFAULT_POLICY, today=TODAY, normalizer=normalize_rows)
    assert list(fast.entries()) == list(slow.entries())
    assert fast.accounting == slow.accounting


def test_long_national_values_starting_with_one_match() -> None:
    rng = random.Random(5)
    values = []
    for _ in range(3_000):
        head = rng.choice(["1", "11", "111", "1111", "10", "110", "101", "12", "13"])
        digits = head + "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 20)))
        values.append(rng.choice(["{}", "{0}-{1}", "{0} ({1})"]).format(digits, digits[1:]))
    assert_same(values)
    assert_same(values, Strictness.POSSIBLE)


def test_trunk_prefixes_of_regions_with_transform_rules_match() -> None:
    rng = random.Random(9)
    values = []
    shapes = [("81", "9012345678"), ("81", "312345678"), ("55", "11961234567")]
    shapes += [("54", "91123456789"), ("52", "2221234567"), ("86", "13123456789")]
    for code, nsn in shapes:
        for _ in range(150):
            tail = "".join(rng.choice("0123456789") for _ in range(4))
            trunk = rng.choice(["(0)", "0", "", "90", "0 15"])
            values.append(f"+{code} {trunk}{nsn[:-4]}{tail}")
    assert_same(values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 +-()1", min_size=15, max_size=45), max_size=20))
def test_property_long_values_match(values: list[str]) -> None:
    assert_same(values)
