"""Ingest: read every source, normalize every phone value, merge every number, account for all.

    sources ──► CSV records ──► batch: phones ──► keys | rejects ──► metadata ──► MergeIndex
                (physical lines)         (phonenumbers verdicts)     (policy)      (unique numbers)

Rows are streamed in batches; only the merge index (16 bytes per unique number) grows.
`rows = accepted + duplicates + rejected` holds for every run, across all sources.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import phonenumbers
import pyarrow as pa

from dncsync.columnar.column import PhoneColumn
from dncsync.columnar.index import (
    EXP_MASK,
    EXP_NEVER,
    EXP_SHIFT,
    MAX_SOURCES,
    Keys,
    MergeIndex,
    Meta,
    expiry_code,
    pack,
    phone_order,
    unpack,
)
from dncsync.errors import InputError
from dncsync.files import spreadsheet_unescape
from dncsync.model import Accounting, Entry, Reason, RejectReason, SourceInfo, Strictness
from dncsync.phone import normalize
from dncsync.policy import Policy, Requested, read_date_collected, read_expiration
from dncsync.rejects import RejectSink
from dncsync.sources import CsvRecords, ProgressHook, RowBatch, SourceSpec, open_source

UNMAPPED_REASONS_KEPT = 1_000  # distinct raw reason texts kept for the report
_ABSENT = "\x00absent"  # a column the source does not have (no text can equal it)


class SourceNames:
    """Interned source names; ids fit the merge index's 15 bits."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._ids: dict[str, int] = {}
        self.overflowed = 0

    def intern(self, name: str, fallback: int) -> int:
        """The id of `name`; past MAX_SOURCES distinct names, `fallback` (and a warning)."""
        found = self._ids.get(name)
        if found is not None:
            return found
        if len(self.names) >= MAX_SOURCES:
            self.overflowed += 1
            return fallback
        self._ids[name] = len(self.names)
        self.names.append(name)
        return self._ids[name]

    def rank(self) -> npt.NDArray[np.int64]:
        """rank[id]: the position of the id's name in sorted order."""
        order = sorted(range(len(self.names)), key=self.names.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        return rank


def normalize_rows(values: Sequence[str], region: str, strictness: Strictness) -> PhoneColumn:
    """Verdicts for a column of raw phone values, one phonenumbers call per value."""
    accepted: list[int] = []
    keys: list[int] = []
    rejected: list[int] = []
    reasons: list[RejectReason] = []
    extensions = vanity = 0
    for row, raw in enumerate(values):
        result = normalize(raw, region, strictness)
        if result.e164 is None:
            assert result.reject is not None
            rejected.append(row)
            reasons.append(result.reject)
            continue
        accepted.append(row)
        keys.append(int(result.e164[1:]))
        extensions += result.extension
        vanity += result.vanity
    return PhoneColumn(
        np.array(accepted, dtype=np.intp),
        np.array(keys, dtype=np.uint64),
        np.array(rejected, dtype=np.intp),
        reasons,
        extensions,
        vanity,
    )


class MetadataReader:
    """Turns a row's reason, dates and source into packed merge fields, with warnings.

    Exports repeat the same few reason texts and dates, so each distinct text is read once.
    """

    def __init__(self, policy: Policy, today: date, names: SourceNames) -> None:
        self._policy = policy
        self._today = today
        self._names = names
        self._reasons: dict[str, tuple[Reason, str | None]] = {}
        self._collected: dict[str, tuple[date | None, str | None]] = {}
        self._requested: dict[tuple[str, str], Requested] = {}
        self._retention: dict[tuple[Reason, Requested, date | None], tuple[int, tuple[str, ...]]]
        self._retention = {}
        self.warnings: Counter[str] = Counter()
        self.unmapped: Counter[str] = Counter()

    def pack_rows(self, batch: RowBatch, rows: npt.NDArray[np.intp], spec: SourceSpec) -> Meta:
        """Packed merge fields for the given rows of a batch.

        Each column is dictionary-encoded; each distinct combination of reason, dates and policy
        texts is resolved once through the policy, then spread back to its rows.
        """
        if rows.size == 0:
            return np.empty(0, dtype=np.int64)
        names = ("reason", "date_collected", "expiration", "expiration_policy")
        codes: list[npt.NDArray[np.int64]] = []
        dictionaries: list[list[str]] = []
        for name in names:
            values = batch.column(name)
            if values is None:
                codes.append(np.zeros(rows.size, np.int64))
                dictionaries.append([_ABSENT])
                continue
            encoded = pa.array(values, pa.string()).take(pa.array(rows)).dictionary_encode()
            codes.append(np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64))
            dictionaries.append(encoded.dictionary.to_pylist())
        combined = codes[0]
        for code, dictionary in zip(codes[1:], dictionaries[1:], strict=True):
            combined = combined * len(dictionary) + code
        unique, inverse = np.unique(combined, return_inverse=True)
        counts = np.bincount(inverse, minlength=unique.size)
        spec_source = self._names.intern(spec.name, 0)
        resolved = np.empty(unique.size, np.int64)
        for slot, (value, count) in enumerate(zip(unique.tolist(), counts.tolist(), strict=True)):
            texts = []
            for dictionary in reversed(dictionaries):
                value, index = divmod(value, len(dictionary))
                texts.append(dictionary[index])
            policy_text, expiration, collected, reason_text = texts
            resolved[slot] = self._resolve(
                reason_text, collected, expiration, policy_text, spec, count
            )
        packed = resolved[inverse]
        sources = batch.column("source")
        if sources is None:
            return packed | spec_source
        encoded = pa.array(sources, pa.string()).take(pa.array(rows)).dictionary_encode()
        ids = np.array(
            [
                self._names.intern(spreadsheet_unescape(text.strip()), spec_source)
                if text.strip()
                else spec_source
                for text in encoded.dictionary.to_pylist()
            ],
            dtype=np.int64,
        )
        spread = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
        result: Meta = packed | ids[spread]
        return result

    def _resolve(
        self,
        reason_text: str,
        collected_text: str,
        expiration: str,
        policy_text: str,
        spec: SourceSpec,
        rows: int,
    ) -> int:
        """One distinct combination's packed fields (source 0); warnings counted `rows` times."""
        fallback_reason = spec.fallback_reason
        warnings: list[str] = []
        if reason_text == _ABSENT:
            reason, warning = (fallback_reason or Reason.UNKNOWN), None
        elif fallback_reason is not None and not reason_text.strip():
            reason, warning = fallback_reason, None
        else:
            reason, warning = self._reason(reason_text, rows)
        if warning is not None:
            warnings.append(warning)
        when, warning = self._date("" if collected_text == _ABSENT else collected_text)
        if warning is not None:
            warnings.append(warning)
        requested = self._request(
            "" if expiration == _ABSENT else expiration,
            "" if policy_text == _ABSENT else policy_text,
        )
        expiry, more = self._retain(reason, requested, when)
        for kind in (*warnings, *more):
            self.warnings[kind] += rows
        return pack(reason, expiry, when, 0)

    def _reason(self, text: str, rows: int) -> tuple[Reason, str | None]:
        found = self._reasons.get(text)
        if found is None:
            found = self._reasons[text] = self._policy.reason_for(text)
        if found[1] == "unmapped_reason" and (
            text.strip() in self.unmapped or len(self.unmapped) < UNMAPPED_REASONS_KEPT
        ):
            self.unmapped[text.strip()] += rows
        return found

    def _date(self, text: str) -> tuple[date | None, str | None]:
        found = self._collected.get(text)
        if found is None:
            found = self._collected[text] = read_date_collected(text, self._today)
        return found

    def _request(self, expiration: str, policy: str) -> Requested:
        found = self._requested.get((expiration, policy))
        if found is None:
            found = self._requested[(expiration, policy)] = read_expiration(expiration, policy)
        return found

    def _retain(
        self, reason: Reason, requested: Requested, when: date | None
    ) -> tuple[int, tuple[str, ...]]:
        key = (reason, requested, when)
        found = self._retention.get(key)
        if found is None:
            kept = self._policy.retention_for(reason, requested, when, self._today)
            found = self._retention[key] = (
                expiry_code(kept.policy, kept.expires_at),
                kept.warnings,
            )
        return found


