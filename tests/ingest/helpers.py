"""Small helpers for the ingest tests: write a source, ingest it, look at the entries."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from dncsync.ingest import IngestResult, ingest
from dncsync.model import Entry, ExpirationPolicy
from dncsync.policy import DEFAULT_POLICY
from dncsync.rejects import RejectList
from dncsync.sources import CsvRecords, SourceSpec
from dncsync.sources.streams import BUFFER

TODAY = date(2026, 11, 22)


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def run(path: Path | str, *, name: str = "src", **options: Any) -> tuple[IngestResult, RejectList]:
    rejects = RejectList()
    spec = SourceSpec(name=name, url=str(path), **options)
    return ingest([spec], DEFAULT_POLICY, today=TODAY, rejects=rejects), rejects


def read_records(
    data: bytes, blocks: bool, block_bytes: int, **options: Any
) -> tuple[tuple[object, ...], int, str | None]:
    """What a reader gives for these bytes: (rows, blank lines, warnings, lines, columns),
    how many batches the block reader made, and the delimiter it read with."""
    spec = SourceSpec("s", "mem.csv", **options)
    stream = io.BufferedReader(io.BytesIO(data), BUFFER)  # type: ignore[arg-type]
    records = CsvRecords(stream, spec, batch_rows=7, block_bytes=block_bytes, blocks=blocks)
    lines: list[int] = []
    values: dict[str, list[str]] = {}
    for batch in records.batches():
        lines.extend(batch.lines.tolist())
        for name, column in batch.columns.items():
            values.setdefault(name, []).extend(column.to_pylist())
    shape = (records.rows, records.blank_lines, dict(records.warnings), lines, values)
    return shape, records.block_batches, records.delimiter


def by_phone(result: IngestResult) -> dict[str, Entry]:
    return {entry.phone: entry for entry in result.entries()}


def _retention_rank(entry: Entry) -> tuple[int, int, int]:
    """Longest retention first: NEVER beats any date, a later date beats an earlier one."""
    if entry.expiration_policy is ExpirationPolicy.NEVER or entry.expires_at is None:
        return (1, 0, 0)
    return (
        0,
        entry.expires_at.toordinal(),
        1 if entry.expiration_policy is ExpirationPolicy.RELATIVE else 0,
    )


def merge(first: Entry, second: Entry) -> Entry:
    """The merge rule as DOMAIN.md states it, pair by pair: the reference the merge index
    (`columnar.index.MergeIndex`, the one production merge) is held to.

    Merges two entries of one number most protectively; the result ignores argument order.

    Strongest reason (ties: the source name that sorts first gives the source), longest
    retention (ties between RELATIVE and ABSOLUTE on one day: RELATIVE), earliest date collected.
    """
    if first.phone != second.phone:
        raise ValueError("merge needs two entries of the same number")
    strong = min(first, second, key=lambda entry: (-entry.reason.strength, entry.source))
    kept = max(first, second, key=_retention_rank)
    dates = [entry.date_collected for entry in (first, second) if entry.date_collected]
    return Entry(
        phone=first.phone,
        reason=strong.reason,
        expiration_policy=kept.expiration_policy,
        expires_at=kept.expires_at,
        date_collected=min(dates) if dates else None,
        source=strong.source,
    )
