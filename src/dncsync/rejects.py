"""Where rejected rows go: every one, with its source, line and reason (never dropped).

Rejects arrive a batch at a time as columns: physical lines, raw phone values and reason codes
(indices into REASON_CODES).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dncsync.files import open_private, spreadsheet_safe
from dncsync.model import Reject, RejectReason

REJECTS_HEADER = ("line", "raw_phone", "reason")
REASON_CODES = tuple(RejectReason)  # a reject's reason code is its index here
ReasonCodes = npt.NDArray[np.int8]


def reason_codes(reasons: Sequence[RejectReason]) -> ReasonCodes:
    """Reject reasons as the codes sinks receive."""
    return np.array([REASON_CODES.index(reason) for reason in reasons], dtype=np.int8)


class RejectSink(Protocol):
    """Receives rejected rows a batch at a time (columns of equal length)."""

    def add(
        self,
        source: str,
        lines: npt.NDArray[np.int64],
        raw_phones: pa.StringArray,
        reasons: ReasonCodes,
    ) -> None:
        """Record one batch of rejected rows."""


class RejectList:
    """Keeps rejects in memory as `Reject` values (tests, small runs, reports)."""

    def __init__(self) -> None:
        self.rejects: list[Reject] = []

    def add(
        self,
        source: str,
        lines: npt.NDArray[np.int64],
        raw_phones: pa.StringArray,
        reasons: ReasonCodes,
    ) -> None:
        """Record one batch of rejected rows."""
        self.rejects.extend(
            Reject(source, line, raw, REASON_CODES[code])
            for line, raw, code in zip(
                lines.tolist(), raw_phones.to_pylist(), reasons.tolist(), strict=True
            )
        )


class RejectsCsv:
    """Writes `line,raw_phone,reason` (plus `source` when asked) to a 0600 file.

    Written a column at a time with pyarrow's string kernels: a field is quoted exactly when
    it holds a comma, a quote, CR or LF, and text a spreadsheet would run as a formula gets
    a leading `'` (files.spreadsheet_safe).
    """

    def __init__(self, path: str, *, with_source: bool = False) -> None:
        self._text = open_private(path)
        self._with_source = with_source
        header = (*REJECTS_HEADER, "source") if with_source else REJECTS_HEADER
        self._text.write(",".join(header) + "\n")
        self._text.flush()
        self._file = self._text.buffer

    def add(
        self,
        source: str,
        lines: npt.NDArray[np.int64],
        raw_phones: pa.StringArray,
        reasons: ReasonCodes,
    ) -> None:
        """Write one batch of rejected rows."""
        if len(lines) == 0:
            return
        last = "," + _csv_field(spreadsheet_safe(source)) if self._with_source else ""
        ends = pa.array([reason.value + last + "\n" for reason in REASON_CODES], pa.string())
        joined = pc.binary_join_element_wise(
            pc.cast(pa.array(lines, pa.int64()), pa.string()),
            _csv_fields(raw_phones),
            ends.take(pa.array(reasons.astype(np.int64))),
            ",",
        )
        offsets = np.frombuffer(joined.buffers()[1], np.int32)
        start, stop = int(offsets[joined.offset]), int(offsets[joined.offset + len(joined)])
        self._file.write(memoryview(joined.buffers()[2])[start:stop])

    def close(self) -> None:
        """Flush and close the file."""
        self._text.close()

    def __enter__(self) -> RejectsCsv:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_fields(values: pa.StringArray) -> pa.StringArray:
    """spreadsheet_safe, then CSV quoting where needed, for a whole column."""
    values = pc.fill_null(values, "")
    formula = pc.match_substring_regex(values, "^[=+\\-@\t\r]")
    safe = pc.if_else(formula, pc.binary_join_element_wise("'", values, ""), values)
    special = pc.match_substring_regex(safe, '[,"\r\n]')
    if not pc.any(special).as_py():
        return safe
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(safe, '"', '""'), '"', "")
    return pc.if_else(special, quoted, safe)
