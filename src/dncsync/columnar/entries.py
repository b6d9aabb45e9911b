"""The merged entries as columns: a `Sequence[Entry]` that makes each `Entry` when it is read.

A run plans millions of numbers per target. As `Entry` objects (with their phone strings)
two million entries take about 280 MB; as the ingest's columns, the E.164 digits and the
packed metadata, 32 MB. Everything that reads entries one by one still gets `Entry` objects
(made on the fly, the dates shared among entries); the planner and the report read the columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import overload

import numpy as np
import numpy.typing as npt

from dncsync.columnar.index import (
    DC_MASK,
    DC_NONE,
    DC_SHIFT,
    EXP_MASK,
    EXP_NEVER,
    EXP_SHIFT,
    Keys,
    Meta,
    unpack,
)
from dncsync.model import Entry, ExpirationPolicy, Reason

_CHUNK = 65_536
Fields = tuple[Reason, ExpirationPolicy, date | None, date | None, str]


class EntryColumns(Sequence[Entry]):
    """Entries sorted by phone as E.164 strings sort, one per number, read-only."""

    __slots__ = ("_fields", "_keys", "_meta", "_names")

    def __init__(self, keys: Keys, meta: Meta, names: Sequence[str]) -> None:
        self._keys, self._meta, self._names = keys, meta, names
        # Exports repeat a few (reason, dates, source) combinations: each is unpacked once
        # and its date objects shared by every entry that has it.
        self._fields: dict[int, Fields] = {}

    @property
    def keys(self) -> Keys:
        """The E.164 digits of each entry, in the entries' order (E.164 string order)."""
        return self._keys

    def expiry_ordinals(self) -> npt.NDArray[np.int64]:
        """Each entry's last day of retention as a date ordinal; 0 where it never ends."""
        expiry = (self._meta >> EXP_SHIFT) & EXP_MASK
        return np.where(expiry == EXP_NEVER, 0, expiry >> 1)

    def floating(self) -> npt.NDArray[np.bool_]:
        """Entries whose RELATIVE retention has no date collected to count from."""
        expiry = (self._meta >> EXP_SHIFT) & EXP_MASK
        undated = ((self._meta >> DC_SHIFT) & DC_MASK) == DC_NONE
        floating: npt.NDArray[np.bool_] = undated & (expiry != EXP_NEVER) & ((expiry & 1) == 1)
        return floating

    def _entry(self, key: int, packed: int) -> Entry:
        fields = self._fields.get(packed)
        if fields is None:
            reason, policy, expires_at, collected, source = unpack(packed)
            fields = self._fields[packed] = (
                reason, policy, expires_at, collected, self._names[source]
            )  # fmt: skip
        return Entry(f"+{key}", *fields)

    def __len__(self) -> int:
        return int(self._keys.size)

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | Sequence[Entry]:
        if isinstance(index, slice):
            return [self._entry(k, m) for k, m in self._pairs(self._keys[index], self._meta[index])]
        return self._entry(int(self._keys[index]), int(self._meta[index]))

    def __iter__(self) -> Iterator[Entry]:
        for key, packed in self._pairs(self._keys, self._meta):
            yield self._entry(key, packed)

    @staticmethod
    def _pairs(keys: Keys, meta: Meta) -> Iterator[tuple[int, int]]:
        for start in range(0, keys.size, _CHUNK):
            yield from zip(
                keys[start : start + _CHUNK].tolist(),
                meta[start : start + _CHUNK].tolist(),
                strict=True,
            )

    def __repr__(self) -> str:
        return f"EntryColumns({len(self)} entries)"


__all__ = ["EntryColumns"]
