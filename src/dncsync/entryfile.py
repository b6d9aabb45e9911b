"""The accepted entries as CSV: the file `validate --output` writes and reads back unchanged."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dncsync.columnar import kernels
from dncsync.columnar.arrow import string_bytes
from dncsync.columnar.index import (
    DC_MASK,
    DC_NONE,
    DC_SHIFT,
    EXP_MASK,
    EXP_NEVER,
    EXP_SHIFT,
    REASON_SHIFT,
    SRC_MASK,
    Keys,
    Meta,
    unpack,
)
from dncsync.files import open_private, spreadsheet_safe, writing
from dncsync.model import Entry, ExpirationPolicy, Reason

NEVER, RELATIVE, ABSOLUTE = (
    ExpirationPolicy.NEVER,
    ExpirationPolicy.RELATIVE,
    ExpirationPolicy.ABSOLUTE,
)
Mask = npt.NDArray[np.bool_]

ENTRY_HEADER = (
    "phone_number",
    "reason",
    "expiration_policy",
    "expires_at",
    "date_collected",
    "source",
)


def entry_row(entry: Entry) -> tuple[str, str, str, str, str, str]:
    """One entry as the file's fields (E.164, ISO 8601 dates, empty for none)."""
    return (
        entry.phone,
        entry.reason.value,
        entry.expiration_policy.value,
        entry.expires_at.isoformat() if entry.expires_at else "",
        entry.date_collected.isoformat() if entry.date_collected else "",
        spreadsheet_safe(entry.source),
    )


def write_columns(chunks: Iterable[tuple[Keys, Meta]], source_names: list[str], path: str) -> int:
    """Write merged index columns (chunks in E.164 order) as the entries file; returns how many.

    Each line is joined from columns with pyarrow's string kernels and the joined buffer is
    written as it is: reasons, policies, dates and sources have few distinct values, so each
    is formatted once and spread with `take`. Chunks keep the memory flat.
    """
    safe_names = [spreadsheet_safe(name) for name in source_names]
    if any(any(ch in name for ch in ',"\r\n') for name in safe_names):
        # A source name that needs CSV quoting: the row-by-row writer quotes exactly as needed.
        return write_entries(_entries(chunks, source_names), path)
    reasons = [""] * 8
    for reason in Reason:
        reasons[reason.strength] = reason.value
    policies = [p.value for p in (NEVER, RELATIVE, ABSOLUTE)]
    names = pa.array([name + "\n" for name in safe_names], pa.string())
    dates = _IsoDates()
    count = 0
    compiled = kernels.compiled()
    texts = tuple(tuple(text.encode() for text in group) for group in (reasons, policies))
    sources = tuple(name.encode() for name in safe_names)
    with writing(path), open_private(path) as handle:
        handle.write(",".join(ENTRY_HEADER) + "\n")
        handle.flush()
        for keys, meta in chunks:
            if compiled is not None:  # the same lines, formatted in one compiled pass
                handle.buffer.write(compiled.entry_lines(keys, meta, *texts, sources))
                count += int(keys.size)
                continue
            expiry = (meta >> EXP_SHIFT) & EXP_MASK
            never = expiry == EXP_NEVER
            policy = np.where(never, 0, np.where(expiry & 1, 1, 2))
            collected = (meta >> DC_SHIFT) & DC_MASK
            line = pc.binary_join_element_wise(
                pc.binary_join_element_wise("+", pc.cast(pa.array(keys), pa.string()), ""),
                _spread(reasons, meta >> REASON_SHIFT),
                _spread(policies, policy),
                dates(expiry >> 1, never),
                dates(collected, collected == DC_NONE),
                names.take(pa.array(meta & SRC_MASK)),
                ",",
            )
            handle.buffer.write(string_bytes(line))
            count += int(keys.size)
    return count


def _spread(texts: list[str], codes: npt.NDArray[np.int64]) -> pa.StringArray:
    return pa.array(texts, pa.string()).take(pa.array(codes))


class _IsoDates:
    """ISO 8601 texts of day ordinals, formatted once per day over the range seen so far."""

    _EPOCH = date(1970, 1, 1).toordinal()

    def __init__(self) -> None:
        self._low = self._high = 0
        self._texts = pa.array([""], pa.string())  # slot 0: no date

    def __call__(self, ordinals: npt.NDArray[np.int64], missing: Mask) -> pa.StringArray:
        """The dates as text, "" where missing."""
        present = ordinals[~missing]
        if not present.size:
            return pa.array([""] * ordinals.size, pa.string())
        low, high = int(present.min()), int(present.max())
        if max(high, self._high) - min(low, self._low or low) > 200_000:
            # Dates centuries apart: format the chunk's distinct days only.
            distinct, spread = np.unique(np.where(missing, low, ordinals), return_inverse=True)
            texts = np.datetime_as_string(
                (distinct - self._EPOCH).astype("datetime64[D]"), unit="D"
            )
            found = pa.array(texts.tolist(), pa.string()).take(pa.array(spread))
            return pc.if_else(pa.array(missing), "", found)
        if self._high == 0 or low < self._low or high > self._high:
            self._low = min(low, self._low) if self._high else low
            self._high = max(high, self._high)
            days = np.arange(self._low, self._high + 1, dtype=np.int64) - self._EPOCH
            texts = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
            self._texts = pa.array(["", *texts.tolist()], pa.string())
        spread = np.where(missing, 0, ordinals - self._low + 1)
        return self._texts.take(pa.array(spread))


def _entries(chunks: Iterable[tuple[Keys, Meta]], source_names: list[str]) -> Iterator[Entry]:
    for keys, meta in chunks:
        for key, packed in zip(keys.tolist(), meta.tolist(), strict=True):
            reason, policy, expires_at, collected, source = unpack(packed)
            yield Entry(f"+{key}", reason, policy, expires_at, collected, source_names[source])


def write_entries(entries: Iterable[Entry], path: str) -> int:
    """Write entries (sorted as given) to a 0600 CSV file; returns how many."""
    count = 0
    with writing(path), open_private(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENTRY_HEADER)
        for entry in entries:
            writer.writerow(entry_row(entry))
            count += 1
    return count
