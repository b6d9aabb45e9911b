"""The plan: what one target must be sent so that it holds exactly the desired entries.

Pure: `plan()` takes the merged entries, the target's snapshot (what dncsync knows the platform
holds, from the state store) and today's date, and returns adds, updates, removes and expiries.
No I/O and no clock, so the rules below are tested by calling them.

Rules (DOMAIN.md principles 4 to 6):
- An entry the snapshot lacks is an *add*; one whose retention end changed is an *update*
  (re-adding replaces the platform's expiration on both platforms).
- An entry whose retention already ended is counted as *expired* and never pushed.
- With `expire_after_retention`, a held number whose retention ended is an *expiry*: removed.
- In mirror mode, a held number that no source has is a *remove*, if dncsync put it there.
- A held number that no source has and that dncsync did not put there (an agent's
  disposition, an IVR, what the list held when dncsync first read it) is *foreign*: someone's
  opt-out, kept in every mode and only counted, unless the target says `remove_foreign`.
- Removes and expiries count toward the removal cap; mirror mode with no entries at all is
  refused outright, since an empty or truncated source must never empty a list.
- Retention longer than the platform allows (Genesys: 180 days) is pushed without a platform
  expiration; dncsync ends it itself when configured to.
"""

from __future__ import annotations

import dataclasses
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt

from dncsync.columnar.entries import EntryColumns
from dncsync.model import Entry
from dncsync.snapshot import Held, HeldColumns

Action = Literal["add", "remove"]
_T = TypeVar("_T")


class Mode(StrEnum):
    """How a target treats numbers that no source has."""

    UPSERT = "upsert"  # never removes
    MIRROR = "mirror"  # removes numbers no source has, under the removal cap


@dataclass(frozen=True, slots=True)
class Write:
    """One number to add (or re-add) with the expiration the platform is given."""

    phone: str
    retention_end: date | None
    platform_expires: date | None


class Writes(Sequence[Write]):
    """A plan's adds or updates as positions among its entries: each `Write` is made when it
    is read, so a plan of two million adds holds 16 MB of positions, not 2 million objects."""

    __slots__ = ("_at", "_entries", "_max_days", "_today")

    def __init__(
        self, entries: Sequence[Entry], at: array[int], today: date, max_days: int | None
    ) -> None:
        self._entries, self._at, self._today, self._max_days = entries, at, today, max_days

    def _write(self, position: int) -> Write:
        entry = self._entries[position]
        expires = platform_expiry(entry.expires_at, self._today, self._max_days)
        return Write(entry.phone, entry.expires_at, expires)

    def __len__(self) -> int:
        return len(self._at)

    @overload
    def __getitem__(self, index: int) -> Write: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Write]: ...
    def __getitem__(self, index: int | slice) -> Write | Sequence[Write]:
        if isinstance(index, slice):
            return [self._write(position) for position in self._at[index]]
        return self._write(self._at[index])

    def __iter__(self) -> Iterator[Write]:
        return map(self._write, self._at)

    def keys(self) -> npt.NDArray[np.uint64] | None:
        """The E.164 digits of the numbers written, when the entries are columns."""
        if not isinstance(self._entries, EntryColumns):
            return None
        return (
            self._entries.keys[np.frombuffer(self._at, dtype=np.int64)]
            if self._at
            else (np.empty(0, np.uint64))
        )


@dataclass(frozen=True, slots=True)
class TargetRules:
    """What the planner needs to know of a target."""

    mode: Mode = Mode.UPSERT
    max_expiry_days: int | None = None  # the platform's cap on an expiration, if any
    expire_after_retention: bool = False
    remove_foreign: bool = False  # mirror and expiry may take foreign numbers off too
    # Numbers of objects that vanished from an additive source of many objects: no mirror
    # removes them (their retention ending still may, with expire_after_retention).
    kept: frozenset[str] = frozenset()


@dataclass(slots=True)
class Plan:
    """The difference for one target, in a stable order (sorted by phone)."""

    adds: Sequence[Write] = field(default_factory=list)
    updates: Sequence[Write] = field(default_factory=list)
    removes: Sequence[str] = field(default_factory=list)  # mirror: numbers no source has
    expiries: Sequence[str] = field(default_factory=list)  # retention ended, removal configured
    expired: int = 0  # desired entries whose retention ended before today: not pushed
    held_before: int = 0  # numbers the snapshot held before the run
    unchanged: int = 0
    foreign: int = 0  # held, no source has them, dncsync did not add them: kept
    retained: int = 0  # upsert: held, ours, no source has them any more: kept

    @property
    def removals(self) -> int:
        """Numbers this plan takes off the platform: what the removal cap limits."""
        return len(self.removes) + len(self.expiries)

    @property
    def writes(self) -> int:
        """Numbers to send, in any direction."""
        return len(self.adds) + len(self.updates) + self.removals

    def removal_fraction(self) -> float:
        """Removals as a fraction of what the target held before the run."""
        if self.held_before == 0:
            return 0.0 if self.removals == 0 else 1.0
        return self.removals / self.held_before


