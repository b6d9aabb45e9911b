"""Ingest: read every source, normalize every phone value, merge every number, account for all.

    sources ──► CSV records ──► batch: phones ──► keys | rejects ──► metadata ──► MergeIndex
                (physical lines)         (phonenumbers verdicts)     (policy)      (unique numbers)

Rows are streamed in batches of columns; only the merge index (16 bytes per unique number) grows.
`values = accepted + duplicates + rejected` and `rows = rows with a value + filtered + rows
without a value` hold for every run, across all sources (sources.selection).

Warnings are counted by kind as rows go by; given a `WarningSink`, the warned rows themselves
(source, line, kind, detail) are gathered too, off the fast path, as rejects are.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from dncsync.columnar.artefacts import repair
from dncsync.columnar.column import PhoneColumn
from dncsync.columnar.entries import EntryColumns
from dncsync.columnar.index import (
    DC_MASK,
    DC_NONE,
    DC_SHIFT,
    EXP_MASK,
    EXP_NEVER,
    EXP_SHIFT,
    MAX_SOURCES,
    REASON_BY_STRENGTH,
    REASON_SHIFT,
    Keys,
    MergeIndex,
    Meta,
    Segments,
    e164_chunks,
    expiry_code,
)
from dncsync.columnar.memory import share_one_arena
from dncsync.columnar.phones import judge_prepared, normalize_column
from dncsync.columnar.shapes import Prepared, prepare_column
from dncsync.errors import InputError
from dncsync.files import spreadsheet_unescape
from dncsync.model import (
    Accounting,
    Entry,
    ExpirationPolicy,
    Reason,
    RejectReason,
    SourceCounts,
    SourceInfo,
    Strictness,
)
from dncsync.phone import normalize
from dncsync.policy import Policy, Requested, RequestKind, read_date_collected, read_expiration
from dncsync.privacy import mask_text
from dncsync.rejects import REASON_CODES, RejectSink, reason_codes
from dncsync.row_warnings import WarnedRows, WarningSink
from dncsync.sources import CsvRecords, ProgressHook, RowBatch, SourceSpec, open_source
from dncsync.sources.objects import expand, is_multi, many_objects
from dncsync.sources.prefetch import OrderedMap, Prefetch
from dncsync.sources.selection import Selected, Selection
from dncsync.sources.sheets import SheetRecords, is_sheet

JUDGES = 1  # threads judging phone columns
UNMAPPED_REASONS_KEPT = 1_000  # distinct raw reason texts kept for the report
_ABSENT = "\x00absent"  # a column the source does not have (no text can equal it)


class SourceNames:
    """Interned source names; ids fit the merge index's 15 bits."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._ids: dict[str, int] = {}

    def intern(self, name: str, fallback: int) -> int:
        """The id of `name`; past MAX_SOURCES distinct names, `fallback`."""
        found = self.find(name)
        return fallback if found is None else found

    def find(self, name: str) -> int | None:
        """The id of `name`, given it now if there is room; None past MAX_SOURCES names."""
        found = self._ids.get(name)
        if found is not None:
            return found
        if len(self.names) >= MAX_SOURCES:
            return None
        self._ids[name] = len(self.names)
        self.names.append(name)
        return self._ids[name]

    def rank(self) -> npt.NDArray[np.int64]:
        """rank[id]: the position of the id's name in sorted order."""
        order = sorted(range(len(self.names)), key=self.names.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        return rank


def normalize_rows(
    values: Sequence[str] | pa.StringArray, region: str, strictness: Strictness
) -> PhoneColumn:
    """Verdicts for a column of raw phone values, one phonenumbers call per value."""
    if isinstance(values, pa.Array):
        values = [value or "" for value in values.to_pylist()]
    accepted: list[int] = []
    keys: list[int] = []
    rejected: list[int] = []
    reasons: list[RejectReason] = []
    extensions: list[int] = []
    vanity: list[int] = []
    for row, raw in enumerate(values):
        result = normalize(raw, region, strictness)
        if result.e164 is None:
            assert result.reject is not None
            rejected.append(row)
            reasons.append(result.reject)
            continue
        accepted.append(row)
        keys.append(int(result.e164[1:]))
        if result.extension:
            extensions.append(row)
        if result.vanity:
            vanity.append(row)
    return PhoneColumn(
        np.array(accepted, dtype=np.intp),
        np.array(keys, dtype=np.uint64),
        np.array(rejected, dtype=np.intp),
        reason_codes(reasons),
        np.array(extensions, dtype=np.intp),
        np.array(vanity, dtype=np.intp),
    )


Codes = npt.NDArray[np.int64]


def _distinct(
    key: Codes, strength: Codes, requested: Codes, collected: Codes
) -> tuple[Codes, Codes]:
    """The distinct keys (in no set order) and each row's place among them, like np.unique.

    Linear time when the fields span little:

    dates collected in one export span a few thousand days and reasons and requests are few,
    so a presence table over (request, reason, day) replaces sorting the batch.
    """
    dated = collected != DC_NONE
    if not dated.any():
        return np.unique(key, return_inverse=True)
    low = int(collected[dated].min())
    day = np.where(dated, collected - low + 1, 0)
    span = int(day.max()) + 1
    space = (int(requested.max()) + 1) * 8 * span
    if space > 4 << 20:
        return np.unique(key, return_inverse=True)
    dense = (requested * 8 + strength) * span + day
    present = np.zeros(space, bool)
    present[dense] = True
    slots = np.flatnonzero(present)
    position = np.cumsum(present) - 1
    inverse = position[dense]
    group, day_of = np.divmod(slots, span)
    unique_requested, unique_strength = np.divmod(group, 8)
    unique_collected = np.where(day_of == 0, DC_NONE, day_of - 1 + low)
    unique = (unique_strength << 52) | (unique_requested << 24) | unique_collected
    return unique, inverse


def _encoded(
    values: pa.Array | None, rows: npt.NDArray[np.intp]
) -> tuple[Codes, list[str], list[int]]:
    """The picked rows of a column as dictionary codes, the texts, and rows per text.

    The block reader hands metadata columns over dictionary-encoded already; texts no picked
    row holds have a count of 0 and are skipped by the callers.
    """
    if values is None:
        return np.zeros(rows.size, np.int64), [_ABSENT], [int(rows.size)]
    if not pa.types.is_dictionary(values.type):
        values = values.dictionary_encode()
    indices = np.asarray(values.indices.to_numpy(zero_copy_only=False), np.int64)
    codes = indices[rows]
    texts = [text or "" for text in values.dictionary.to_pylist()]
    return codes, texts, np.bincount(codes, minlength=len(texts)).tolist()


class MetadataReader:
    """Turns rows' reason, dates and source into packed merge fields, with warnings.

    Exports repeat the same few reason texts and dates, so each column is dictionary-encoded
    and each distinct text read once (and remembered across batches). Retention depends on
    (reason, requested expiration, date collected): each distinct combination is resolved once
    through the policy and kept in a sorted numpy table, so a batch is a few array lookups.
    """

    def __init__(self, policy: Policy, today: date, names: SourceNames) -> None:
        self._policy = policy
        self._today = today
        self._names = names
        self._reasons: dict[str, tuple[Reason, str | None]] = {}
        self._dates_seen: pa.StringArray = pa.array([], pa.string())  # texts read so far
        self._date_ordinals = np.empty(0, np.int64)  # parallel: the day's ordinal, or DC_NONE
        self._date_warnings: list[str | None] = []  # parallel: the text's warning
        self._date_warned = np.empty(0, np.intp)  # the slots of texts with a warning
        self._requested: dict[tuple[str, str], int] = {}
        self._requests: list[Requested] = []
        self._request_ids: dict[Requested, int] = {}
        self._date_matters = np.zeros((8, 0), bool)  # by reason strength and request id
        self._known = np.empty(0, np.int64)  # sorted retention keys resolved so far
        self._expiry = np.empty(0, np.int64)  # parallel: packed expiry
        self._flags = np.empty(0, np.int64)  # parallel: warning bits
        self._kinds: list[str] = []  # warning kind of each bit
        self.warnings: Counter[str] = Counter()
        self.unmapped: Counter[str] = Counter()

    def pack_rows(
        self,
        batch: RowBatch,
        rows: npt.NDArray[np.intp],
        spec: SourceSpec,
        warned: WarnedRows | None = None,
    ) -> Meta:
        """Packed merge fields (reason, expiry, date collected, source) for the given rows.

        Warnings are counted by kind; given `warned`, the warned rows are noted there too.
        """
        if rows.size == 0:
            return np.empty(0, dtype=np.int64)
        strength = self._reason_strengths(batch.column("reason"), rows, spec, warned)
        collected = self._collected_ordinals(batch.column("date_collected"), rows, warned)
        requested = self._request_ids_of(batch, rows)
        key = (strength << 52) | (requested << 24) | collected
        unique, inverse = _distinct(key, strength, requested, collected)
        expiry, flags = self._retention(unique)
        if flags.any():
            self._count(flags, np.bincount(inverse, minlength=unique.size))
            if warned is not None:
                self._note_retention(warned, batch, rows, flags[inverse])
        packed: Meta = (
            (strength << REASON_SHIFT) | (expiry[inverse] << EXP_SHIFT) | (collected << DC_SHIFT)
        )
        return packed | self._source_ids(batch.column("source"), rows, spec, warned)

    def _reason_strengths(
        self,
        values: pa.Array | None,
        rows: npt.NDArray[np.intp],
        spec: SourceSpec,
        warned: WarnedRows | None,
    ) -> Codes:
        codes, texts, counts = _encoded(values, rows)
        fallback = spec.fallback_reason
        strengths = np.zeros(len(texts), np.int64)
        warned_slots: dict[int, tuple[str, str]] = {}  # slot -> (warning, detail)
        for slot, (text, rows_with_it) in enumerate(zip(texts, counts, strict=True)):
            if not rows_with_it:
                continue
            if text == _ABSENT:
                reason, warning = (fallback or Reason.UNKNOWN), None
            elif fallback is not None and not text.strip():
                reason, warning = fallback, None
            else:
                found = self._reasons.get(text)
                if found is None:
                    found = self._reasons[text] = self._policy.reason_for(text)
                reason, warning = found
                if warning == "unmapped_reason" and (
                    text.strip() in self.unmapped or len(self.unmapped) < UNMAPPED_REASONS_KEPT
                ):
                    self.unmapped[text.strip()] += rows_with_it
            if warning is not None:
                self.warnings[warning] += rows_with_it
                detail = mask_text(text.strip()) if warning == "unmapped_reason" else ""
                warned_slots[slot] = (warning, detail)
            strengths[slot] = reason.strength
        if warned is not None and warned_slots:
            _note_slots(warned, rows, codes, len(texts), warned_slots)
        return strengths[codes]

    def _collected_ordinals(
        self, values: pa.Array | None, rows: npt.NDArray[np.intp], warned: WarnedRows | None
    ) -> Codes:
        if values is not None:
            return self._collected_by_text(values, rows, warned)
        when, warning = read_date_collected("", self._today)  # the source has no such column
        if warning is not None:
            self.warnings[warning] += int(rows.size)
            if warned is not None:
                warned.add_kind(warning, rows)
        return np.full(rows.size, DC_NONE if when is None else when.toordinal(), np.int64)

    def _collected_by_text(
        self, values: pa.Array, rows: npt.NDArray[np.intp], warned: WarnedRows | None
    ) -> Codes:
        """Dates collected are many distinct texts (thousands of days): each batch's are
        looked up among the texts read before at once (pyarrow's index_in), and only new
        ones are parsed, once each."""
        if not pa.types.is_dictionary(values.type):
            values = values.dictionary_encode()
        texts = values.dictionary.fill_null("")
        where = pc.index_in(texts, value_set=self._dates_seen)
        if where.null_count:
            new = texts.filter(where.is_null())
            read = [read_date_collected(text, self._today) for text in new.to_pylist()]
            ordinals = [DC_NONE if when is None else when.toordinal() for when, _ in read]
            first = len(self._date_warnings)
            flagged = [first + i for i, (_, warning) in enumerate(read) if warning is not None]
            self._dates_seen = pa.concat_arrays([self._dates_seen, new])
            self._date_ordinals = np.concatenate((self._date_ordinals, ordinals)).astype(np.int64)
            self._date_warnings += [warning for _, warning in read]
            self._date_warned = np.concatenate((self._date_warned, np.array(flagged, np.intp)))
            where = pc.index_in(texts, value_set=self._dates_seen)
        slots = np.asarray(where.to_numpy(zero_copy_only=False), np.int64)
        indices = np.asarray(values.indices.to_numpy(zero_copy_only=False), np.int64)[rows]
        if self._date_warned.size:
            with_warning = np.isin(slots, self._date_warned)
            if with_warning.any():
                counts = np.bincount(indices, minlength=len(texts))
                found: dict[int, tuple[str, str]] = {}  # text's slot -> (warning, the text)
                for slot in np.flatnonzero(with_warning & (counts > 0)).tolist():
                    kind = self._date_warnings[int(slots[slot])]
                    assert kind is not None
                    self.warnings[kind] += int(counts[slot])
                    found[slot] = (kind, mask_text(str(texts[slot].as_py())))
                if warned is not None and found:
                    _note_slots(warned, rows, indices, len(texts), found)
        result: Codes = self._date_ordinals[slots][indices]
        return result

    def _request_ids_of(self, batch: RowBatch, rows: npt.NDArray[np.intp]) -> Codes:
        expiration, expiration_texts, _ = _encoded(batch.column("expiration"), rows)
        policy, policy_texts, _ = _encoded(batch.column("expiration_policy"), rows)
        combined = expiration * len(policy_texts) + policy
        unique, inverse = np.unique(combined, return_inverse=True)
        ids = np.empty(unique.size, np.int64)
        for slot, value in enumerate(unique.tolist()):
            texts = (
                expiration_texts[value // len(policy_texts)],
                policy_texts[value % len(policy_texts)],
            )
            found = self._requested.get(texts)
            if found is None:
                requested = read_expiration(*("" if t == _ABSENT else t for t in texts))
                found = self._request_ids.setdefault(requested, len(self._requests))
                if found == len(self._requests):
                    self._requests.append(requested)
                self._requested[texts] = found
            ids[slot] = found
        return ids[inverse]

    def _dateless(self, keys: Codes) -> Codes:
        """The keys with the date collected cleared where retention cannot depend on it.

        A reason whose rule is NEVER, or a request for NEVER (or an unreadable one), retains
        forever whatever the date: those keys share one resolution instead of one per day.
        """
        if self._date_matters.shape[1] < len(self._requests):
            matters = np.zeros((8, len(self._requests)), bool)
            for strength, reason in REASON_BY_STRENGTH.items():
                rule = self._policy.retention[reason]
                for slot, requested in enumerate(self._requests):
                    matters[strength, slot] = rule.policy is not ExpirationPolicy.NEVER and (
                        requested.kind not in (RequestKind.NEVER, RequestKind.UNREADABLE)
                    )
            self._date_matters = matters
        dated = self._date_matters[keys >> 52, (keys >> 24) & 0xFFFFFFF]
        result: Codes = np.where(dated, keys, keys | DC_NONE)
        return result

    def _retention(self, keys: Codes) -> tuple[Codes, Codes]:
        """Packed expiry and warning bits of each (reason, request, date collected) key."""
        keys = self._dateless(keys)
        where = np.searchsorted(self._known, keys)
        found = where < self._known.size
        found[found] = self._known[where[found]] == keys[found]
        if not found.all():
            missing = np.unique(keys[~found])
            expiry = np.empty(missing.size, np.int64)
            flags = np.zeros(missing.size, np.int64)
            for slot, key in enumerate(missing.tolist()):
                reason = REASON_BY_STRENGTH[key >> 52]
                requested = self._requests[(key >> 24) & 0xFFFFFFF]
                ordinal = key & DC_MASK
                when = None if ordinal == DC_NONE else date.fromordinal(ordinal)
                kept = self._policy.retention_for(reason, requested, when, self._today)
                expiry[slot] = expiry_code(kept.policy, kept.expires_at)
                for kind in kept.warnings:
                    if kind not in self._kinds:
                        self._kinds.append(kind)
                    flags[slot] |= 1 << self._kinds.index(kind)
            known = np.concatenate((self._known, missing))
            order = np.argsort(known, kind="stable")
            self._known = known[order]
            self._expiry = np.concatenate((self._expiry, expiry))[order]
            self._flags = np.concatenate((self._flags, flags))[order]
            where = np.searchsorted(self._known, keys)
        return self._expiry[where], self._flags[where]

    def _count(self, flags: Codes, counts: Codes) -> None:
        for bit, kind in enumerate(self._kinds):
            rows = int(counts[(flags >> bit) & 1 == 1].sum())
            if rows:
                self.warnings[kind] += rows

    def _note_retention(
        self, warned: WarnedRows, batch: RowBatch, rows: npt.NDArray[np.intp], flags: Codes
    ) -> None:
        """The rows whose retention was corrected, each with the text it corrected."""
        picked = np.flatnonzero(flags)
        expirations = _texts(batch.column("expiration"), rows[picked])
        policies = _texts(batch.column("expiration_policy"), rows[picked])
        for bit, kind in enumerate(self._kinds):
            having = np.flatnonzero((flags[picked] >> bit) & 1)
            if having.size:
                texts = policies if kind in _POLICY_WARNINGS else expirations
                warned.add_rows(
                    rows[picked[having]],
                    [kind] * having.size,
                    [texts[i] for i in having.tolist()],
                )

    def _source_ids(
        self,
        values: pa.Array | None,
        rows: npt.NDArray[np.intp],
        spec: SourceSpec,
        warned: WarnedRows | None,
    ) -> Codes:
        spec_source = self._names.intern(spec.name, 0)
        if values is None:
            return np.full(rows.size, spec_source, np.int64)
        codes, texts, counts = _encoded(values, rows)
        ids = np.full(len(texts), spec_source, np.int64)
        found: dict[int, tuple[str, str]] = {}  # slot -> (warning, the source text)
        for slot, (text, rows_with_it) in enumerate(zip(texts, counts, strict=True)):
            name = text.strip()
            if not name or not rows_with_it:
                continue
            known = self._names.find(spreadsheet_unescape(name))
            if known is None:  # past MAX_SOURCES names: the rows keep the source's own name
                self.warnings["too_many_source_names"] += rows_with_it
                found[slot] = ("too_many_source_names", mask_text(name))
            else:
                ids[slot] = known
        if warned is not None and found:
            _note_slots(warned, rows, codes, len(texts), found)
        result: Codes = ids[codes]
        return result


# Retention warnings about the expiration-policy column; the others are about the expiration.
_POLICY_WARNINGS = frozenset({"unknown_expiration_policy", "missing_expiration"})


def _note_slots(
    warned: WarnedRows,
    rows: npt.NDArray[np.intp],
    codes: Codes,
    slots: int,
    found: dict[int, tuple[str, str]],
) -> None:
    """Note the rows whose text (a dictionary slot, `codes` per row) drew a warning."""
    flagged = np.zeros(slots, bool)
    flagged[list(found)] = True
    picked = np.flatnonzero(flagged[codes])
    which = [found[slot] for slot in codes[picked].tolist()]
    warned.add_rows(rows[picked], [kind for kind, _ in which], [detail for _, detail in which])


def _texts(values: pa.Array | None, rows: npt.NDArray[np.intp]) -> list[str]:
    """A column's texts at some rows, numbers masked ("" where the source has no such column)."""
    if values is None:
        return [""] * rows.size
    texts = [text or "" for text in values.take(pa.array(rows)).to_pylist()]
    masked = {text: mask_text(text) for text in set(texts)}
    return [masked[text] for text in texts]


def _note_phones(warned: WarnedRows, phones: PhoneColumn) -> None:
    """The rows whose phone value was corrected, each with its number (masked)."""
    for kind, rows in (
        ("extension_dropped", phones.extension_rows),
        ("vanity_converted", phones.vanity_rows),
    ):
        if rows.size:
            keys = phones.keys[np.searchsorted(phones.accepted, rows)]
            # privacy.mask_phone of each E.164 number (+, digits): the last four masked.
            masked = [f"+{head}****" for head in (keys // 10_000).tolist()]
            warned.add_rows(rows, [kind] * rows.size, masked)


@dataclass(slots=True)
class IngestResult:
    """What ingest read: the accounting, each source's evidence, and the merged entries.

    `segments` hold one row per unique number, in numeric order of the key (the E.164 digits),
    in pieces; `chunks()` and `entries()` give them in E.164 string order.
    """

    accounting: Accounting
    sources: list[SourceInfo]
    today: date
    segments: Segments
    source_names: list[str]
    unmapped_reasons: dict[str, int] = field(default_factory=dict)  # text (masked) -> rows
    source_counts: dict[str, SourceCounts] = field(default_factory=dict)  # by source name
    # Multi-object sources: each object's accepted numbers (sorted keys), by source and URL.
    object_numbers: dict[str, dict[str, Keys]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(int(keys.size) for keys, _ in self.segments)

    @property
    def keys(self) -> Keys:
        """Every unique key in numeric order (a copy: chunks() keeps memory flat)."""
        return np.concatenate([keys for keys, _ in self.segments] or [np.empty(0, np.uint64)])

    def chunks(self, size: int = 262_144) -> Iterator[tuple[Keys, Meta]]:
        """The merged (keys, meta) in E.164 string order, a chunk at a time."""
        return e164_chunks(self.segments, size)

    def columns(self, only: Keys | None = None) -> EntryColumns:
        """Every merged entry as columns, sorted by phone number (as E.164 strings sort); with
        `only` (sorted keys), just the entries whose key is among them."""
        keys: list[Keys] = []
        meta: list[Meta] = []
        for chunk_keys, chunk_meta in self.chunks(262_144):
            if only is not None:
                wanted = np.isin(chunk_keys, only, assume_unique=True)
                chunk_keys, chunk_meta = chunk_keys[wanted], chunk_meta[wanted]
            keys.append(chunk_keys)
            meta.append(chunk_meta)
        return EntryColumns(
            np.concatenate(keys) if keys else np.empty(0, np.uint64),
            np.concatenate(meta) if meta else np.empty(0, np.int64),
            self.source_names,
        )

    def entries(self, only: Keys | None = None) -> Iterator[Entry]:
        """Every merged entry, sorted by phone number (as E.164 strings sort); with `only`
        (sorted keys), just the entries whose key is among them."""
        return iter(self.columns(only))

    def expired(self) -> int:
        """Entries whose retention ended before `today`: accepted and counted, not pushed."""
        ended = 0
        for _, meta in self.segments:
            expiry = (meta >> EXP_SHIFT) & EXP_MASK
            late = (expiry != EXP_NEVER) & ((expiry >> 1) < self.today.toordinal())
            ended += int(np.count_nonzero(late))
        return ended


Progress = ProgressHook
Normalizer = Callable[[pa.StringArray, str, Strictness], PhoneColumn]


def ingest(
    specs: Sequence[SourceSpec],
    policy: Policy,
    *,
    today: date,
    rejects: RejectSink | None = None,
    warnings: WarningSink | None = None,
    progress: Progress | None = None,
    normalizer: Normalizer | None = None,
) -> IngestResult:
    """Read, normalize and merge the sources; unreadable input raises InputError.

    `rejects` receives every rejected row, `warnings` every warned row (one per row and kind).
    """
    columnar = normalizer is None
    if not specs:
        raise InputError("no source given")
    share_one_arena()
    names = SourceNames()
    index = MergeIndex(names.rank)
    metadata = MetadataReader(policy, today, names)
    accounting = Accounting()
    warned_kinds: Counter[str] = Counter()
    reject_reasons: Counter[str] = Counter({reason.value: 0 for reason in RejectReason})
    infos: list[SourceInfo] = []
    counts: dict[str, SourceCounts] = {}
    object_numbers: dict[str, dict[str, Keys]] = {}
    for spec in specs:
        region = _checked_region(spec)
        names.intern(spec.name, 0)
        rejected_before, reasons_before = accounting.rejected, Counter(reject_reasons)
        metadata_before = Counter(metadata.warnings)
        phone_warnings: Counter[str] = Counter()
        reader_warnings: Counter[str] = Counter()
        multi = is_multi(spec.url)
        urls = expand(spec.url, spec.s3_endpoint_url) if multi else [spec.url]
        source_rows, source_blank = 0, 0
        chosen = Selected()
        parts: list[SourceInfo] = []
        for url in urls:
            part = dataclasses.replace(spec, url=url) if multi else spec
            obj = mask_text(url) if multi else None  # the rejects' and warnings' `object`
            object_keys: list[Keys] = []
            with open_source(part, progress) as opened:
                records: CsvRecords | SheetRecords = (
                    SheetRecords(opened.stream, part)
                    if is_sheet(opened.stream)
                    else CsvRecords(opened.stream, part)
                )
                selection = Selection(part)
                selected = selection.batches(records)

                # A pipeline of threads: one reads and parses the next blocks, one reads the
                # shapes and digits of their phones, one judges the phones of the blocks
                # before, and this one merges them in order (numpy and pyarrow release the GIL
                # while they work).
                fast = columnar and region == "US"
                prepare = functools.partial(_prepare, fast)
                judge = functools.partial(_judge, normalizer, region, spec.strictness)
                with (
                    Prefetch(selected) as batches,
                    OrderedMap(prepare, batches) as prepared,
                    OrderedMap(judge, prepared, workers=JUDGES) as judged,
                ):
                    for (batch, _), phones in judged:
                        phone = batch.column("phone")
                        assert phone is not None
                        phone_warnings["extension_dropped"] += phones.extensions
                        phone_warnings["vanity_converted"] += phones.vanity
                        warned = None if warnings is None else WarnedRows(batch.lines)
                        if warned is not None:
                            warned.add_lines(batch.warned)
                            _note_phones(warned, phones)
                        if phones.rejected.size:
                            codes = np.bincount(phones.codes, minlength=len(REASON_CODES))
                            for reason, count in zip(REASON_CODES, codes.tolist(), strict=True):
                                reject_reasons[reason.value] += count
                            accounting.rejected += int(phones.rejected.size)
                            if rejects is not None:
                                rejects.add(
                                    spec.name,
                                    batch.lines[phones.rejected],
                                    phone.take(pa.array(phones.rejected)),
                                    phones.codes,
                                    obj=obj,
                                )
                        packed = metadata.pack_rows(batch, phones.accepted, spec, warned)
                        index.add(phones.keys, packed)
                        if multi:
                            object_keys.append(phones.keys)
                        if warned is not None:
                            assert warnings is not None
                            warned.send(warnings, spec.name, obj)
                if warnings is not None:  # met after the last batch: a blank line, a lone header
                    last = WarnedRows(np.empty(0, np.int64))
                    last.add_lines(records.take_warned())
                    last.send(warnings, spec.name, obj)
                source_rows += records.rows
                source_blank += records.blank_lines
                reader_warnings += records.warnings
                chosen.add(selection.counts)
                parts.append(opened.info(records.rows))
            if multi:
                numbers = object_numbers.setdefault(spec.name, {})
                numbers[url] = np.unique(np.concatenate(object_keys or [np.empty(0, np.uint64)]))
        accounting.rows += source_rows
        accounting.values += chosen.values
        accounting.filtered += chosen.filtered
        accounting.rows_with_value += chosen.rows_with_value
        accounting.rows_without_value += chosen.rows_without_value
        accounting.blank_lines += source_blank
        found = reader_warnings + phone_warnings + (metadata.warnings - metadata_before)
        warned_kinds.update(found)
        counts[spec.name] = SourceCounts(
            rows=source_rows,
            rejected=accounting.rejected - rejected_before,
            blank_lines=source_blank,
            warnings=_nonzero(found),
            reject_reasons={k: n - reasons_before[k] for k, n in reject_reasons.items()},
            values=chosen.values,
            filtered=chosen.filtered,
            rows_with_value=chosen.rows_with_value,
            rows_without_value=chosen.rows_without_value,
        )
        infos.append(many_objects(spec, parts) if multi else parts[0])
    segments = index.finish()
    accounting.accepted = sum(int(keys.size) for keys, _ in segments)
    accounting.duplicates = index.rows - accounting.accepted
    accounting.warnings = _nonzero(warned_kinds)
    accounting.reject_reasons = dict(reject_reasons)
    assert accounting.balanced(), accounting
    return IngestResult(
        accounting,
        infos,
        today,
        segments,
        names.names,
        _masked_counts(metadata.unmapped),
        counts,
        object_numbers,
    )


def _masked_counts(texts: Counter[str]) -> dict[str, int]:
    """Free texts and their rows, numbers in them masked (texts that differ only in a
    number's last digits count together), most rows first."""
    masked: Counter[str] = Counter()
    for text, rows in texts.items():
        masked[mask_text(text)] += rows
    return dict(masked.most_common())


def run_accounting(results: Sequence[IngestResult]) -> Accounting:
    """The accounting of every distinct source the results read, merged once.

    Targets may sync from different sets of sources, and a source in two sets is read twice.
    Its rows, rejects, blank lines and warnings are facts of the source alone: each source
    counts once, however many sets hold it. `accepted` is the distinct numbers across all the
    sets (what merging every distinct source once gives), and `duplicates` the valid values
    left over, so `values = accepted + duplicates + rejected` holds here too.
    """
    if len(results) == 1:
        only = results[0].accounting
        return dataclasses.replace(
            only, warnings=dict(only.warnings), reject_reasons=dict(only.reject_reasons)
        )
    total = Accounting()
    warned: Counter[str] = Counter()
    reasons: Counter[str] = Counter({reason.value: 0 for reason in RejectReason})
    seen: set[str] = set()
    for result in results:
        for name, counts in result.source_counts.items():
            if name not in seen:
                seen.add(name)
                total.rows += counts.rows
                total.values += counts.values
                total.filtered += counts.filtered
                total.rows_with_value += counts.rows_with_value
                total.rows_without_value += counts.rows_without_value
                total.rejected += counts.rejected
                total.blank_lines += counts.blank_lines
                warned.update(counts.warnings)
                reasons.update(counts.reject_reasons)
    if results:
        total.accepted = int(np.unique(np.concatenate([r.keys for r in results])).size)
    total.duplicates = total.values - total.rejected - total.accepted
    total.warnings = _nonzero(warned)
    total.reject_reasons = dict(reasons)
    return total


def _nonzero(counts: Counter[str]) -> dict[str, int]:
    return {kind: count for kind, count in sorted(counts.items()) if count}


@dataclass(slots=True)
class _Phones:
    """A batch's phone column made ready to judge."""

    values: pa.StringArray  # spreadsheet artefacts read as their digits
    lost: npt.NDArray[np.intp]  # rows whose scientific notation lost digits (now empty)
    prepared: Prepared | None  # shapes and digits, when the fast path applies


_DIGITS_LOST = REASON_CODES.index(RejectReason.SCIENTIFIC_DIGITS_LOST)


def _prepare(fast: bool, batch: RowBatch) -> _Phones:
    """The batch's phone column repaired, and its shapes and digits for the fast path."""
    phone = batch.column("phone")
    assert phone is not None
    values, lost = repair(phone)
    return _Phones(values, lost, prepare_column(values) if fast else None)


def _judge(
    normalizer: Normalizer | None,
    region: str,
    strictness: Strictness,
    item: tuple[RowBatch, _Phones],
) -> PhoneColumn:
    """One batch's phone verdicts."""
    _, phones = item
    if phones.prepared is not None:
        judged = judge_prepared(phones.prepared, region, strictness)
    else:
        judged = (normalizer or normalize_column)(phones.values, region, strictness)
    if phones.lost.size:  # judged empty: their reason is that the digits were lost
        lost = np.isin(judged.rejected, phones.lost)
        assert int(lost.sum()) == phones.lost.size
        judged.codes = judged.codes.copy()
        judged.codes[lost] = _DIGITS_LOST
    return judged


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
    "run_accounting",
]
