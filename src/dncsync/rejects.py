"""Where rejected rows go: every one, with its source, line and reason (never dropped)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from dncsync.files import open_private, spreadsheet_safe
from dncsync.model import Reject, RejectReason

REJECTS_HEADER = ("line", "raw_phone", "reason")


class RejectSink(Protocol):
    """Receives rejected rows a batch at a time (columns of equal length)."""

    def add(
        self,
        source: str,
        lines: Sequence[int],
        raw_phones: Sequence[str],
        reasons: Sequence[RejectReason],
    ) -> None:
        """Record one batch of rejected rows."""


class RejectList:
    """Keeps rejects in memory as `Reject` values (tests, small runs, reports)."""

    def __init__(self) -> None:
        self.rejects: list[Reject] = []

    def add(
        self,
        source: str,
        lines: Sequence[int],
        raw_phones: Sequence[str],
        reasons: Sequence[RejectReason],
    ) -> None:
        """Record one batch of rejected rows."""
        self.rejects.extend(
            Reject(source, line, raw, reason)
            for line, raw, reason in zip(lines, raw_phones, reasons, strict=True)
        )


class RejectsCsv:
    """Writes `line,raw_phone,reason` (plus `source` when asked) to a 0600 file."""

    def __init__(self, path: str, *, with_source: bool = False) -> None:
        self._file = open_private(path)
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._with_source = with_source
        self._writer.writerow((*REJECTS_HEADER, "source") if with_source else REJECTS_HEADER)

    def add(
        self,
        source: str,
        lines: Sequence[int],
        raw_phones: Sequence[str],
        reasons: Sequence[RejectReason],
    ) -> None:
        """Write one batch of rejected rows."""
        safe_source = spreadsheet_safe(source)
        rows = (
            (line, spreadsheet_safe(raw), reason.value)
            for line, raw, reason in zip(lines, raw_phones, reasons, strict=True)
        )
        if self._with_source:
            self._writer.writerows((*row, safe_source) for row in rows)
        else:
            self._writer.writerows(rows)

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()

    def __enter__(self) -> RejectsCsv:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
