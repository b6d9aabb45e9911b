"""The planner's rules, called directly: it is pure."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dncsync.model import Entry, ExpirationPolicy, Reason
from dncsync.plan import (
    Batch,
    Mode,
    Plan,
    TargetRules,
    batches,
    kept_regardless,
    plan,
    platform_expiry,
)
from dncsync.snapshot import Held

TODAY = date(2026, 11, 22)


def entry(phone: str, expires: date | None = None) -> Entry:
    policy = ExpirationPolicy.NEVER if expires is None else ExpirationPolicy.ABSOLUTE
    return Entry(phone, Reason.CUSTOMER_REQUESTED, policy, expires, None, "optouts")


def test_new_numbers_are_adds_and_known_ones_unchanged() -> None:
    result = plan(
        [entry("+14155550001"), entry("+14155550002")],
        {"+14155550001": Held(None, None)},
        TODAY,
        TargetRules(),
    )
    assert [w.phone for w in result.adds] == ["+14155550002"]
    assert result.unchanged == 1
    assert result.writes == 1


def test_changed_retention_is_an_update() -> None:
    later = TODAY + timedelta(days=30)
    result = plan(
        [entry("+14155550001", later)], {"+14155550001": Held(None, None)}, TODAY, TargetRules()
    )
    assert [w.phone for w in result.updates] == ["+14155550001"]
    assert result.updates[0].platform_expires == later


def test_upsert_never_removes_numbers_no_source_has() -> None:
    result = plan([], {"+14155550001": Held(None, None)}, TODAY, TargetRules(Mode.UPSERT))
    assert result.removes == []
    assert result.removals == 0


def test_mirror_removes_numbers_no_source_has_and_counts_the_fraction() -> None:
    snapshot = {f"+1415555{n:04d}": Held(None, None) for n in range(100)}
    keep = [entry(phone) for phone in sorted(snapshot)[:97]]
    result = plan(keep, snapshot, TODAY, TargetRules(Mode.MIRROR))
    assert result.removes == sorted(snapshot)[97:]
    assert result.removal_fraction() == 0.03


def test_mirror_keeps_the_numbers_of_vanished_objects() -> None:
    snapshot = {f"+1415555{n:04d}": Held(None, None) for n in range(10)}
    vanished = frozenset(sorted(snapshot)[5:8])
    rules = TargetRules(Mode.MIRROR, kept=vanished)
    result = plan([entry(p) for p in sorted(snapshot)[:5]], snapshot, TODAY, rules)
    assert result.removes == sorted(snapshot)[8:]
    assert result.retained == 3
    assert kept_regardless([], snapshot, TODAY, rules) == 3


def test_expired_entries_are_counted_not_pushed() -> None:
    result = plan([entry("+14155550001", TODAY - timedelta(days=1))], {}, TODAY, TargetRules())
    assert result.expired == 1
    assert result.writes == 0


def test_an_entry_held_through_today_is_not_expired() -> None:
    result = plan([entry("+14155550001", TODAY)], {}, TODAY, TargetRules())
    assert result.expired == 0
    assert len(result.adds) == 1


def test_retention_ended_is_removed_only_when_configured() -> None:
    ended = TODAY - timedelta(days=1)
    snapshot = {"+14155550001": Held(ended, ended)}
    desired = [entry("+14155550001", ended)]
    assert plan(desired, snapshot, TODAY, TargetRules()).expiries == []
    configured = plan(desired, snapshot, TODAY, TargetRules(expire_after_retention=True))
    assert configured.expiries == ["+14155550001"]
    assert configured.removals == 1


def test_retention_beyond_the_platform_cap_is_pushed_without_expiry() -> None:
    five_years = TODAY + timedelta(days=5 * 365)
    assert platform_expiry(five_years, TODAY, 180) is None
    assert platform_expiry(TODAY + timedelta(days=179), TODAY, 180) == TODAY + timedelta(days=179)
    assert platform_expiry(TODAY + timedelta(days=180), TODAY, 180) is None
    assert platform_expiry(five_years, TODAY, None) == five_years
    assert platform_expiry(None, TODAY, 180) is None


def test_batches_group_by_action_and_expiry_and_respect_the_size() -> None:
    soon = TODAY + timedelta(days=10)
    desired = [entry(f"+1415555{n:04d}") for n in range(5)] + [
        entry(f"+1212555{n:04d}", soon) for n in range(3)
    ]
    snapshot = {"+16502530000": Held(None, None)}
    result = plan(desired, snapshot, TODAY, TargetRules(Mode.MIRROR))
    cut = list(batches(result, batch_size=2))
    assert [(b.action, b.expires, len(b.phones)) for b in cut] == [
        ("add", soon, 2),
        ("add", soon, 1),
        ("add", None, 2),
        ("add", None, 2),
        ("add", None, 1),
        ("remove", None, 1),
    ]


def test_batches_respect_the_body_byte_cap() -> None:
    desired = [entry(f"+1415{n:07d}") for n in range(1000)]
    result = plan(desired, {}, TODAY, TargetRules())
    cut = list(batches(result, batch_size=10_000, max_body_bytes=6_000))
    assert sum(len(b.phones) for b in cut) == 1000
    assert all(256 + sum(len(p) + 48 for p in b.phones) <= 6_000 for b in cut)


def test_batch_key_is_content_not_position() -> None:
    a = Batch("add", ("+14155550001", "+14155550002"), None)
    b = Batch("add", ("+14155550001", "+14155550002"), None)
    c = Batch("remove", ("+14155550001", "+14155550002"), None)
    assert a.key == b.key != c.key


phones = st.integers(min_value=2_000_000_000, max_value=2_000_000_400).map(lambda n: f"+1{n}")
expiries = st.one_of(st.none(), st.integers(-30, 400).map(lambda d: TODAY + timedelta(days=d)))


def apply(snapshot: dict[str, Held], result: Plan, size: int) -> dict[str, Held]:
    """What the platform holds after every batch of the plan was acknowledged."""
    held = dict(snapshot)
    for batch in batches(result, size):
        for phone, retention in zip(batch.phones, batch.retention_ends or (), strict=False):
            held[phone] = Held(retention, batch.expires)
        if batch.action == "remove":
            for phone in batch.phones:
                held.pop(phone)
    return held


@given(
    desired=st.dictionaries(phones, expiries, max_size=60),
    before=st.dictionaries(phones, expiries, max_size=60),
    size=st.integers(1, 7),
)
def test_plan_then_apply_reaches_the_desired_state_in_mirror_mode(
    desired: dict[str, date | None], before: dict[str, date | None], size: int
) -> None:
    rules = TargetRules(Mode.MIRROR, max_expiry_days=180, expire_after_retention=True)
    snapshot = {phone: Held(end, end) for phone, end in before.items()}
    result = plan([entry(p, e) for p, e in desired.items()], snapshot, TODAY, rules)
    after = apply(snapshot, result, size)
    live = {p: e for p, e in desired.items() if e is None or e >= TODAY}
    assert {p: h.retention_end for p, h in after.items()} == live
    # A second plan against the result has nothing left to do.
    again = plan([entry(p, e) for p, e in desired.items()], after, TODAY, rules)
    assert again.writes == 0


def test_per_record_expiry_keeps_batches_full_whatever_the_expirations() -> None:
    desired = [entry(f"+1415555{n:04d}", TODAY + timedelta(days=n)) for n in range(10)]
    result = plan(desired, {}, TODAY, TargetRules())
    grouped = list(batches(result, batch_size=5))
    per_record = list(batches(result, batch_size=5, expiry_per_record=True))
    assert len(grouped) == 10
    assert [len(b.phones) for b in per_record] == [5, 5]
    first = per_record[0]
    assert [first.platform_expiry_of(i) for i in range(5)] == [
        TODAY + timedelta(days=n) for n in range(5)
    ]
