"""A list's snapshot: what dncsync knows the platform holds, one `Held` per number.

At millions of numbers a `dict[str, Held]` costs about 110 bytes a number (the phone string
and the dict's slot); `HeldColumns` keeps the same mapping in 12 bytes a number: the E.164
digits as a sorted uint64 column and, per number, the position of its `Held` in a table of
the few distinct values a list holds (a list's numbers share a handful of expirations).
Looking one number up is a binary search; the planner matches a whole column at once.
"""

from __future__ import annotations

from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import overload

import numpy as np
import numpy.typing as npt

from dncsync.columnar.index import phone_order

Keys = npt.NDArray[np.uint64]

# E.164 numbers have at most 15 digits; 19 still fit a uint64. A key never starts with 0
# (no country code does), so "+{key}" gives the phone back exactly.
_MAX_KEY_DIGITS = 19


@dataclass(frozen=True, slots=True)
class Held:
    """What the snapshot records for one number the platform holds."""

    retention_end: date | None  # our retention's last day; None = never ends
    platform_expires: date | None  # the last day the platform holds it; None = no expiration
    ours: bool = True  # dncsync put it there (an acknowledged add); else found on the platform


def phone_key(phone: str) -> int | None:
    """The E.164 digits of `phone` as an integer, when the string is exactly "+digits"."""
    digits = phone[1:]
    if (
        phone[:1] != "+"
        or not digits.isdigit()
        or not digits.isascii()
        or digits[:1] == "0"
        or len(digits) > _MAX_KEY_DIGITS
    ):
        return None
    return int(digits)


def _phones(keys: Keys) -> Iterator[str]:
    """Keys as E.164 strings, in their order, a chunk at a time (no list of millions)."""
    for start in range(0, keys.size, 65_536):
        yield from (f"+{key}" for key in keys[start : start + 65_536].tolist())


