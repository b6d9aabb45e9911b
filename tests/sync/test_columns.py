"""Entries and snapshots as columns answer exactly as lists and dicts of the same numbers do.

The planner, the capacity fit and drift read columns at scale (two million numbers) and
objects in small cases; both must give the same plan, number for number.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest

from dncsync.columnar.entries import EntryColumns
from dncsync.columnar.index import expiry_code, pack, phone_order
from dncsync.model import Entry, ExpirationPolicy, Reason
from dncsync.plan import Mode, TargetRules, batches, kept_regardless, plan, write_keys
from dncsync.snapshot import Held, HeldColumns, PhoneCollector

TODAY = date(2026, 12, 5)
SOURCES = ["optouts", "registry"]


def random_entries(rng: random.Random, count: int) -> list[Entry]:
    """Distinct numbers of several lengths (so numeric and string order differ), with every
    kind of retention: never, ended, ending soon, beyond Genesys' 180 days."""
    phones = set()
    while len(phones) < count:
        country = rng.choice(["1415555", "44207946", "3361234", "9715", "861381234"])
        width = rng.choice([4, 5, 6]) if country != "1415555" else 4
        phones.add(f"+{country}{rng.randrange(10**width):0{width}d}")
    entries = []
    for phone in sorted(phones):
        policy = rng.choice(list(ExpirationPolicy))
        expires = (
            None
            if policy is ExpirationPolicy.NEVER
            else TODAY + timedelta(days=rng.choice([-30, -1, 0, 1, 90, 400]))
        )
        collected = rng.choice([None, TODAY - timedelta(days=rng.randrange(400))])
        entries.append(
            Entry(phone, rng.choice(list(Reason)), policy, expires, collected, rng.choice(SOURCES))
        )
    return entries


def as_columns(entries: list[Entry]) -> EntryColumns:
    keys = np.array([int(e.phone[1:]) for e in entries], dtype=np.uint64)
    meta = np.array(
        [
            pack(
                e.reason,
                expiry_code(e.expiration_policy, e.expires_at),
                e.date_collected,
                SOURCES.index(e.source),
            )
            for e in entries
        ],
        dtype=np.int64,
    )
    order = phone_order(keys)
    return EntryColumns(keys[order], meta[order], SOURCES)


def random_snapshot(rng: random.Random, entries: list[Entry], extra: int) -> dict[str, Held]:
    """Some of the entries' numbers (with the same or another retention), and numbers no
    entry has, ours or found on the platform."""
    held: dict[str, Held] = {}
    for entry in entries:
        if rng.random() < 0.6:
            end = entry.expires_at if rng.random() < 0.7 else TODAY + timedelta(days=9)
            held[entry.phone] = Held(end, end, rng.random() < 0.8)
    for index in range(extra):
        end = rng.choice([None, TODAY - timedelta(days=3), TODAY + timedelta(days=30)])
        held[f"+1212555{index:04d}"] = Held(end, end, rng.random() < 0.5)
    return held


def test_a_snapshot_as_columns_is_the_same_mapping() -> None:
    rng = random.Random(7)
    pairs = [
        (f"+1{rng.randrange(2_000_000_000, 9_999_999_999)}", Held(None, None)) for _ in range(500)
    ]
    pairs += [("+0123", Held(TODAY, TODAY, False)), ("not a phone", Held(None, None, False))]
    pairs += [(pairs[0][0], Held(TODAY, None, False))]  # a later pair for a phone wins
    expected = dict(pairs)
    columns = HeldColumns.of(pairs)
    assert columns == expected
    assert len(columns) == len(expected)
    assert dict(columns.items()) == expected
    assert set(columns) == set(expected)
    assert all(columns[phone] == held for phone, held in expected.items())
    assert "+19999999999" not in columns
    assert "+0123" in columns
    assert 14155 not in columns
    with pytest.raises(KeyError):
        columns["+19999999999"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mode", list(Mode))
def test_the_plan_of_columns_is_the_plan_of_objects(seed: int, mode: Mode) -> None:
    rng = random.Random(seed)
    entries = random_entries(rng, 400)
    snapshot = random_snapshot(rng, entries, extra=rng.choice([0, 30]))
    rules = TargetRules(
        mode=mode,
        max_expiry_days=rng.choice([None, 180]),
        expire_after_retention=rng.random() < 0.5,
        remove_foreign=rng.random() < 0.3,
    )
    columns, held = as_columns(entries), HeldColumns.of(snapshot.items())
    assert list(columns) == entries  # the same entries, in the same (E.164 string) order

    of_objects = plan(entries, snapshot, TODAY, rules)
    of_columns = plan(columns, held, TODAY, rules)

    for name in ("adds", "updates", "removes", "expiries"):
        assert list(getattr(of_columns, name)) == list(getattr(of_objects, name)), name
    for name in ("expired", "held_before", "unchanged", "foreign", "retained"):
        assert getattr(of_columns, name) == getattr(of_objects, name), name
    assert kept_regardless(columns, held, TODAY, rules) == kept_regardless(
        entries, snapshot, TODAY, rules
    )
    for per_record in (False, True):
        assert list(batches(of_columns, 37, expiry_per_record=per_record)) == list(
            batches(of_objects, 37, expiry_per_record=per_record)
        )
    keys = write_keys(of_columns.adds)
    assert keys is not None
    assert sorted(keys.tolist()) == sorted(int(w.phone[1:]) for w in of_objects.adds)


def test_a_plan_keeps_positions_not_writes() -> None:
    entries = random_entries(random.Random(3), 50)
    result = plan(as_columns(entries), HeldColumns.of([]), TODAY, TargetRules())
    # Read as often as wanted, the same writes each time, sorted by phone.
    assert list(result.adds) == list(result.adds)
    assert [w.phone for w in result.adds] == sorted(w.phone for w in result.adds)
    assert result.adds[-1] == list(result.adds)[-1]
    assert list(result.adds[:3]) == list(result.adds)[:3]


def test_phones_gathered_as_digits_read_as_sorted_strings() -> None:
    rng = random.Random(11)
    phones = [e.phone for e in random_entries(rng, 300)]
    rng.shuffle(phones)
    gathered = PhoneCollector()
    for phone in phones:
        gathered.append(phone)
    assert gathered.sorted() == tuple(sorted(phones))
    assert list(gathered.sorted()[:3]) == sorted(phones)[:3]
    # A phone that is not plain E.164 digits keeps every number, as strings.
    gathered.append("+0 weird")
    assert gathered.sorted() == tuple(sorted([*phones, "+0 weird"]))
