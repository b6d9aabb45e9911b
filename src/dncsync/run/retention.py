"""Retention counted from a number's first sighting, so it does not slide from run to run."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from dncsync.columnar.entries import EntryColumns
from dncsync.model import Entry, ExpirationPolicy
from dncsync.state import Store


def retention_from_first_seen(
    entries: Sequence[Entry], store: Store, today: date, *, record: bool = True
) -> Sequence[Entry]:
    """Count RELATIVE retention without a collection date from the number's first sighting.

    Ingest counts it from today; shifting by (first seen - today) keeps the expiry from
    sliding forward on every run (DOMAIN.md principle 5).
    """
    if isinstance(entries, EntryColumns):
        floating = [f"+{key}" for key in entries.keys[entries.floating()].tolist()]
    else:
        floating = [
            e.phone
            for e in entries
            if e.date_collected is None
            and e.expiration_policy is ExpirationPolicy.RELATIVE
            and e.expires_at is not None
        ]
    if not floating:
        return entries  # nothing counts from a sighting: the entries as they are (columns)
    seen = store.first_seen(floating, today, record=record)
    if all(first == today for first in seen.values()):
        return entries  # all first seen today: nothing shifts
    result: list[Entry] = []
    for entry in entries:
        first = seen.get(entry.phone)
        if first is not None and first != today and entry.expires_at is not None:
            entry = dataclasses.replace(entry, expires_at=entry.expires_at - (today - first))
        result.append(entry)
    return result
