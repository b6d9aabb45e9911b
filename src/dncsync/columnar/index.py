"""The merge index: one sorted (key, meta) pair per unique number, 16 bytes each.

A number's key is its E.164 digits as an unsigned integer (E.164 never starts with 0, so the
digits round-trip). Everything the most protective merge needs is packed into one int64:

    bit 60-62  reason strength (1..7)          merged by max, ties -> the source name first
    bit 37-59  expiry: ordinal*2 + RELATIVE    merged by max; NEVER is the largest value
    bit 15-36  date collected ordinal          merged by min; "none" is the largest value
    bit  0-14  source id (interned name)

Batches become sorted runs that are merged pairwise when similar in size (as an LSM tree does),
so memory follows the number of unique numbers, not rows, and the work stays O(n log n).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from datetime import date

import numpy as np
import numpy.typing as npt

from dncsync.columnar.memory import release_free_memory
from dncsync.model import ExpirationPolicy, Reason

Keys = npt.NDArray[np.uint64]
Meta = npt.NDArray[np.int64]

REASON_SHIFT = 60
EXP_SHIFT = 37
DC_SHIFT = 15
EXP_MASK = (1 << 23) - 1
DC_MASK = (1 << 22) - 1
SRC_BITS = 15
SRC_MASK = (1 << SRC_BITS) - 1
MAX_SOURCES = SRC_MASK  # ids 0..MAX_SOURCES-1
EXP_NEVER = EXP_MASK
DC_NONE = DC_MASK

REASON_BY_STRENGTH = {reason.strength: reason for reason in Reason}
_TRIM_AFTER = 1 << 20  # a merge this large leaves enough freed memory to hand back


def expiry_code(policy: ExpirationPolicy, expires_at: date | None) -> int:
    """The packed expiry: larger is longer retention; RELATIVE wins a tie with ABSOLUTE."""
    if policy is ExpirationPolicy.NEVER or expires_at is None:
        return EXP_NEVER
    return expires_at.toordinal() * 2 + (1 if policy is ExpirationPolicy.RELATIVE else 0)


def pack(reason: Reason, expiry: int, collected: date | None, source_id: int) -> int:
    """One row's merge fields as a single int64."""
    dc = DC_NONE if collected is None else collected.toordinal()
    return (reason.strength << REASON_SHIFT) | (expiry << EXP_SHIFT) | (dc << DC_SHIFT) | source_id


def unpack(meta: int) -> tuple[Reason, ExpirationPolicy, date | None, date | None, int]:
    """Reason, policy, expires_at, date collected and source id of a packed value."""
    reason = REASON_BY_STRENGTH[meta >> REASON_SHIFT]
    expiry = (meta >> EXP_SHIFT) & EXP_MASK
    dc = (meta >> DC_SHIFT) & DC_MASK
    if expiry == EXP_NEVER:
        policy, expires_at = ExpirationPolicy.NEVER, None
    else:
        relative = expiry & 1
        policy = ExpirationPolicy.RELATIVE if relative else ExpirationPolicy.ABSOLUTE
        expires_at = date.fromordinal(expiry >> 1)
    collected = None if dc == DC_NONE else date.fromordinal(dc)
    return reason, policy, expires_at, collected, meta & SRC_MASK


_POW10 = np.array([10**power for power in range(20)], dtype=np.uint64)


def digit_counts(keys: Keys) -> npt.NDArray[np.int64]:
    """How many digits each key has (its E.164 length without the plus)."""
    return np.searchsorted(_POW10, keys, side="right").astype(np.int64)


def phone_order(keys: Keys) -> npt.NDArray[np.intp]:
    """The permutation that sorts keys as their E.164 strings sort ("+1..." < "+44...")."""
    lengths = digit_counts(keys)
    if keys.size and keys.max() < _POW10[17]:
        # Pad every number to 17 digits and break ties (trailing zeros) by length: one sort.
        padded = keys * _POW10[17 - lengths]
        return np.argsort(padded * np.uint64(32) + lengths.astype(np.uint64), kind="stable")
    padded = np.array([int(str(key).ljust(19, "0")) for key in keys.tolist()], np.uint64)
    return np.lexsort((lengths, padded))


Segments = list[tuple[Keys, Meta]]  # one sorted run of unique keys, in pieces


