"""Where rejected rows go: every one, with its source, line and reason (never dropped).

Rejects arrive a batch at a time as columns: physical lines, raw phone values and reason codes
(indices into REASON_CODES).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dncsync.columnar import kernels
from dncsync.columnar.arrow import string_bytes, string_offsets
from dncsync.files import PrivateCsv, csv_field, spreadsheet_safe, writing
from dncsync.model import Reject, RejectReason

REJECTS_HEADER = ("line", "raw_phone", "reason")
REASON_CODES = tuple(RejectReason)  # a reject's reason code is its index here
ReasonCodes = npt.NDArray[np.int8]


def reason_codes(reasons: Sequence[RejectReason]) -> ReasonCodes:
    """Reject reasons as the codes sinks receive."""
    return np.array([REASON_CODES.index(reason) for reason in reasons], dtype=np.int8)


class RejectSink(Protocol):
    """Receives rejected rows a batch at a time (columns of equal length).

    `obj` names the object the rows came from in a source of many objects (else None).
    """

    def add(
        self,
        source: str,
        lines: npt.NDArray[np.int64],
        raw_phones: pa.StringArray,
        reasons: ReasonCodes,
        *,
        obj: str | None = None,
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
        *,
        obj: str | None = None,
    ) -> None:
        """Record one batch of rejected rows."""
        self.rejects.extend(
            Reject(source, line, raw, REASON_CODES[code], obj)
            for line, raw, code in zip(
                lines.tolist(), raw_phones.to_pylist(), reasons.tolist(), strict=True
            )
        )


class RejectsCsv(PrivateCsv):
    """Writes `line,raw_phone,reason` (plus `source`, then `object`, when asked) to a 0600
    file (`object`: for a source of many objects, the object each row came from).

    Written a column at a time with pyarrow's string kernels: a field is quoted exactly when
    it holds a comma, a quote, CR or LF, and text a spreadsheet would run as a formula gets
    a leading `'` (files.spreadsheet_safe).
    """

    def __init__(self, path: str, *, with_source: bool = False, with_object: bool = False) -> None:
        header = (*REJECTS_HEADER, *(("source",) if with_source else ()))
        super().__init__(path, (*header, *(("object",) if with_object else ())))
        self._with_source = with_source
        self._with_object = with_object
        self._file = self._text.buffer

    def add(
        self,
        source: str,
        lines: npt.NDArray[np.int64],
        raw_phones: pa.StringArray,
        reasons: ReasonCodes,
        *,
        obj: str | None = None,
    ) -> None:
        """Write one batch of rejected rows (a full disk: an InputError naming the file)."""
        if len(lines) == 0:
            return
        with writing(self._path):
            self._add(source, lines, raw_phones, reasons, obj or "")

    def _add(
        self,
        source: str,
        lines: npt.NDArray[np.int64],
        raw_phones: pa.StringArray,
        reasons: ReasonCodes,
        obj: str,
    ) -> None:
        last = "," + csv_field(spreadsheet_safe(source)) if self._with_source else ""
        if self._with_object:
            last += "," + csv_field(spreadsheet_safe(obj))
        compiled = kernels.compiled()
        if compiled is not None:  # the same lines, in one compiled pass
            values = raw_phones.fill_null("") if raw_phones.null_count else raw_phones
            if isinstance(values, pa.ChunkedArray):
                values = values.combine_chunks()
            data = values.buffers()[2]
            self._file.write(
                compiled.reject_lines(
                    np.ascontiguousarray(lines, np.int64),
                    string_offsets(values),
                    b"" if data is None else data,
                    np.ascontiguousarray(reasons, np.int8),
                    tuple((reason.value + last + "\n").encode() for reason in REASON_CODES),
                )
            )
            return
        ends = pa.array([reason.value + last + "\n" for reason in REASON_CODES], pa.string())
        joined = pc.binary_join_element_wise(
            pc.cast(pa.array(lines, pa.int64()), pa.string()),
            _csv_fields(raw_phones),
            ends.take(pa.array(reasons.astype(np.int64))),
            ",",
        )
        self._file.write(string_bytes(joined))


_FORMULA = np.zeros(256, bool)
_FORMULA[[ord(c) for c in "=+-@\t\r"]] = True  # files.spreadsheet_safe's first characters
_SPECIAL = np.zeros(256, np.int32)
_SPECIAL[[ord(c) for c in ',"\r\n']] = 1  # characters that make a CSV field need quotes


def _csv_fields(values: pa.StringArray) -> pa.StringArray:
    """spreadsheet_safe, then CSV quoting where needed, for a whole column.

    Which values start like a formula or hold a comma, quote, CR or LF is read from the
    column's bytes with numpy; only those few values are rewritten.
    """
    values = pc.fill_null(values, "")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    size = len(values)
    offsets = string_offsets(values)
    buffer = values.buffers()[2]
    if buffer is None or int(offsets[-1]) == int(offsets[0]):
        return values  # every value empty: nothing to escape or quote
    data = np.frombuffer(buffer, np.uint8)
    nonempty = offsets[1:] > offsets[:-1]
    formula = nonempty & _FORMULA[data[np.minimum(offsets[:-1], max(data.size - 1, 0))]]
    counts = np.zeros(int(offsets[-1]) - int(offsets[0]) + 1, np.int32)
    np.cumsum(_SPECIAL[data[offsets[0] : offsets[-1]]], dtype=np.int32, out=counts[1:])
    special = (counts[offsets[1:] - offsets[0]] - counts[offsets[:-1] - offsets[0]]) > 0
    if not formula.any() and not special.any():
        return values
    odd = np.flatnonzero(formula | special)
    fixed = [
        csv_field(spreadsheet_safe(text or "")) for text in values.take(pa.array(odd)).to_pylist()
    ]
    spread = np.full(size, -1, np.int64)
    spread[odd] = np.arange(odd.size)
    patched = pa.array(fixed, pa.string()).take(pa.array(np.maximum(spread, 0)))
    return pc.if_else(pa.array(spread >= 0), patched, values)
