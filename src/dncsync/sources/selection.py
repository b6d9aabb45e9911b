"""Which rows a source gives, and which phone values each row holds.

    records ──► row filters (`where`) ──► phone values: one column, several, or area code + number

A row a filter leaves out is `filtered`: counted, never rejected. A row with several phone
columns gives one value per non-empty column, each with the row's metadata and line; a row
with none of them filled is counted as a row without a value (with one phone column the empty
value is judged, and rejected as `empty`, as it always was). Two columns of area code and
number make one value.

Counted per source: rows = rows with a value + filtered + rows without a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dncsync.sources.columns import ColumnMap
from dncsync.sources.records import RowBatch
from dncsync.sources.spec import SourceSpec


class Reader(Protocol):
    """A source's records (CSV or a spreadsheet): its batches, and the columns it found."""

    columns: ColumnMap | None

    def batches(self) -> Iterator[RowBatch]:
        """Every record, in batches."""
        ...


@dataclass(slots=True)
class Selected:
    """What the selection counted, for the accounting."""

    filtered: int = 0
    rows_with_value: int = 0
    rows_without_value: int = 0
    values: int = 0

    def add(self, other: Selected) -> None:
        """Count another object's selection in."""
        self.filtered += other.filtered
        self.rows_with_value += other.rows_with_value
        self.rows_without_value += other.rows_without_value
        self.values += other.values


class Selection:
    """Applies a source's row filters and phone columns to its batches, counting as it goes."""

    def __init__(self, spec: SourceSpec) -> None:
        self._spec = spec
        # Values compared case-insensitively, surrounding spaces ignored ("Yes " is yes).
        self._wanted = [
            pa.array(sorted({value.strip().lower() for value in values}), pa.string())
            for _, values in spec.where
        ]
        self.counts = Selected()

    def batches(self, reader: Reader) -> Iterator[RowBatch]:
        """Each batch's selected values (batches may come out empty; their warnings stay)."""
        for batch in reader.batches():
            assert reader.columns is not None  # mapped from the header before the first batch
            yield self.select(batch, reader.columns)

    def select(self, batch: RowBatch, columns: ColumnMap) -> RowBatch:
        """One batch's phone values, with the lines and metadata of their rows."""
        rows = len(batch)
        if self._wanted:
            keep = self._kept(batch)
            if keep is not None:
                self.counts.filtered += rows - int(keep.size)
                batch = _take(batch, keep)
                rows = len(batch)
        if "area_code" in batch.columns:
            area = pc.utf8_trim_whitespace(_plain(batch.columns.pop("area_code")))
            number = pc.utf8_trim_whitespace(_plain(batch.columns.pop("number")))
            batch.columns["phone"] = pc.binary_join_element_wise(area, number, "")
        fields = columns.phone_fields
        if len(fields) <= 1:
            self.counts.rows_with_value += rows
            self.counts.values += rows
            return batch
        return self._spread(batch, fields)

    def _kept(self, batch: RowBatch) -> np.ndarray | None:
        """The rows every filter accepts (None: all of them)."""
        keep: pa.Array | None = None
        for slot, wanted in enumerate(self._wanted):
            column = _plain(batch.columns[f"where.{slot}"])
            found = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(column)), value_set=wanted)
            keep = found if keep is None else pc.and_(keep, found)
        if keep is None:
            return None
        mask = np.asarray(keep.to_numpy(zero_copy_only=False), bool)
        return None if mask.all() else np.flatnonzero(mask)

    def _spread(self, batch: RowBatch, fields: list[str]) -> RowBatch:
        """One value per non-empty phone column of each row, in line order, then column order."""
        pieces: list[pa.Array] = []
        row_of: list[np.ndarray] = []
        for field in fields:
            values = _plain(batch.columns[field])
            filled = pc.not_equal(pc.utf8_trim_whitespace(values), "")
            rows = np.flatnonzero(np.asarray(filled.to_numpy(zero_copy_only=False), bool))
            pieces.append(values.take(pa.array(rows)))
            row_of.append(rows)
        rows = np.concatenate(row_of) if row_of else np.empty(0, np.intp)
        column = np.concatenate([np.full(r.size, slot, np.intp) for slot, r in enumerate(row_of)])
        ordered = np.lexsort((column, rows))
        rows = rows[ordered]
        phones = pa.concat_arrays(pieces).take(pa.array(ordered)) if pieces else pa.array([])
        with_value = int(np.unique(rows).size)
        self.counts.values += int(rows.size)
        self.counts.rows_with_value += with_value
        self.counts.rows_without_value += len(batch) - with_value
        others = {
            name: values
            for name, values in batch.columns.items()
            if name not in fields and not name.startswith("where.")
        }
        spread = _take(RowBatch(batch.lines, others, batch.warned), rows)
        spread.columns["phone"] = phones
        return spread


def _plain(values: pa.Array) -> pa.Array:
    """A text column, dictionary-decoded when it came encoded."""
    return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values


def _take(batch: RowBatch, rows: np.ndarray) -> RowBatch:
    picked = pa.array(rows)
    columns = {name: values.take(picked) for name, values in batch.columns.items()}
    return RowBatch(batch.lines[rows], columns, batch.warned)
