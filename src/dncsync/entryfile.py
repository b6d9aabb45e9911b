"""The accepted entries as CSV: the file `validate --output` writes and reads back unchanged."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

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
from dncsync.files import open_private, spreadsheet_safe
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
    count = 0
    with open_private(path) as handle:
        handle.write(",".join(ENTRY_HEADER) + "\n")
        handle.flush()
        for keys, meta in chunks:
            expiry = (meta >> EXP_SHIFT) & EXP_MASK
            never = expiry == EXP_NEVER
            policy = np.where(never, 0, np.where(expiry & 1, 1, 2))
            collected = (meta >> DC_SHIFT) & DC_MASK
            line = pc.binary_join_element_wise(
                pc.binary_join_element_wise("+", pc.cast(pa.array(keys), pa.string()), ""),
                _spread(reasons, meta >> REASON_SHIFT),
                _spread(policies, policy),
                _dates(expiry >> 1, never),
                _dates(collected, collected == DC_NONE),
                names.take(pa.array(meta & SRC_MASK)),
                ",",
            )
            offsets = np.frombuffer(line.buffers()[1], np.int32)
            start, stop = int(offsets[line.offset]), int(offsets[line.offset + len(line)])
            handle.buffer.write(memoryview(line.buffers()[2])[start:stop])
            count += int(keys.size)
    return count


def _spread(texts: list[str], codes: npt.NDArray[np.int64]) -> pa.StringArray:
    return pa.array(texts, pa.string()).take(pa.array(codes))


def _dates(ordinals: npt.NDArray[np.int64], missing: Mask) -> pa.StringArray:
    """ISO dates of day ordinals ("" where missing), each distinct day formatted once."""
    present = ordinals[~missing]
    if not present.size:
        return pa.array([""] * ordinals.size, pa.string())
    low, high = int(present.min()), int(present.max())
    days = np.where(missing, low, ordinals)
    if high - low > 1_000_000:  # pragma: no cover - dates across millennia: distinct days only
        distinct, spread = np.unique(days, return_inverse=True)
        texts = [date.fromordinal(day).isoformat() for day in distinct.tolist()]
        return pc.if_else(pa.array(missing), "", pa.array(texts).take(pa.array(spread)))
    texts = [""] + [date.fromordinal(day).isoformat() for day in range(low, high + 1)]
    spread = np.where(missing, 0, days - low + 1)
    return pa.array(texts, pa.string()).take(pa.array(spread))


def _entries(chunks: Iterable[tuple[Keys, Meta]], source_names: list[str]) -> Iterator[Entry]:
    for keys, meta in chunks:
        for key, packed in zip(keys.tolist(), meta.tolist(), strict=True):
            reason, policy, expires_at, collected, source = unpack(packed)
            yield Entry(f"+{key}", reason, policy, expires_at, collected, source_names[source])


def write_entries(entries: Iterable[Entry], path: str) -> int:
    """Write entries (sorted as given) to a 0600 CSV file; returns how many."""
    count = 0
    with open_private(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENTRY_HEADER)
        for entry in entries:
            writer.writerow(entry_row(entry))
            count += 1
    return count