@dataclass(slots=True)
class IngestResult:
    """What ingest read: the accounting, each source's evidence, and the merged entries."""

    accounting: Accounting
    sources: list[SourceInfo]
    today: date
    keys: Keys
    meta: Meta
    source_names: list[str]
    unmapped_reasons: dict[str, int] = field(default_factory=dict)  # raw text -> rows

    def __len__(self) -> int:
        return int(self.keys.size)

    def entries(self) -> Iterator[Entry]:
        """Every merged entry, sorted by phone number (as E.164 strings sort)."""
        names = self.source_names
        for start in range(0, self.keys.size, 65_536):
            keys = self.keys[start : start + 65_536].tolist()
            meta = self.meta[start : start + 65_536].tolist()
            for key, packed in zip(keys, meta, strict=True):
                reason, policy, expires_at, collected, source = unpack(packed)
                yield Entry(f"+{key}", reason, policy, expires_at, collected, names[source])

    def expired(self) -> int:
        """Entries whose retention ended before `today`: accepted and counted, not pushed."""
        expiry = (self.meta >> EXP_SHIFT) & EXP_MASK
        ended = (expiry != EXP_NEVER) & ((expiry >> 1) < self.today.toordinal())
        return int(np.count_nonzero(ended))


Progress = ProgressHook


