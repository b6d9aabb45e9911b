"""Capacity rules, called directly: which numbers are kept, and on which list."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.capacity import fit, priority, spread
from dncsync.model import Entry, ExpirationPolicy, Reason


def entry(phone: str, reason: Reason, collected: date | None = None) -> Entry:
    return Entry(
        phone=phone,
        reason=reason,
        expiration_policy=ExpirationPolicy.NEVER,
        expires_at=None,
        date_collected=collected,
        source="s",
    )


def test_a_persons_request_is_kept_before_any_registry_row() -> None:
    old_registry = [entry(f"+1415555{n:04d}", Reason.NATIONAL, date(2026, 1, 1)) for n in range(5)]
    request = entry("+14155559999", Reason.CUSTOMER_REQUESTED, date(2026, 11, 30))
    litigator = entry("+14155559998", Reason.LITIGATOR)
    fitted = fit([*old_registry, request, litigator], capacity=4, taken=0)
    assert fitted.over
    kept = {e.phone for e in fitted.kept}
    assert {request.phone, litigator.phone} <= kept
    assert len(fitted.left_out) == 3
    assert fitted.to_hold == 7


def test_within_a_reason_the_most_recently_collected_comes_first() -> None:
    older = entry("+14155550001", Reason.STATE, date(2025, 1, 1))
    newer = entry("+14155550002", Reason.STATE, date(2026, 1, 1))
    undated = entry("+14155550003", Reason.STATE)
    assert sorted([undated, older, newer], key=priority) == [newer, older, undated]
    assert priority(entry("+1", Reason.NATIONAL)) < priority(entry("+1", Reason.LOCAL))


def test_numbers_held_whatever_the_sources_say_take_room_first() -> None:
    entries = [entry(f"+1415555{n:04d}", Reason.NATIONAL) for n in range(10)]
    fitted = fit(entries, capacity=10, taken=4)
    assert (len(fitted.kept), len(fitted.left_out), fitted.to_hold) == (6, 4, 14)


phones = st.lists(st.integers(2_000_000_000, 9_999_999_999), unique=True, max_size=300).map(
    lambda ns: [f"+1{n}" for n in ns]
)


@settings(max_examples=60, derandomize=True)
@given(numbers=phones)
def test_adding_a_list_moves_only_the_numbers_it_takes(numbers: list[str]) -> None:
    two = spread(numbers, ["a", "b"], 10_000)
    three = spread(numbers, ["a", "b", "c"], 10_000)
    assert set(two) == set(three) == set(numbers)
    assert all(three[p] == two[p] for p in numbers if three[p] != "c")


def test_a_full_list_passes_numbers_to_the_next() -> None:
    numbers = [f"+1415{n:07d}" for n in range(1000)]
    placed = spread(numbers, ["a", "b"], 600)
    assert len(placed) == 1000
    assert max(list(placed.values()).count(k) for k in ("a", "b")) <= 600
