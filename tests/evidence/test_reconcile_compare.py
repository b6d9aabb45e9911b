"""Reconcile's comparison: every number lands in exactly one bucket, and the corrected snapshot
makes the next plan send exactly the repair."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.drift import compare, corrected_snapshot
from dncsync.model import Entry, ExpirationPolicy, Reason
from dncsync.plan import Mode, TargetRules, plan
from dncsync.snapshot import Held
from dncsync.targets.base import RemoteRecord

TODAY = date(2026, 11, 20)


def entry(phone: str, expires: date | None = None) -> Entry:
    policy = ExpirationPolicy.NEVER if expires is None else ExpirationPolicy.ABSOLUTE
    return Entry(phone, Reason.CUSTOMER_REQUESTED, policy, expires, None, "optouts")


def held(phone: str, expires: date | None = None, *, is_held: bool = True) -> RemoteRecord:
    return RemoteRecord(phone, expires, is_held)


P = [f"+1415555{n:04d}" for n in range(10)]


def test_a_platform_that_matches_has_no_drift() -> None:
    entries = [entry(P[0]), entry(P[1])]
    snapshot = {P[0]: Held(None, None), P[1]: Held(None, None)}
    drift = compare(entries, snapshot, [held(P[0]), held(P[1])], target="g", mode=Mode.MIRROR,
                    today=TODAY)  # fmt: skip
    assert not drift.drifted
    assert drift.summary()["status"] == "match"
    assert (drift.expected, drift.held) == (2, 2)


def test_upsert_sorts_missing_foreign_and_retained() -> None:
    entries = [entry(P[0]), entry(P[1])]
    snapshot = {P[0]: Held(None, None), P[1]: Held(None, None), P[2]: Held(None, None)}
    remote = [held(P[0]), held(P[2]), held(P[3]), held(P[4], is_held=False)]
    drift = compare(entries, snapshot, remote, target="g", mode=Mode.UPSERT, today=TODAY)
    assert drift.missing == (P[1],)  # removed in the platform's UI
    assert drift.unexpected == ()
    assert drift.foreign == (P[3],)  # someone else put it there: not drift
    assert drift.retained == 1  # P[2]: ours, no longer in a source, upsert keeps it
    assert drift.snapshot_stale == 1  # P[1]
    assert drift.snapshot_unknown == 1  # P[3]
    assert drift.drifted
    summary = drift.summary()
    assert (summary["missing"], summary["unexpected"], summary["foreign"]) == (1, 0, 1)
    assert summary["sample"]["missing"] == ["+1415555****"]


def test_mirror_calls_its_own_extra_numbers_unexpected_and_keeps_everyone_elses() -> None:
    snapshot = {P[0]: Held(None, None), P[1]: Held(None, None), P[2]: Held(None, None, ours=False)}
    remote = [held(P[0]), held(P[1]), held(P[2]), held(P[5])]
    drift = compare([entry(P[0])], snapshot, remote, target="g", mode=Mode.MIRROR, today=TODAY)
    assert drift.unexpected == (P[1],)  # dncsync put it there; no source has it any more
    assert drift.foreign == (P[2], P[5])  # found on the list, or added since: kept, not drift
    removing = compare([entry(P[0])], snapshot, remote, target="g", mode=Mode.MIRROR,
                       today=TODAY, remove_foreign=True)  # fmt: skip
    assert removing.unexpected == (P[1], P[2], P[5])


def test_upsert_with_expiry_calls_an_ended_retention_unexpected() -> None:
    ended = TODAY - timedelta(days=1)
    snapshot = {P[0]: Held(ended, ended)}
    drift = compare([], snapshot, [held(P[0])], target="g", mode=Mode.UPSERT, today=TODAY,
                    expire_after_retention=True)  # fmt: skip
    assert drift.unexpected == (P[0],)


def test_an_early_platform_expiry_is_drift_a_later_one_is_not() -> None:
    keep_until = TODAY + timedelta(days=90)
    entries = [entry(P[0], keep_until), entry(P[1], keep_until), entry(P[2])]
    remote = [
        held(P[0], keep_until - timedelta(days=10)),  # released 10 days early
        held(P[1], keep_until + timedelta(days=10)),  # held longer: safe
        held(P[2], TODAY + timedelta(days=30)),  # NEVER, but the platform expires it
    ]
    drift = compare(entries, {}, remote, target="g", mode=Mode.UPSERT, today=TODAY)
    assert drift.expiry_mismatch == (P[0], P[2])


def test_retention_beyond_the_platform_cap_expects_no_platform_expiry() -> None:
    far = TODAY + timedelta(days=5 * 365)
    drift = compare([entry(P[0], far)], {}, [held(P[0], None)], target="g", mode=Mode.UPSERT,
                    today=TODAY, max_expiry_days=180)  # fmt: skip
    assert not drift.drifted


def test_expired_entries_are_not_expected() -> None:
    drift = compare([entry(P[0], TODAY - timedelta(days=1))], {}, [], target="g",
                    mode=Mode.UPSERT, today=TODAY)  # fmt: skip
    assert drift.expected == 0
    assert not drift.drifted


@pytest.mark.parametrize("mode", [Mode.UPSERT, Mode.MIRROR])
def test_the_corrected_snapshot_plans_exactly_the_repair(mode: Mode) -> None:
    keep_until = TODAY + timedelta(days=90)
    entries = [entry(P[0]), entry(P[1]), entry(P[2], keep_until)]
    snapshot = {p: Held(None, None) for p in (P[0], P[1], P[3])} | {
        P[2]: Held(keep_until, keep_until)
    }
    remote = [held(P[0]), held(P[2], keep_until - timedelta(days=5)), held(P[3]), held(P[4])]
    drift = compare(entries, snapshot, remote, target="g", mode=mode, today=TODAY)
    fixed = dict(corrected_snapshot(entries, snapshot, remote, drift, today=TODAY))
    the_plan = plan(entries, fixed, TODAY, TargetRules(mode=mode))
    assert [w.phone for w in the_plan.adds] == [P[1]]  # missing: re-added
    assert [w.phone for w in the_plan.updates] == [P[2]]  # early expiry: updated
    if mode is Mode.MIRROR:
        assert the_plan.removes == [P[3]]  # ours, unexpected: removed
    else:
        assert the_plan.removes == []
        assert fixed[P[3]].ours  # retained: still ours
    assert not fixed[P[4]].ours  # someone else's: kept in the snapshot, never removed
    assert the_plan.foreign == 1


phones = st.lists(st.sampled_from(P), unique=True)


@settings(max_examples=150, derandomize=True)
@given(desired=phones, in_snapshot=phones, on_platform=phones, mirror=st.booleans())
def test_repairing_then_reading_again_finds_no_drift(
    desired: list[str], in_snapshot: list[str], on_platform: list[str], mirror: bool
) -> None:
    mode = Mode.MIRROR if mirror else Mode.UPSERT
    entries = [entry(p) for p in desired]
    snapshot = {p: Held(None, None) for p in in_snapshot}
    remote = [held(p) for p in on_platform]
    drift = compare(entries, snapshot, remote, target="g", mode=mode, today=TODAY)
    # Every held number is in exactly one bucket.
    held_buckets = set(drift.unexpected) | set(drift.foreign)
    assert held_buckets.isdisjoint(desired)
    assert len(drift.unexpected) + len(drift.foreign) + drift.retained == len(
        set(on_platform) - set(desired)
    )
    # Apply the plan made from the corrected snapshot, as a platform would.
    fixed = dict(corrected_snapshot(entries, snapshot, remote, drift, today=TODAY))
    the_plan = plan(entries, fixed, TODAY, TargetRules(mode=mode))
    after = (set(on_platform) | {w.phone for w in the_plan.adds}) - set(the_plan.removes)
    again = compare(entries, snapshot, [held(p) for p in after], target="g", mode=mode,
                    today=TODAY)  # fmt: skip
    assert not again.drifted
    assert set(again.foreign) == set(drift.foreign)
