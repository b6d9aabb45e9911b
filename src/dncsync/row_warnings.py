"""Where warned rows go: every metadata correction, with its source, line, kind and detail.

Ingest counts warnings by kind on its fast path (`Accounting.warnings`). When a sink is given,
the rows behind those counts are gathered too, off the fast path like rejects: a batch's warned
rows (`WarnedRows`) reach the sink once the batch is merged, in line order, one per row and
kind, so a file written from them has exactly as many lines as the counts add up to.

Details never carry a full phone number: ingest puts masked numbers there, and the CSV writer
masks every detail again (`privacy.mask_text`) before it touches the disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dncsync.files import PrivateCsv, csv_field, spreadsheet_safe, writing
from dncsync.model import RowWarning
from dncsync.privacy import mask_text

WARNINGS_HEADER = ("source", "line", "kind", "detail")
_FIELDS_KEPT = 65_536
Lines = npt.NDArray[np.int64]


class WarningSink(Protocol):
    """Receives warned rows a batch at a time (columns of equal length, lines ascending);
    `obj` names the object of a source of many objects (else None)."""

    def add(
        self,
        source: str,
        lines: Lines,
        kinds: Sequence[str],
        details: Sequence[str],
        obj: str | None = None,
    ) -> None:
        """Record one batch of warned rows."""


class WarningList:
    """Keeps warned rows in memory as `RowWarning` values (tests, small runs)."""

    def __init__(self) -> None:
        self.warnings: list[RowWarning] = []

    def add(
        self,
        source: str,
        lines: Lines,
        kinds: Sequence[str],
        details: Sequence[str],
        obj: str | None = None,
    ) -> None:
        """Record one batch of warned rows."""
        self.warnings.extend(
            RowWarning(source, line, kind, detail, obj)
            for line, kind, detail in zip(lines.tolist(), kinds, details, strict=True)
        )


class WarningsCsv(PrivateCsv):
    """Writes `source,line,kind,detail` to a 0600 file, details masked.

    Quoted like the rejects file: a field holding a comma, a quote, CR or LF is quoted, and
    text a spreadsheet would run as a formula gets a leading `'`. Each batch is flushed, so
    the file is whole as soon as ingest returns.
    """

    def __init__(self, path: str, *, with_object: bool = False) -> None:
        # `object`: for sources of many objects, the object each row came from.
        super().__init__(path, (*WARNINGS_HEADER, "object") if with_object else WARNINGS_HEADER)
        self._with_object = with_object
        self._fields: dict[str, str] = {}  # text -> its field: details repeat (dates, reasons)

    def add(
        self,
        source: str,
        lines: Lines,
        kinds: Sequence[str],
        details: Sequence[str],
        obj: str | None = None,
    ) -> None:
        """Write one batch of warned rows."""
        name, field = self._field(source), self._field
        end = f",{field(obj or '')}" if self._with_object else ""
        text = "".join(
            f"{name},{line},{field(kind)},{field(detail)}{end}\n"
            for line, kind, detail in zip(lines.tolist(), kinds, details, strict=True)
        )
        with writing(self._path):
            self._text.write(text)
            self._text.flush()

    def _field(self, text: str) -> str:
        """Masked, spreadsheet-safe and quoted where needed; remembered for the next rows."""
        found = self._fields.get(text)
        if found is None:
            if len(self._fields) >= _FIELDS_KEPT:
                self._fields.clear()
            found = self._fields[text] = csv_field(spreadsheet_safe(mask_text(text)))
        return found


class OncePerSource:
    """A run's sink: a source read for several targets has its warnings recorded once.

    A run reads each set of sources its targets name; a source in two sets is read twice,
    with the same rows and the same warnings. `reading(names)` before each read gives the
    sink for it: only sources not read before in the run pass through.
    """

    def __init__(self, sink: WarningSink) -> None:
        self._sink = sink
        self._read: set[str] = set()

    def reading(self, sources: Iterable[str]) -> WarningSink | None:
        """The sink for one read of these sources; None when each was read before."""
        new = frozenset(sources) - self._read
        self._read |= new
        return _Only(self._sink, new) if new else None


class _Only:
    """Passes on the warned rows of some sources only."""

    def __init__(self, sink: WarningSink, sources: frozenset[str]) -> None:
        self._sink = sink
        self._sources = sources

    def add(
        self,
        source: str,
        lines: Lines,
        kinds: Sequence[str],
        details: Sequence[str],
        obj: str | None = None,
    ) -> None:
        """Record one batch of warned rows, when its source is one of ours."""
        if source in self._sources:
            self._sink.add(source, lines, kinds, details, obj)


class WarnedRows:
    """One batch's warned rows, gathered as ingest meets them and sent in line order.

    Rows are positions in the batch (their lines are `lines[rows]`); the reader's own warnings
    (a cp1252 line, a short row) come with their lines.
    """

    def __init__(self, lines: Lines) -> None:
        self._batch_lines = lines
        self._lines: list[Lines] = []
        self._kinds: list[str] = []
        self._details: list[str] = []

    def add_rows(
        self, rows: npt.NDArray[np.intp], kinds: Sequence[str], details: Sequence[str]
    ) -> None:
        """Warned rows of the batch, each with its kind and detail."""
        if len(rows):
            self._lines.append(self._batch_lines[rows])
            self._kinds.extend(kinds)
            self._details.extend(details)

    def add_kind(self, kind: str, rows: npt.NDArray[np.intp], detail: str = "") -> None:
        """Rows of the batch warned alike."""
        self.add_rows(rows, [kind] * len(rows), [detail] * len(rows))

    def add_lines(self, found: Sequence[tuple[int, str, str]]) -> None:
        """Warnings the reader met, as (line, kind, detail)."""
        if found:
            self._lines.append(np.array([line for line, _, _ in found], np.int64))
            self._kinds.extend(kind for _, kind, _ in found)
            self._details.extend(detail for _, _, detail in found)

    def send(self, sink: WarningSink, source: str, obj: str | None = None) -> None:
        """Hand everything gathered to the sink, sorted by line (kinds in the order met)."""
        if not self._kinds:
            return
        lines = np.concatenate(self._lines)
        order = np.argsort(lines, kind="stable")
        sink.add(
            source,
            lines[order],
            [self._kinds[i] for i in order.tolist()],
            [self._details[i] for i in order.tolist()],
            obj,
        )
        self._lines, self._kinds, self._details = [], [], []


__all__ = [
    "WARNINGS_HEADER",
    "OncePerSource",
    "WarnedRows",
    "WarningList",
    "WarningSink",
    "WarningsCsv",
]