class MergeIndex:
    """Unique numbers with their merged metadata, built from batches in any order.

    Runs are kept as lists of segments (about SEGMENT numbers each), so merging two runs frees
    each input segment as soon as it is consumed: a merge needs little more memory than the
    numbers themselves, instead of a second copy of both runs.
    """

    SEGMENT = 1 << 18

    def __init__(self, source_rank: Callable[[], npt.NDArray[np.int64]]) -> None:
        # source_rank()[id] is the position of source id's name in sorted order: a tie between
        # equally strong reasons goes to the name that sorts first, whatever the row order.
        self._source_rank = source_rank
        self._runs: list[tuple[int, Segments]] = []  # (numbers in the run, its segments)
        self.rows = 0

    def add(self, keys: Keys, meta: Meta) -> None:
        """Add one batch of accepted rows."""
        if keys.size == 0:
            return
        self.rows += int(keys.size)
        order = np.argsort(keys, kind="stable")
        keys, meta = self._combine(keys[order], meta[order])
        self._runs.append((int(keys.size), [(keys, meta)]))
        while len(self._runs) > 1 and self._runs[-2][0] <= 2 * self._runs[-1][0]:
            self._merge_last_two()

    def finish(self) -> Segments:
        """All runs merged: unique keys in numeric order (in segments) and their metadata."""
        while len(self._runs) > 1:
            self._merge_last_two()
        return self._runs.pop()[1] if self._runs else []

    def _merge_last_two(self) -> None:
        newer = self._runs.pop()[1]
        older = self._runs.pop()[1]
        merged = self._merge(older, newer)
        del older, newer
        size = sum(int(keys.size) for keys, _ in merged)
        self._runs.append((size, merged))
        if size >= _TRIM_AFTER:
            release_free_memory()

    def _merge(self, older: Segments, newer: Segments) -> Segments:
        """Merge two runs a step at a time, dropping each input segment once it is used.

        A step takes up to a segment's worth from each run and ends at the smaller of the two
        last keys taken, so equal keys always meet in the same step.
        """
        out = _Segmenter(self.SEGMENT)
        first, second = deque(older), deque(newer)
        older.clear()
        newer.clear()
        at_first = at_second = 0
        while first and second:
            a_keys, a_meta = first[0]
            b_keys, b_meta = second[0]
            # At most a segment's worth from each side: pieces stay segment-sized.
            step = self.SEGMENT
            bound = min(
                a_keys[min(at_first + step, a_keys.size) - 1],
                b_keys[min(at_second + step, b_keys.size) - 1],
            )
            end_first = int(np.searchsorted(a_keys, bound, side="right"))
            end_second = int(np.searchsorted(b_keys, bound, side="right"))
            keys = np.concatenate((a_keys[at_first:end_first], b_keys[at_second:end_second]))
            meta = np.concatenate((a_meta[at_first:end_first], b_meta[at_second:end_second]))
            order = np.argsort(keys, kind="stable")  # two sorted runs: timsort merges them
            out.add(*self._combine(keys[order], meta[order]))
            at_first, at_second = end_first, end_second
            if at_first == a_keys.size:
                first.popleft()
                at_first = 0
            if at_second == b_keys.size:
                second.popleft()
                at_second = 0
        for rest, at in ((first, at_first), (second, at_second)):
            while rest:
                keys, meta = rest.popleft()
                if at:
                    keys, meta = keys[at:].copy(), meta[at:].copy()
                out.add(keys, meta)
                at = 0
        return out.finish()

    def _combine(self, keys: Keys, meta: Meta) -> tuple[Keys, Meta]:
        """Merge the rows of each number in sorted keys into one, most protectively.

        Only the rows of numbers seen more than once are gathered and reduced; the rest keep
        their place, so the extra memory follows the duplicates, not the run.
        """
        if keys.size < 2:
            return keys, meta
        same = keys[1:] == keys[:-1]
        if not same.any():
            return keys, meta
        in_group = np.zeros(keys.size, bool)  # every row of a number seen more than once
        in_group[:-1] = same
        in_group[1:] |= same
        members = np.flatnonzero(in_group)
        del same, in_group
        sub_keys, sub_meta = keys[members], meta[members]
        first = np.empty(sub_keys.size, dtype=bool)
        first[0] = True
        np.not_equal(sub_keys[1:], sub_keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        expiry = np.maximum.reduceat((sub_meta >> EXP_SHIFT) & EXP_MASK, starts)
        collected = np.minimum.reduceat((sub_meta >> DC_SHIFT) & DC_MASK, starts)
        rank = self._source_rank()
        by_rank = np.empty_like(rank)
        by_rank[rank] = np.arange(rank.size, dtype=np.int64)
        score = ((sub_meta >> REASON_SHIFT) << SRC_BITS) | (SRC_MASK - rank[sub_meta & SRC_MASK])
        best = np.maximum.reduceat(score, starts)
        source = by_rank[SRC_MASK - (best & SRC_MASK)]
        merged = (
            ((best >> SRC_BITS) << REASON_SHIFT)
            | (expiry << EXP_SHIFT)
            | (collected << DC_SHIFT)
            | source
        )
        keep = np.ones(keys.size, bool)
        keep[members] = False
        keep[members[starts]] = True
        meta[members[starts]] = merged  # meta is always a fresh array here
        return keys[keep], meta[keep]


class _Segmenter:
    """Collects merged pieces into segments of about `size` numbers (small pieces joined)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pending: Segments = []
        self._pending_size = 0
        self._done: Segments = []

    def add(self, keys: Keys, meta: Meta) -> None:
        """Take a sorted piece that follows the ones before (fresh arrays, not views)."""
        if keys.size == 0:
            return
        if keys.size >= self._size // 2:
            self._flush()
            self._done.append((keys, meta))
            return
        self._pending.append((keys, meta))
        self._pending_size += int(keys.size)
        if self._pending_size >= self._size:
            self._flush()

    def _flush(self) -> None:
        if len(self._pending) == 1:
            self._done.append(self._pending[0])
        elif self._pending:
            self._done.append(
                (
                    np.concatenate([keys for keys, _ in self._pending]),
                    np.concatenate([meta for _, meta in self._pending]),
                )
            )
        self._pending = []
        self._pending_size = 0

    def finish(self) -> Segments:
        self._flush()
        return self._done


def e164_chunks(segments: Segments, size: int = 262_144) -> Iterator[tuple[Keys, Meta]]:
    """Numerically sorted unique keys (and their meta) in E.164 string order, a chunk at a time.

    Numeric order groups keys by digit count; within a group it is string order. Across groups
    strings compare as their digits padded right with zeros to 19 places, the shorter first on
    a tie, so the groups are merged chunk by chunk at boundaries taken from every group, and
    only a chunk is ever re-sorted (no argsort of the whole index, no copy of it).
    """
    groups = []
    for keys, meta in segments:
        bounds = np.searchsorted(keys, _POW10)
        groups += [
            (keys[bounds[n - 1] : bounds[n]], meta[bounds[n - 1] : bounds[n]], n)
            for n in range(1, 20)
            if bounds[n] > bounds[n - 1]
        ]
    if len(groups) <= 1:
        for keys, meta in segments:
            for start in range(0, keys.size, size):
                yield keys[start : start + size], meta[start : start + size]
        return
    marks = np.unique(np.concatenate([k[::size] * _POW10[19 - n] for k, _, n in groups]))
    cursor = [0] * len(groups)
    for bound in [*marks[1:].tolist(), None]:
        parts_keys, parts_meta, parts_len = [], [], []
        for index, (group_keys, group_meta, digits) in enumerate(groups):
            if bound is None:
                stop = group_keys.size
            else:
                scale = 10 ** (19 - digits)  # keys below ceil(bound / scale) pad below bound
                stop = int(np.searchsorted(group_keys, np.uint64((bound + scale - 1) // scale)))
            parts_keys.append(group_keys[cursor[index] : stop])
            parts_meta.append(group_meta[cursor[index] : stop])
            parts_len.append(np.full(stop - cursor[index], digits, np.int64))
            cursor[index] = stop
        chunk_keys = np.concatenate(parts_keys)
        if not chunk_keys.size:
            continue
        lengths = np.concatenate(parts_len)
        order = np.lexsort((lengths, chunk_keys * _POW10[19 - lengths]))
        yield chunk_keys[order], np.concatenate(parts_meta)[order]
