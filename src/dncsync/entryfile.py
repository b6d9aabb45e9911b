"""The accepted entries as CSV: the file `validate --output` writes and reads back unchanged."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date

import numpy as np
import numpy.typing as npt

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


def write_columns(keys: Keys, meta: Meta, source_names: list[str], path: str) -> int:
    """Write merged index columns as the entries file, a whole column at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    strength = (meta >> REASON_SHIFT).astype(np.int64)
    reasons = np.array([""] * 8, dtype=object)
    for reason in Reason:
        reasons[reason.strength] = reason.value
    expiry = (meta >> EXP_SHIFT) & EXP_MASK
    never = expiry == EXP_NEVER
    policy = np.where(never, 0, np.where(expiry & 1, 1, 2))
    policies = np.array([p.value for p in (NEVER, RELATIVE, ABSOLUTE)], dtype=object)
    collected = (meta >> DC_SHIFT) & DC_MASK
    epoch = date(1970, 1, 1).toordinal()

    def dates(ordinals: Meta, missing: Mask) -> pa.Array:
        days = pa.array((ordinals - epoch).astype(np.int32), mask=missing).cast(pa.date32())
        return pc.fill_null(pc.cast(days, pa.string()), "")

    safe_names = [spreadsheet_safe(name) for name in source_names]
    if any(any(ch in name for ch in ',"\r\n') for name in safe_names):
        # A source name that needs CSV quoting: the row-by-row writer quotes exactly as needed.
        return write_entries(_entries(keys, meta, source_names), path)
    names = np.array(safe_names, dtype=object)
    table = pa.table(
        {
            "phone_number": pc.binary_join_element_wise(
                "+", pc.cast(pa.array(keys), pa.string()), ""
            ),
            "reason": pa.array(reasons[strength], pa.string()),
            "expiration_policy": pa.array(policies[policy], pa.string()),
            "expires_at": dates(expiry >> 1, never),
            "date_collected": dates(collected, collected == DC_NONE),
            "source": pa.array(names[meta & SRC_MASK], pa.string()),
        }
    )
    with open_private(path) as handle:
        handle.write(",".join(ENTRY_HEADER) + "\n")
    with open(path, "ab") as binary:
        pcsv.write_csv(
            table,
            binary,
            write_options=pcsv.WriteOptions(include_header=False, quoting_style="none"),
        )
    return int(keys.size)


def _entries(keys: Keys, meta: Meta, source_names: list[str]) -> Iterator[Entry]:
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