def ingest(
    specs: Sequence[SourceSpec],
    policy: Policy,
    *,
    today: date,
    rejects: RejectSink | None = None,
    progress: Progress | None = None,
    normalizer: Callable[[Sequence[str], str, Strictness], PhoneColumn] | None = None,
) -> IngestResult:
    """Read, normalize and merge the sources; unreadable input raises InputError."""
    if normalizer is None:
        from dncsync.columnar.phones import normalize_column

        normalizer = normalize_column
    if not specs:
        raise InputError("no source given")
    names = SourceNames()
    index = MergeIndex(names.rank)
    metadata = MetadataReader(policy, today, names)
    accounting = Accounting()
    warnings: Counter[str] = Counter()
    reject_reasons: Counter[str] = Counter({reason.value: 0 for reason in RejectReason})
    infos: list[SourceInfo] = []
    for spec in specs:
        region = _checked_region(spec)
        names.intern(spec.name, 0)
        with open_source(spec, progress) as opened:
            records = CsvRecords(opened.stream, spec)
            for batch in records.batches():
                phones = normalizer(batch.column("phone") or [], region, spec.strictness)
                warnings["extension_dropped"] += phones.extensions
                warnings["vanity_converted"] += phones.vanity
                if phones.rejected.size:
                    reject_reasons.update(reason.value for reason in phones.reasons)
                    accounting.rejected += int(phones.rejected.size)
                    if rejects is not None:
                        raw = batch.columns["phone"]
                        picked = phones.rejected.tolist()
                        rejects.add(
                            spec.name,
                            [batch.lines[row] for row in picked],
                            [raw[row] for row in picked],
                            phones.reasons,
                        )
                index.add(phones.keys, metadata.pack_rows(batch, phones.accepted, spec))
            accounting.rows += records.rows
            accounting.blank_lines += records.blank_lines
            warnings.update(records.warnings)
            infos.append(opened.info(records.rows))
    keys, meta = index.finish()
    order = phone_order(keys)
    keys, meta = keys[order], meta[order]
    accounting.accepted = int(keys.size)
    accounting.duplicates = index.rows - accounting.accepted
    warnings.update(metadata.warnings)
    if names.overflowed:
        warnings["too_many_source_names"] += names.overflowed
    accounting.warnings = {kind: count for kind, count in sorted(warnings.items()) if count}
    accounting.reject_reasons = dict(reject_reasons)
    assert accounting.balanced(), accounting
    return IngestResult(
        accounting,
        infos,
        today,
        keys,
        meta,
        names.names,
        dict(metadata.unmapped.most_common()),
    )


def _checked_region(spec: SourceSpec) -> str:
    region = spec.default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InputError(f"unknown default region {spec.default_region!r} (use e.g. US, GB, DE)")
    return region


__all__ = [
    "IngestResult",
    "PhoneColumn",
    "Progress",
    "SourceNames",
    "ingest",
    "normalize_rows",
]
