"""The merge index agrees with the pure merge rule, whatever the batches and their order."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.columnar.index import MergeIndex, expiry_code, pack, unpack
from dncsync.ingest import SourceNames
from dncsync.model import Entry, ExpirationPolicy, Reason

from .helpers import merge

NAMES = ["web", "crm", "legal", "ivr"]
rows = st.tuples(
    st.integers(1, 6),  # phone
    st.sampled_from(list(Reason)),
    st.sampled_from(list(ExpirationPolicy)),
    st.dates(date(2020, 1, 1), date(2035, 1, 1)),
    st.none() | st.dates(date(2015, 1, 1), date(2026, 1, 1)),
    st.sampled_from(NAMES),
)


def as_entry(row: tuple) -> Entry:  # type: ignore[type-arg]
    phone, reason, policy, expires, collected, source = row
    return Entry(
        f"+1415555000{phone}",
        reason,
        policy,
        None if policy is ExpirationPolicy.NEVER else expires,
        collected,
        source,
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(rows, min_size=1, max_size=40),
    st.integers(1, 7),
    st.permutations(NAMES),
    st.integers(1, 8),
)
def test_property_index_equals_pairwise_merge(
    rows: list,  # type: ignore[type-arg]
    batch: int,
    intern_order: list,  # type: ignore[type-arg]
    segment: int,
) -> None:
    names = SourceNames()
    for name in intern_order:  # ids in another order than names sort: ties must not care
        names.intern(name, 0)
    index = MergeIndex(names.rank)
    index.SEGMENT = segment
    entries = [as_entry(row) for row in rows]
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        keys = np.array([int(entry.phone[1:]) for entry in chunk], dtype=np.uint64)
        meta = np.array(
            [
                pack(
                    entry.reason,
                    expiry_code(entry.expiration_policy, entry.expires_at),
                    entry.date_collected,
                    names.intern(entry.source, 0),
                )
                for entry in chunk
            ],
            dtype=np.int64,
        )
        index.add(keys, meta)
    segments = index.finish()
    keys = np.concatenate([k for k, _ in segments] or [np.empty(0, np.uint64)])
    meta = np.concatenate([m for _, m in segments] or [np.empty(0, np.int64)])
    assert np.all(keys[1:] > keys[:-1])
    got = {}
    for key, packed in zip(keys.tolist(), meta.tolist(), strict=True):
        reason, policy, expires, collected, source = unpack(packed)
        got[f"+{key}"] = Entry(f"+{key}", reason, policy, expires, collected, names.names[source])
    expected: dict[str, Entry] = {}
    for entry in entries:
        expected[entry.phone] = (
            merge(expected[entry.phone], entry) if entry.phone in expected else entry
        )
    assert got == expected
    assert index.rows == len(entries)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 10**19 - 1), min_size=0, max_size=300, unique=True),
    st.integers(1, 50),
)
def test_chunks_come_in_e164_string_order(numbers: list[int], size: int) -> None:
    from dncsync.columnar.index import e164_chunks

    keys = np.array(sorted(numbers), np.uint64)
    meta = np.arange(keys.size, dtype=np.int64)
    cut = keys.size // 3
    chunks = list(e164_chunks([(keys[:cut], meta[:cut]), (keys[cut:], meta[cut:])], size))
    got = [int(k) for chunk_keys, _ in chunks for k in chunk_keys.tolist()]
    assert got == sorted(numbers, key=str)
    spread = {
        int(k): int(m)
        for chunk_keys, chunk_meta in chunks
        for k, m in zip(chunk_keys, chunk_meta, strict=True)
    }
    assert spread == {int(k): i for i, k in enumerate(keys.tolist())}