class Sampled(Sequence[_T]):
    """A long list's length and its first few items: what a plan keeps once pushed.

    A run's outcome outlives its push (the summary and the report are built from it at the
    run's end); keeping two million planned writes per target to show five of them is what
    made a large sync hold gigabytes. Reading past the sample is an error, never a silent
    short list.
    """

    __slots__ = ("_head", "_length")

    def __init__(self, items: Sequence[_T], keep: int) -> None:
        self._head = tuple(items[:keep])
        self._length = len(items)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[_T]: ...
    def __getitem__(self, index: int | slice) -> _T | Sequence[_T]:
        if isinstance(index, slice):
            wanted = range(*index.indices(self._length))
            if wanted and max(wanted) >= len(self._head):
                raise LookupError(self._gone())
            return self._head[index]
        at = index + self._length if index < 0 else index
        if not 0 <= at < self._length:
            raise IndexError(index)
        if at >= len(self._head):
            raise LookupError(self._gone())
        return self._head[at]

    def _gone(self) -> str:
        return f"only the first {len(self._head)} of {self._length} are kept"

    def __iter__(self) -> Iterator[_T]:
        if len(self._head) < self._length:
            raise LookupError(self._gone())
        return iter(self._head)


def settled(result: Plan, keep: int) -> Plan:
    """The plan as a run keeps it once pushed: its counts and the first `keep` of each action."""
    return dataclasses.replace(
        result,
        adds=Sampled(result.adds, keep),
        updates=Sampled(result.updates, keep),
        removes=Sampled(result.removes, keep),
        expiries=Sampled(result.expiries, keep),
    )


def platform_expiry(retention_end: date | None, today: date, max_days: int | None) -> date | None:
    """The last day the platform is told to hold a number: None when it must not expire it.

    A retention that ends beyond the platform's cap gets no platform expiration at all,
    rather than a shortened one that would let the platform drop a number still protected.
    """
    if retention_end is None:
        return None
    if max_days is not None and retention_end + timedelta(days=1) > today + timedelta(
        days=max_days
    ):
        return None
    return retention_end


def plan(
    entries: Iterable[Entry],
    snapshot: Mapping[str, Held],
    today: date,
    rules: TargetRules,
) -> Plan:
    """Compare desired entries with the snapshot: the writes that make the platform match."""
    result = Plan(held_before=len(snapshot))
    adds: array[int] = array("q")
    updates: array[int] = array("q")
    removes: list[str] = []
    expiries: list[str] = []
    desired = entries if isinstance(entries, Sequence) else list(entries)
    matched = 0  # held numbers some entry has
    for position, (entry, held) in enumerate(
        zip(desired, _held_for(desired, snapshot), strict=True)
    ):
        matched += held is not None
        if entry.expired(today):
            result.expired += 1
            if held is not None and rules.expire_after_retention and _removable(held, rules):
                expiries.append(entry.phone)
            continue
        if held is None:
            adds.append(position)
        elif held.retention_end != entry.expires_at:
            updates.append(position)
        else:
            result.unchanged += 1
    for phone, held in _unmatched(desired, snapshot, matched):
        if not _removable(held, rules):
            result.foreign += 1
        elif rules.mode is Mode.MIRROR and phone not in rules.kept:
            removes.append(phone)
        elif (
            rules.expire_after_retention
            and held.retention_end is not None
            and held.retention_end < today
        ):
            expiries.append(phone)
        else:
            result.retained += 1
    result.adds = Writes(desired, _by_phone(desired, adds), today, rules.max_expiry_days)
    result.updates = Writes(desired, _by_phone(desired, updates), today, rules.max_expiry_days)
    result.removes = sorted(removes)
    result.expiries = sorted(expiries)
    return result


def _by_phone(entries: Sequence[Entry], positions: array[int]) -> array[int]:
    """Positions ordered by their entry's phone (already so for columns, sorted by phone)."""
    if isinstance(entries, EntryColumns):
        return positions
    return array("q", sorted(positions, key=lambda position: entries[position].phone))


def _held_for(entries: Sequence[Entry], snapshot: Mapping[str, Held]) -> Iterable[Held | None]:
    """What the snapshot holds for each entry, in order; matched column by column when both
    are columns (a binary search per number would cost seconds at millions)."""
    if isinstance(entries, EntryColumns) and isinstance(snapshot, HeldColumns):
        return snapshot.held_at(entries.keys)
    return (snapshot.get(entry.phone) for entry in entries)


def kept_regardless(
    entries: Sequence[Entry], snapshot: Mapping[str, Held], today: date, rules: TargetRules
) -> int:
    """Held numbers no entry has that stay on the list (foreign, or an upsert's retained):
    `plan(...).foreign + plan(...).retained`, without building the plan's writes."""
    matched = sum(held is not None for held in _held_for(entries, snapshot)) if snapshot else 0
    return sum(
        1
        for phone, held in _unmatched(entries, snapshot, matched)
        if not _removable(held, rules)
        or (
            (rules.mode is Mode.UPSERT or phone in rules.kept)
            and not (
                rules.expire_after_retention
                and held.retention_end is not None
                and held.retention_end < today
            )
        )
    )