class HeldColumns(Mapping[str, Held]):
    """A snapshot as columns; a read-only `Mapping[str, Held]` to everything that reads it.

    A phone that is not plain E.164 digits (never written by dncsync itself, but a state file
    may hold one) is kept in a small dict beside the columns, so nothing is dropped.
    """

    __slots__ = ("_codes", "_extra", "_keys", "_table")

    def __init__(
        self,
        keys: Keys,
        codes: npt.NDArray[np.uint32],
        table: list[Held],
        extra: dict[str, Held] | None = None,
    ) -> None:
        self._keys, self._codes, self._table = keys, codes, table
        self._extra = extra or {}

    @classmethod
    def of(cls, items: Iterable[tuple[str, Held]]) -> HeldColumns:
        """Build from (phone, held) pairs in any order; a later pair for a phone wins."""
        keys: array[int] = array("Q")
        codes: array[int] = array("I")  # 4 bytes, read as uint32
        table: list[Held] = []
        index: dict[Held, int] = {}
        extra: dict[str, Held] = {}
        for phone, held in items:
            key = phone_key(phone)
            if key is None:
                extra[phone] = held
                continue
            code = index.get(held)
            if code is None:
                code = index[held] = len(table)
                table.append(held)
            keys.append(key)
            codes.append(code)
        key_column = np.frombuffer(keys, dtype=np.uint64) if keys else np.empty(0, np.uint64)
        code_column = np.frombuffer(codes, dtype=np.uint32) if codes else np.empty(0, np.uint32)
        order = np.argsort(key_column, kind="stable")
        key_column, code_column = key_column[order], code_column[order]
        if key_column.size > 1 and not bool(np.all(key_column[1:] != key_column[:-1])):
            # The last pair for a phone wins, as dict(items) would have it.
            last = np.append(key_column[1:] != key_column[:-1], True)
            key_column, code_column = key_column[last], code_column[last]
        return cls(key_column, code_column, table, extra)

    def held_at(self, keys: Keys) -> Iterator[Held | None]:
        """What is held for each of `keys` (any order), None where nothing is."""
        if self._keys.size == 0:
            yield from (None for _ in range(keys.size))
            return
        table = self._table
        for start in range(0, keys.size, 65_536):
            part = keys[start : start + 65_536]
            where = np.minimum(np.searchsorted(self._keys, part), self._keys.size - 1)
            found = self._keys[where] == part
            codes = np.where(found, self._codes[where].astype(np.int64), -1)
            for code in codes.tolist():
                yield None if code < 0 else table[code]

    def not_among(self, keys: Keys) -> Iterator[tuple[str, Held]]:
        """The held numbers whose key is not among `keys` (distinct), with the plain numbers
        first in numeric order, then any other phone held."""
        missing = ~np.isin(self._keys, keys, assume_unique=True)
        table = self._table
        for key, code in zip(
            self._keys[missing].tolist(), self._codes[missing].tolist(), strict=True
        ):
            yield f"+{key}", table[code]
        yield from self._extra.items()

    def __getitem__(self, phone: str) -> Held:
        key = phone_key(phone)
        if key is None:
            return self._extra[phone]
        where = int(np.searchsorted(self._keys, np.uint64(key)))
        if where < self._keys.size and int(self._keys[where]) == key:
            return self._table[int(self._codes[where])]
        raise KeyError(phone)

    def __contains__(self, phone: object) -> bool:
        if not isinstance(phone, str):
            return False
        try:
            self[phone]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        yield from _phones(self._keys)
        yield from self._extra

    def items(self) -> ItemsView[str, Held]:
        """Every (phone, held), without a lookup per phone."""
        return _Items(self)

    def pairs(self) -> Iterator[tuple[str, Held]]:
        """Every (phone, held): the plain numbers in numeric order, then any other."""
        table = self._table
        for start in range(0, self._keys.size, 65_536):
            keys = self._keys[start : start + 65_536].tolist()
            codes = self._codes[start : start + 65_536].tolist()
            for key, code in zip(keys, codes, strict=True):
                yield f"+{key}", table[code]
        yield from self._extra.items()

    def __len__(self) -> int:
        return int(self._keys.size) + len(self._extra)

    def __repr__(self) -> str:
        return f"HeldColumns({len(self)} numbers)"


class Phones(Sequence[str]):
    """Phone numbers sorted as strings sort, kept as their E.164 digits (8 bytes a number,
    not 60): a first read of an empty list finds millions of numbers missing."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Keys) -> None:
        self._keys = keys  # in E.164 string order

    def __len__(self) -> int:
        return int(self._keys.size)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return tuple(f"+{key}" for key in self._keys[index].tolist())
        return f"+{int(self._keys[index])}"

    def __iter__(self) -> Iterator[str]:
        return _phones(self._keys)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Phones({len(self)} numbers)"


class PhoneCollector:
    """Phones gathered one by one into `Phones`, without a string kept for each."""

    __slots__ = ("_keys", "_others")

    def __init__(self) -> None:
        self._keys: array[int] = array("Q")
        self._others: list[str] = []

    def append(self, phone: str) -> None:
        key = phone_key(phone)
        if key is None:
            self._others.append(phone)
        else:
            self._keys.append(key)

    def sorted(self) -> Sequence[str]:
        """The phones gathered, sorted as strings: as `Phones`, or as strings when some
        phone is not plain E.164 digits."""
        if self._others:
            return tuple(sorted([*(f"+{key}" for key in self._keys), *self._others]))
        keys = self._keys
        column = np.frombuffer(keys, dtype=np.uint64) if keys else np.empty(0, np.uint64)
        return Phones(column[phone_order(column)])


class _Items(ItemsView[str, Held]):
    """`HeldColumns.items()`: read column by column, not looked up phone by phone."""

    _mapping: HeldColumns

    def __iter__(self) -> Iterator[tuple[str, Held]]:
        return self._mapping.pairs()


__all__ = ["Held", "HeldColumns", "PhoneCollector", "Phones", "phone_key"]
