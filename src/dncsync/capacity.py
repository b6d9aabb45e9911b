"""Capacity: which numbers a target holds when it cannot hold them all, and on which list.

Pure, like the planner. A platform's list holds a bounded count of numbers (Genesys about
1,000,000 a list and 2,000,000 an org; CXone 1,000,000 a tenant). When the numbers to hold
exceed what a target can hold, the most important are kept:

1. requests made by the person (LITIGATOR, CUSTOMER_REQUESTED) before registry rows
   (NATIONAL, STATE, LOCAL), then COMPANY_POLICY, then UNKNOWN: a new opt-out, which the FCC
   gives 10 business days, is never left out for an old registry row, which the dialer's
   list scrub can still remove;
2. within each, the stronger reason (DOMAIN.md's order);
3. then the most recently collected (rows without a date last).

A target may spread its numbers over several lists (or groups). Each number goes to the list
that ranks highest for it by rendezvous hashing, so adding a list moves only the numbers the
new list takes; a list that is full passes a number to its next-ranked list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dncsync.model import Entry, Reason

# Requests made by the person come first; registries after; then the rest.
_GROUP = {
    Reason.LITIGATOR: 0,
    Reason.CUSTOMER_REQUESTED: 0,
    Reason.NATIONAL: 1,
    Reason.STATE: 1,
    Reason.LOCAL: 1,
    Reason.COMPANY_POLICY: 2,
    Reason.UNKNOWN: 3,
}


def priority(entry: Entry) -> tuple[int, int, int]:
    """Sorts the most important entry first (see the module docstring)."""
    collected = entry.date_collected.toordinal() if entry.date_collected else 0
    return (_GROUP.get(entry.reason, 3), -entry.reason.strength, -collected)


@dataclass(frozen=True, slots=True)
class Fit:
    """The entries a target can hold, and those left out for want of room."""

    capacity: int
    to_hold: int  # entries + numbers the lists keep whatever the sources say
    kept: list[Entry]  # empty when asked not to keep them and all fit (see `fit`)
    left_out: list[Entry]

    @property
    def over(self) -> bool:
        """True when some entries do not fit."""
        return bool(self.left_out)


def fit(entries: Iterable[Entry], capacity: int, taken: int, *, keep: bool = True) -> Fit:
    """Keep the most important entries in what `capacity` leaves after `taken` (numbers the
    lists hold that no plan removes: someone else's, and an upsert target's retained ones).

    With `keep=False` and room for every entry, `kept` is left empty: a target with one list
    needs only to know that all fit, and millions of entries are not copied into a list.
    `entries` is read once to count it and, when not all fit, once more to rank it.
    """
    room = max(capacity - taken, 0)
    count = len(entries) if isinstance(entries, Sequence) else sum(1 for _ in entries)
    to_hold = count + taken
    if count <= room:
        return Fit(capacity, to_hold, list(entries) if keep else [], [])
    ranked = sorted(entries, key=priority)
    return Fit(capacity, to_hold, ranked[:room], ranked[room:])


def spread(phones: Iterable[str], lists: Sequence[str], per_list: int) -> dict[str, str]:
    """Each phone's list by rendezvous hashing, bounded at `per_list` numbers a list.

    Phones come most important first, so when lists fill up, the later ones are passed on.
    """
    ordered = list(phones)
    if len(lists) == 1:
        return dict.fromkeys(ordered, lists[0])
    if not ordered:
        return {}
    numbers = np.fromiter(
        (int(p.lstrip("+")) for p in ordered), dtype=np.uint64, count=len(ordered)
    )
    scores = np.stack([_mix(numbers ^ _salt(name)) for name in lists], axis=1)
    ranking = np.argsort(scores, axis=1, kind="stable")[:, ::-1]  # the highest score first
    first = ranking[:, 0]
    if int(np.bincount(first, minlength=len(lists)).max()) <= per_list:
        return {phone: lists[choice] for phone, choice in zip(ordered, first.tolist(), strict=True)}
    load = [0] * len(lists)
    chosen: dict[str, str] = {}
    for index, phone in enumerate(ordered):
        for choice in ranking[index]:
            if load[choice] < per_list:
                load[choice] += 1
                chosen[phone] = lists[choice]
                break
    return chosen


def _salt(name: str) -> np.uint64:
    value = 0xCBF29CE484222325  # FNV-1a over the list's identity: a stable salt per list
    for byte in name.encode():
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(value)


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finalizer: every input bit moves every output bit."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


__all__ = ["Fit", "fit", "priority", "spread"]