def _unmatched(
    entries: Sequence[Entry], snapshot: Mapping[str, Held], matched: int
) -> Iterator[tuple[str, Held]]:
    """The held numbers no entry has. When every held number was matched there are none, and
    no set of the entries' numbers is built (at millions of numbers, the set is the cost)."""
    if matched >= len(snapshot):
        return
    if isinstance(entries, EntryColumns) and isinstance(snapshot, HeldColumns):
        yield from snapshot.not_among(np.sort(entries.keys))
        return
    seen = {e.phone for e in entries if e.phone in snapshot}
    for phone, held in snapshot.items():
        if phone not in seen:
            yield phone, held


def _removable(held: Held, rules: TargetRules) -> bool:
    """Only numbers dncsync put there leave the list, unless the target says otherwise."""
    return held.ours or rules.remove_foreign


@dataclass(frozen=True, slots=True)
class Batch:
    """One request's worth of numbers: one action, one platform expiration."""

    action: Action
    phones: tuple[str, ...]
    expires: date | None  # last day held on the platform; None = no expiration
    retention_ends: tuple[date | None, ...] = ()  # per phone, for the snapshot (adds only)
    # Per phone, for platforms that take an expiration per record (CXone); empty when the
    # whole batch shares `expires` (Genesys: one expiration per request).
    expires_each: tuple[date | None, ...] = ()

    def platform_expiry_of(self, index: int) -> date | None:
        """The platform expiration sent for the phone at `index`."""
        return self.expires_each[index] if self.expires_each else self.expires

    @property
    def key(self) -> str:
        """A digest of the batch's content: the journal's identity for it."""
        digest = hashlib.sha256()
        digest.update(f"{self.action}|{self.expires}|".encode())
        for index, phone in enumerate(self.phones):
            digest.update(f"{phone}:{self.platform_expiry_of(index)},".encode())
        return digest.hexdigest()[:32]


# The JSON framing of one number in a request body: the quotes, the comma and some slack for
# the widest form any platform sends (CXone wraps each number in a small object).
_PER_NUMBER_FRAMING = 48
_BODY_FRAMING = 256


def batches(
    result: Plan,
    batch_size: int,
    max_body_bytes: int | None = None,
    *,
    expiry_per_record: bool = False,
) -> Iterator[Batch]:
    """Cut a plan into batches bounded in count and size.

    Adds are grouped by platform expiration when the platform takes one per request
    (Genesys); with `expiry_per_record` (CXone) each number carries its own, so batches
    stay full however varied the expirations are.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if expiry_per_record:
        writes = sorted((*result.adds, *result.updates), key=_write_phone)
        for chunk in _chunks(writes, batch_size, max_body_bytes, _write_phone):
            yield Batch(
                "add",
                tuple(w.phone for w in chunk),
                None,
                tuple(w.retention_end for w in chunk),
                tuple(w.platform_expires for w in chunk),
            )
    writes_by_expiry: dict[date | None, list[Write]] = {}
    for write in () if expiry_per_record else (*result.adds, *result.updates):
        writes_by_expiry.setdefault(write.platform_expires, []).append(write)
    for expires in sorted(writes_by_expiry, key=_none_last):
        group = writes_by_expiry[expires]
        for chunk in _chunks(group, batch_size, max_body_bytes, _write_phone):
            yield Batch(
                "add",
                tuple(w.phone for w in chunk),
                expires,
                tuple(w.retention_end for w in chunk),
            )
    for chunk_phones in _chunks(
        [*result.removes, *result.expiries], batch_size, max_body_bytes, str
    ):
        yield Batch("remove", tuple(sorted(chunk_phones)), None)


def write_keys(writes: Sequence[Write]) -> npt.NDArray[np.uint64] | None:
    """The E.164 digits of a plan's writes when the plan holds them as columns, else None."""
    return writes.keys() if isinstance(writes, Writes) else None


def _write_phone(write: Write) -> str:
    return write.phone


def _none_last(value: date | None) -> tuple[bool, date]:
    return (value is None, value or date.min)


def _chunks(
    items: Sequence[_T], size: int, max_bytes: int | None, phone_of: Callable[[_T], str]
) -> Iterator[list[_T]]:
    chunk: list[_T] = []
    body = _BODY_FRAMING
    for item in items:
        phone = phone_of(item)
        cost = len(phone) + _PER_NUMBER_FRAMING
        if chunk and (len(chunk) >= size or (max_bytes is not None and body + cost > max_bytes)):
            yield chunk
            chunk, body = [], _BODY_FRAMING
        chunk.append(item)
        body += cost
    if chunk:
        yield chunk
