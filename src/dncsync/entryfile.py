"""The accepted entries as CSV: the file `validate --output` writes and reads back unchanged."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from dncsync.files import open_private, spreadsheet_safe
from dncsync.model import Entry

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
