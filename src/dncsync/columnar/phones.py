"""Phone verdicts for a whole column at once, identical to phonenumbers, value by value.

Most values are a few digits with punctuation. For those, phonenumbers' answer depends only on
whether a `+` leads and on the digit string, so once `dncsync.columnar.shapes` has read the
shapes and digits, this module replays phonenumbers' parsing steps (IDD, country code, the
US "1" prefixes, national prefixes for parsing) as array operations and decides validity with
one DFA per calling code compiled from phonenumbers' own metadata patterns (digitdfa). Any value
whose shape is not proven to behave this way (odd punctuation, a national-prefix transform
that applies, a handful of NANP shapes...) goes to `dncsync.phone.normalize`, so phonenumbers
decides it. tests/ingest/test_fastpath.py holds the two paths to the same answers. The fast
path covers the default region US; other default regions use phonenumbers per row.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import numpy.typing as npt
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import _test_number_length

from dncsync.columnar import kernels
from dncsync.columnar.column import PhoneColumn
from dncsync.columnar.digitdfa import (
    MAX_NSN,
    Unsupported,
    first_digits,
    general_dfa,
    main_region_facts,
    validity_dfa,
)
from dncsync.columnar.shapes import (
    CODE,
    FALLBACK,
    MAX_DIGITS,
    Prepared,
    as_bools,
    head_digits,
    prepare_column,
)
from dncsync.model import RejectReason, Strictness
from dncsync.phone import PhoneResult, normalize

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

_POW10 = np.array([10**power for power in range(20)], dtype=np.uint64)
_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip
_LENGTH_REASONS = {
    ValidationResult.IS_POSSIBLE: RejectReason.POSSIBLE_NOT_VALID,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: RejectReason.POSSIBLE_NOT_VALID,
    ValidationResult.TOO_SHORT: RejectReason.TOO_SHORT,
    ValidationResult.TOO_LONG: RejectReason.TOO_LONG,
    ValidationResult.INVALID_LENGTH: RejectReason.INVALID_LENGTH,
    ValidationResult.INVALID_COUNTRY_CODE: RejectReason.INVALID_COUNTRY_CODE,
}
_ACCEPT = -1


@dataclass(frozen=True, slots=True)
class Desc:
    """A PhoneNumberDesc as a full-match regex and the lengths it allows (empty: any)."""

    pattern: str
    lengths: tuple[int, ...]

    def matches(self, numbers: pa.StringArray, lengths: Ints) -> Mask:
        """phonenumbers' _is_number_matching_desc over a column."""
        ok = np.isin(lengths, self.lengths) if self.lengths else np.ones(lengths.size, bool)
        if not ok.any():
            return ok
        picked = np.flatnonzero(ok)
        hit = pc.match_substring_regex(numbers.take(pa.array(picked)), f"^(?:{self.pattern})$")
        ok[picked] = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        return ok


@dataclass(frozen=True, slots=True)
class Region:
    """What the fast path needs of one region's metadata."""

    code: str
    general: Desc | None
    types: tuple[Desc, ...]
    leading_digits: str | None
    prefix_for_parsing: str | None
    has_transform: bool
    length_result: tuple[int, ...]  # _test_number_length by NSN length 0..20

    def type_valid(self, numbers: pa.StringArray, lengths: Ints) -> Mask:
        """_number_type_helper(...) != UNKNOWN: the general pattern and any type pattern."""
        if self.general is None:
            return np.zeros(lengths.size, bool)
        valid = self.general.matches(numbers, lengths)
        if not valid.any():
            return valid
        candidates = np.flatnonzero(valid)
        sub, sub_lengths = numbers.take(pa.array(candidates)), lengths[candidates]
        any_type = np.zeros(candidates.size, bool)
        for desc in self.types:
            todo = np.flatnonzero(~any_type)
            if todo.size == 0:
                break
            any_type[todo] |= desc.matches(sub.take(pa.array(todo)), sub_lengths[todo])
        valid[candidates] = any_type
        return valid


def _desc(raw: object) -> Desc | None:
    pattern = getattr(raw, "national_number_pattern", None)
    if raw is None or not pattern:
        return None
    return Desc(pattern, tuple(getattr(raw, "possible_length", ()) or ()))


@functools.cache
def region_rules(calling_code: int, code: str) -> Region | None:
    """The fast path's view of a region's metadata (loaded once per region)."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, code)
    if metadata is None:
        return None
    types = tuple(d for d in (_desc(getattr(metadata, name)) for name in _TYPES) if d)
    return Region(
        code=code,
        general=_desc(metadata.general_desc),
        types=types,
        leading_digits=metadata.leading_digits,
        prefix_for_parsing=metadata.national_prefix_for_parsing or None,
        has_transform=bool(metadata.national_prefix_transform_rule),
        length_result=tuple(_test_number_length("0" * n, metadata) for n in range(21)),
    )


def _us_as_expected() -> bool:
    """The US metadata the national replay in _national_us was derived from."""
    metadata = PhoneMetadata.metadata_for_region("US")
    if metadata is None or metadata.general_desc is None:
        return False
    return (
        metadata.general_desc.national_number_pattern == r"[2-9]\d{9}|3\d{6}"
        and tuple(metadata.general_desc.possible_length) == (10,)
        and tuple(metadata.general_desc.possible_length_local_only) == (7,)
        and metadata.national_prefix_for_parsing == "1"
        and metadata.international_prefix == "011"
        and not metadata.national_prefix_transform_rule
    )


_US_AS_EXPECTED = _us_as_expected()


@functools.cache
def _calling_codes() -> npt.NDArray[np.bool_]:
    known = np.zeros(1000, bool)
    known[list(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)] = True
    return known


def _strings(values: npt.NDArray[np.uint64], lengths: Ints) -> pa.StringArray:
    """Digit strings of `lengths` digits (leading zeros kept) for the regex kernels."""
    compiled = kernels.compiled()
    if compiled is not None:
        offsets = np.empty(values.size + 1, np.int32)
        data = compiled.digit_strings(
            np.ascontiguousarray(values), np.ascontiguousarray(lengths), offsets
        )
        return pa.StringArray.from_buffers(values.size, pa.py_buffer(offsets), pa.py_buffer(data))
    text = pc.cast(pa.array(values), pa.string())
    out = text
    for width in np.unique(lengths).tolist():
        out = pc.if_else(
            pa.array(lengths == width), pc.utf8_lpad(text, width=width, padding="0"), out
        )
    return out


def _suffix(values: npt.NDArray[np.uint64], size: Ints) -> npt.NDArray[np.uint64]:
    return values % _POW10[np.clip(size, 0, 19)]


class _Verdicts:
    """Per-row outcome codes: _ACCEPT, FALLBACK, or a REASON_CODES index; plus keys."""

    def __init__(self, size: int) -> None:
        self.code = np.full(size, FALLBACK, np.int64)
        self.keys = np.zeros(size, np.uint64)


def _national_us(
    verdicts: _Verdicts,
    rows: Ints,
    values: npt.NDArray[np.uint64],
    counts: Ints,
    strictness: Strictness,
) -> None:
    """Numbers written without + or 011 with default region US.

    Replays _maybe_extract_country_code and _maybe_strip_national_prefix_carrier_code for US
    metadata (national prefix "1", general pattern `[2-9]\\d{9}|3\\d{6}`, lengths 10 and
    local 7): digits not starting with 1 are the NSN as written; "1" + 10 digits drops the 1
    (and a second 1); 12+ digits after a 1 drop the 1 (and a second and third 1, see
    below); otherwise the digits stay.
    """
    first = head_digits(values, counts, 1)
    second = head_digits(values, counts, 2) % 10
    third = head_digits(values, counts, 3) % 10
    one = first == 1
    if not _US_AS_EXPECTED:
        one[:] = False
        handled = ~one
    else:
        # "1" + 7 digits starting with 3 would match the 7-digit general pattern: phonenumbers.
        odd = one & (
            ((counts == 8) & (second == 3)) | ((counts == 9) & (second == 1) & (third == 3))
        )
        handled = ~odd
    drop = np.zeros(values.size, np.int64)
    drop[one & (counts == 11)] = 1
    drop[one & (counts == 11) & (second == 1)] = 2
    long = one & (counts >= 12)
    drop[long] = 1
    # "11..." past 11 digits: the country code and one national prefix go; parse() strips
    # a third "1" when at least 10 digits remain (TOO_SHORT otherwise keeps it).
    drop[long & (second == 1)] = 2
    drop[long & (second == 1) & (third == 1) & (counts - 3 >= 10)] = 3
    nsn_len = counts - drop
    nsn = _suffix(values, nsn_len)
    picked = rows[handled]
    ones = np.ones(picked.size, np.int64)
    _judge_all(verdicts, picked, ones, nsn[handled], nsn_len[handled], strictness, [1])


def _international(
    verdicts: _Verdicts,
    rows: Ints,
    values: npt.NDArray[np.uint64],
    counts: Ints,
    strictness: Strictness,
) -> None:
    """Numbers after + or 011: country code, then the region's national prefix rules."""
    short = counts <= 2
    verdicts.code[rows[short]] = CODE[RejectReason.TOO_SHORT]  # TOO_SHORT_AFTER_IDD
    zero = ~short & (head_digits(values, counts, 1) == 0)
    # "+0...": phonenumbers retries without the +; unless an IDD follows, no country code.
    retry_idd = zero & (head_digits(values, counts, 3) == 11)
    verdicts.code[rows[zero & ~retry_idd]] = CODE[RejectReason.INVALID_COUNTRY_CODE]
    usable = ~short & ~zero
    rows, values, counts = rows[usable], values[usable], counts[usable]
    known = _calling_codes()
    cc = np.zeros(rows.size, np.int64)
    cc_len = np.zeros(rows.size, np.int64)
    for size in (3, 2, 1):  # the shortest known code wins, as _extract_country_code does
        candidate = head_digits(values, counts, size)
        hit = (counts >= size) & known[candidate]
        cc = np.where(hit, candidate, cc)
        cc_len = np.where(hit, size, cc_len)
    verdicts.code[rows[cc == 0]] = CODE[RejectReason.INVALID_COUNTRY_CODE]
    rest_len = counts - cc_len
    rest = _suffix(values, rest_len)
    too_short = (cc != 0) & (rest_len < 2)
    verdicts.code[rows[too_short]] = CODE[RejectReason.TOO_SHORT]  # TOO_SHORT_NSN
    keep = (cc != 0) & ~too_short
    rows, cc, rest, rest_len = rows[keep], cc[keep], rest[keep], rest_len[keep]
    nsn, nsn_len = rest.copy(), rest_len.copy()
    judged = np.ones(rows.size, bool)
    # Only numbers starting with a digit their region's national prefix can start with may
    # have one to strip: the regex kernels see those few, per calling code.
    codes, slot = np.unique(cc, return_inverse=True)
    starts = np.array([_prefix_starts(code) for code in codes.tolist()], np.int64)
    tried = np.flatnonzero((starts[slot] >> head_digits(rest, rest_len, 1)) & 1)
    literal = np.array([_literal_prefix(code) for code in codes.tolist()], np.int64).reshape(-1, 2)
    by_digits = literal[slot[tried], 1] > 0
    if by_digits.any() and _strip_literal(
        tried[by_digits], cc, literal[slot], rest, rest_len, nsn, nsn_len, judged
    ):
        tried = tried[~by_digits]
    for index in np.unique(slot[tried]).tolist():
        group = tried[slot[tried] == index]
        code = int(codes[index])
        region = region_rules(code, phonenumbers.region_code_for_country_code(code))
        assert region is not None
        _strip(code, region, group, rest, rest_len, nsn, nsn_len, judged)
    _judge_all(verdicts, rows[judged], cc[judged], nsn[judged], nsn_len[judged], strictness)


@functools.cache
def _literal_prefix(code: int) -> tuple[int, int]:
    """(value, digits) of the code's national prefix when it is a plain digit string and no
    transform rule applies (most regions: "0"); (0, 0) otherwise."""
    facts = main_region_facts(code)
    text = None if facts is None else facts[1]
    if facts is None or text is None or not text.isdigit() or facts[2]:
        return 0, 0
    return int(text), len(text)


def _strip_literal(
    group: Ints,
    cc: Ints,
    literal: Ints,
    rest: npt.NDArray[np.uint64],
    rest_len: Ints,
    nsn: npt.NDArray[np.uint64],
    nsn_len: Ints,
    judged: Mask,
) -> bool:
    """_strip for the rows of regions with literal national prefixes, all codes in one pass.

    `literal[row]` is (value, digits) of the row's prefix. False when a general pattern does
    not compile (the caller then strips region by region).
    """
    generals = _judges(np.unique(cc[group]).tolist(), "general")
    if generals is None:  # pragma: no cover - every general pattern in the metadata compiles
        return False
    beyond = rest_len[group] > MAX_NSN  # past what the general-pattern DFA reads: phonenumbers
    judged[group[beyond]] = False
    group = group[~beyond]
    value, size = literal[group, 0], literal[group, 1]
    hit = (rest_len[group] > size) & (head_digits(rest[group], rest_len[group], size) == value)
    at = group[hit]
    if not at.size:
        return True
    by_code = np.zeros(1000, np.int64)
    codes = np.unique(cc[at]).tolist()
    by_code[codes] = [generals.slots[code] for code in codes]
    slot = by_code[cc[at]]
    stripped_len = rest_len[at] - size[hit]
    stripped = _suffix(rest[at], stripped_len)
    viable = generals.decide(slot, rest[at], rest_len[at])
    still = generals.decide(slot, stripped, stripped_len)
    result = generals.length_result[slot, np.minimum(stripped_len, 20)]
    take = ~(viable & ~still) & ~np.isin(result, _KEEPS_PREFIX)
    nsn[at[take]] = stripped[take]
    nsn_len[at[take]] = stripped_len[take]
    return True


# _test_number_length answers after stripping for which parse() keeps the national prefix.
_KEEPS_PREFIX = [
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
]


@functools.cache
def _prefix_starts(code: int) -> int:
    """Digits (bit set) a national prefix of the code's main region can start with."""
    facts = main_region_facts(code)
    if facts is None or facts[1] is None:
        return 0
    try:
        starts = first_digits(facts[1])
    except Unsupported:
        starts = None
    return (1 << 10) - 1 if starts is None else starts


def _strip(
    code: int,
    region: Region,
    group: Ints,
    rest: npt.NDArray[np.uint64],
    rest_len: Ints,
    nsn: npt.NDArray[np.uint64],
    nsn_len: Ints,
    judged: Mask,
) -> None:
    """phonenumbers' _maybe_strip_national_prefix_carrier_code for the rows in `group`.

    Updates nsn and nsn_len where the prefix is stripped; clears `judged` where a transform
    rule may rewrite the number (phonenumbers decides those).
    """
    prefix_text = region.prefix_for_parsing
    assert prefix_text is not None
    beyond = rest_len[group] > MAX_NSN  # past what the general-pattern DFA reads: phonenumbers
    judged[group[beyond]] = False
    group = group[~beyond]
    general = region.general
    assert general is not None
    general_match = general_dfa(code)
    if general_match is None:  # pragma: no cover - every general pattern in the metadata compiles
        judged[group] = False
        return
    if prefix_text.isdigit():  # a literal national prefix ("0", "8"): compared as digits
        size = len(prefix_text)
        hit = (rest_len[group] > size) & (
            head_digits(rest[group], rest_len[group], size) == int(prefix_text)
        )
        prefix = np.full(int(np.count_nonzero(hit)), size, np.int64)
    else:
        text = _strings(rest[group], rest_len[group])
        prefix_re = re.sub(r"(?<!\\)\((?!\?)", "(?:", prefix_text)  # no captures
        hit = as_bools(pc.match_substring_regex(text, f"^(?:{prefix_re})"))
        if hit.any() and not region.has_transform:
            found = pc.extract_regex(text.filter(pa.array(hit)), pattern=f"^(?P<p>(?:{prefix_re}))")
            prefix = pc.utf8_length(pc.struct_field(found, [0])).to_numpy(zero_copy_only=False)
    if not hit.any():
        return
    if region.has_transform:
        # A transform applies only when the pattern's last group took part in the match;
        # otherwise the prefix is stripped as anywhere else. Python's re decides, per row.
        hit, prefix = _transform_free(region, group, hit, rest, rest_len, judged)
        if not hit.any():
            return
    at = group[hit]
    stripped_len = rest_len[at] - np.asarray(prefix, np.int64)
    stripped = _suffix(rest[at], stripped_len)
    viable = general_match.decide(rest[at], rest_len[at])
    still = general_match.decide(stripped, stripped_len)
    result = np.array(region.length_result, np.int64)[np.minimum(stripped_len, 20)]
    long_enough = ~np.isin(
        result,
        [
            ValidationResult.TOO_SHORT,
            ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
            ValidationResult.INVALID_LENGTH,
        ],
    )
    take = ~(viable & ~still) & long_enough
    nsn[at[take]] = stripped[take]
    nsn_len[at[take]] = stripped_len[take]


def _judge(
    verdicts: _Verdicts,
    rows: Ints,
    code: int,
    nsn: npt.NDArray[np.uint64],
    nsn_len: Ints,
    strictness: Strictness,
) -> None:
    """is_valid_number (or is_possible_number) and the reject reason, for one country code."""
    if rows.size == 0:
        return
    too_long = nsn_len > 17  # parse() refuses NSNs over 17 digits
    verdicts.code[rows[too_long]] = CODE[RejectReason.TOO_LONG]
    keep = ~too_long
    rows, nsn, nsn_len = rows[keep], nsn[keep], nsn_len[keep]
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
    main = region_rules(code, regions[0])
    if main is None:  # pragma: no cover - every calling code has metadata
        return
    length = np.array(main.length_result, np.int64)[np.minimum(nsn_len, 20)]
    possible = np.isin(
        length, [ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY]
    )
    decision = validity_dfa(code)
    if strictness is Strictness.POSSIBLE:
        accepted = possible
    elif decision is not None:
        accepted = decision.decide(nsn, nsn_len)
    else:  # pragma: no cover - every pattern in the pinned metadata compiles
        accepted = _valid(code, regions, _strings(nsn, nsn_len), nsn_len)
    digits = len(str(code)) + nsn_len
    fits = digits <= MAX_DIGITS
    reasons = np.array([CODE[_LENGTH_REASONS[v]] for v in range(len(_LENGTH_REASONS))])
    verdicts.code[rows] = np.where(accepted, np.where(fits, _ACCEPT, FALLBACK), reasons[length])
    verdicts.keys[rows] = np.where(
        accepted & fits, np.uint64(code) * _POW10[np.minimum(nsn_len, 19)] + nsn, 0
    )


def _transform_free(
    region: Region,
    group: Ints,
    hit: Mask,
    rest: npt.NDArray[np.uint64],
    rest_len: Ints,
    judged: Mask,
) -> tuple[Mask, Ints]:
    """Rows whose prefix match leaves the transform rule unused, and the prefix lengths.

    Rows where the rule would rewrite the number go to phonenumbers (judged cleared).
    """
    assert region.prefix_for_parsing is not None
    pattern = _compiled(region.prefix_for_parsing)
    rows = group[hit]
    plain = np.zeros(rows.size, bool)
    prefix = np.zeros(rows.size, np.int64)
    for slot, (value, size) in enumerate(
        zip(rest[rows].tolist(), rest_len[rows].tolist(), strict=True)
    ):
        found = pattern.match(str(value).zfill(size))
        if found is not None and found.groups() and found.groups()[-1] is None:
            plain[slot] = True
            prefix[slot] = found.end()
    judged[rows[~plain]] = False
    kept = np.zeros(hit.size, bool)
    kept[np.flatnonzero(hit)[plain]] = True
    return kept, prefix[plain]


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class _Judges:
    """Several calling codes' validity DFAs and length tables side by side, by slot."""

    slots: dict[int, int]  # calling code -> slot
    moves: Ints  # every code's table * 10, states shifted to the code's place
    valid: Mask
    starts: Ints  # by slot: the start state * 10
    length_result: Ints  # by slot and NSN length 0..20: _test_number_length's answer
    _pairs: list[Ints] = field(default_factory=list)  # built by the numpy walk, when it runs

    @property
    def pairs(self) -> Ints:
        """Two digits at a time: pairs[state * 100 + dd] = next * 100 (for the numpy walk only:
        the compiled kernel needs no such table, and building it costs 40 ms per table)."""
        if not self._pairs:
            following = self.moves.reshape(-1, 10) // 10
            self._pairs.append(following[following].reshape(-1) * 100)
        return self._pairs[0]

    def decide(self, slot: Ints, nsn: npt.NDArray[np.uint64], lengths: Ints) -> Mask:
        """is_valid_number for NSNs of the codes in `slot` (digit counts <= 17).

        The walk takes two digits per step (a leading odd digit first, on its own).
        """
        result = np.zeros(nsn.size, bool)
        for length in np.unique(lengths).tolist():
            rows = np.flatnonzero(lengths == length)
            left = nsn[rows].astype(np.int64)
            steps = length // 2
            pairs = np.empty((steps, rows.size), np.int64)
            for step in range(steps - 1, -1, -1):
                pairs[step] = left % 100
                left //= 100
            at = self.starts[slot[rows]]
            if length % 2:
                at = self.moves[at + left]
            at *= 10
            for step in range(steps):
                at = self.pairs[at + pairs[step]]
            result[rows] = self.valid[at // 100]
        return result


_tables_lock = threading.Lock()
_EMPTY = _Judges(
    {},
    np.zeros(10, np.int64),
    np.zeros(1, bool),
    np.zeros(0, np.int64),
    np.zeros((0, 21), np.int64),
)
_tables_now: dict[str, _Judges] = {"valid": _EMPTY, "general": _EMPTY}
_loaded_lock = threading.Lock()
_loaded_codes: list[int] = []  # the calling codes judge_us's tables hold
_loaded_tables: list[_CodeTables] = [(np.full(5000, -1, np.int64), _EMPTY, _EMPTY)]


def _judges(codes: Sequence[int], kind: str = "valid") -> _Judges | None:
    """Side-by-side tables holding `codes`: is_valid_number ("valid") or the main region's
    general pattern ("general"); None if one's patterns do not compile."""
    with _tables_lock:
        current = _tables_now[kind]
        missing = [code for code in codes if code not in current.slots]
        if not missing:
            return current
        dfas = [validity_dfa(code) if kind == "valid" else general_dfa(code) for code in missing]
        if any(dfa is None for dfa in dfas):
            return None
        moves, valid, starts = [current.moves], [current.valid], [current.starts]
        lengths = [current.length_result]
        slots = dict(current.slots)
        offset = current.valid.size
        for code, dfa in zip(missing, dfas, strict=True):
            assert dfa is not None
            main = main_region_facts(code)
            assert main is not None
            slots[code] = len(slots)
            moves.append(dfa.moves + offset * 10)
            valid.append(dfa.valid)
            starts.append(np.array([(offset + dfa.start) * 10], np.int64))
            lengths.append(np.array([main[0]], np.int64))
            offset += dfa.valid.size
        built = _tables_now[kind] = _Judges(
            slots,
            np.concatenate(moves),
            np.concatenate(valid),
            np.concatenate(starts),
            np.concatenate(lengths),
        )
        return built


_REASON_BY_LENGTH = np.array([CODE[_LENGTH_REASONS[v]] for v in range(len(_LENGTH_REASONS))])
_POSSIBLE_BY_LENGTH = np.array(
    [
        v in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY)
        for v in range(len(_LENGTH_REASONS))
    ]
)


def _judge_all(
    verdicts: _Verdicts,
    rows: Ints,
    cc: Ints,
    nsn: npt.NDArray[np.uint64],
    nsn_len: Ints,
    strictness: Strictness,
    codes: list[int] | None = None,
) -> None:
    """is_valid_number (or is_possible_number) and the reject reason, for any calling codes.

    `codes`: the distinct calling codes in `cc`, when the caller knows them.
    """
    if rows.size == 0:
        return
    too_long = nsn_len > 17  # parse() refuses NSNs over 17 digits
    verdicts.code[rows[too_long]] = CODE[RejectReason.TOO_LONG]
    keep = ~too_long
    rows, cc, nsn, nsn_len = rows[keep], cc[keep], nsn[keep], nsn_len[keep]
    codes = np.unique(cc).tolist() if codes is None else codes
    judges = _judges(codes)
    if judges is None:  # pragma: no cover - every pattern in the pinned metadata compiles
        for code in codes:
            group = np.flatnonzero(cc == code)
            _judge(verdicts, rows[group], code, nsn[group], nsn_len[group], strictness)
        return
    compiled = kernels.compiled()
    if compiled is not None:
        by_code = np.full(1000, -1, np.int64)
        by_code[codes] = [judges.slots[code] for code in codes]
        code_out = np.empty(rows.size, np.int64)
        keys_out = np.empty(rows.size, np.uint64)
        compiled.judge(
            *(np.ascontiguousarray(a) for a in (cc, nsn, nsn_len)),
            by_code,
            judges.length_result,
            judges.moves,
            judges.valid,
            judges.starts,
            _REASON_BY_LENGTH,
            _POSSIBLE_BY_LENGTH,
            strictness is Strictness.POSSIBLE,
            CODE[RejectReason.TOO_LONG],
            _ACCEPT,
            FALLBACK,
            code_out,
            keys_out,
        )
        verdicts.code[rows] = code_out
        verdicts.keys[rows] = keys_out
        return
    by_code = np.zeros(1000, np.int64)
    by_code[codes] = [judges.slots[code] for code in codes]
    slot = by_code[cc]
    length = judges.length_result[slot, np.minimum(nsn_len, 20)]
    if strictness is Strictness.POSSIBLE:
        accepted = _POSSIBLE_BY_LENGTH[length]
    else:
        accepted = judges.decide(slot, nsn, nsn_len)
    fits = 1 + (cc >= 10) + (cc >= 100) + nsn_len <= MAX_DIGITS
    verdicts.code[rows] = np.where(
        accepted, np.where(fits, _ACCEPT, FALLBACK), _REASON_BY_LENGTH[length]
    )
    verdicts.keys[rows] = np.where(
        accepted & fits, cc.astype(np.uint64) * _POW10[np.minimum(nsn_len, 19)] + nsn, 0
    )


def _valid(code: int, regions: Sequence[str], numbers: pa.StringArray, lengths: Ints) -> Mask:
    """is_valid_number: region_code_for_number's choice among a code's regions, then its types."""
    if len(regions) == 1:
        region = region_rules(code, regions[0])
        return region.type_valid(numbers, lengths) if region else np.zeros(lengths.size, bool)
    valid = np.zeros(lengths.size, bool)
    undecided = np.arange(lengths.size)
    for region_code in regions:
        if undecided.size == 0:
            break
        region = region_rules(code, region_code)
        if region is None:
            continue
        sub = numbers.take(pa.array(undecided))
        if region.leading_digits is not None:
            chosen = np.asarray(
                pc.match_substring_regex(sub, f"^(?:{region.leading_digits})").to_numpy(
                    zero_copy_only=False
                ),
                bool,
            )
            picked = undecided[chosen]
            valid[picked] = region.type_valid(numbers.take(pa.array(picked)), lengths[picked])
        else:
            chosen = region.type_valid(sub, lengths[undecided])
            valid[undecided[chosen]] = True
        undecided = undecided[~chosen]
    return valid


def judge_prepared(prepared: Prepared, region: str, strictness: Strictness) -> PhoneColumn:
    """The verdicts for a prepared column (the fast path covers default region US)."""
    if region != "US":
        size = len(prepared.values)
        none = np.zeros(size, bool)
        return _collect(prepared.values, _Verdicts(size), none, none, region, strictness)
    verdicts = _Verdicts(len(prepared.values))
    verdicts.code[:] = prepared.code
    compiled = kernels.compiled()
    if (
        compiled is None
        or not _US_AS_EXPECTED
        or not _judge_compiled(compiled, prepared, verdicts, strictness)
    ):
        _judge_numpy(prepared, verdicts, prepared.rows, strictness)
    return _collect(
        prepared.values, verdicts, prepared.extension, prepared.vanity, region, strictness
    )


_DEFER = -3  # a verdict code of the compiled pass: the numpy code decides
_NEED = -4  # a verdict code of the compiled pass: the calling code's tables are not loaded
_KEEPS_PREFIX_BY_RESULT = np.array(
    [result in _KEEPS_PREFIX for result in range(len(_LENGTH_REASONS))], bool
)
_CodeTables = tuple[Ints, "_Judges", "_Judges"]  # judge_us's per-code facts and DFA tables


def _judge_compiled(
    compiled: ModuleType, prepared: Prepared, verdicts: _Verdicts, strictness: Strictness
) -> bool:
    """judge_prepared's routing, parsing and verdicts in one compiled pass (judge_us).

    Rows of calling codes whose tables are not loaded yet come back with _NEED: the tables
    are loaded and those rows judged again. Rows whose national prefix needs a regular
    expression come back deferred and go through the numpy code. False when a calling
    code's tables cannot be built (then numpy decides every row).
    """
    rows = prepared.rows
    columns = [
        np.ascontiguousarray(column)
        for column in (prepared.digits, prepared.counts, prepared.plus, prepared.leading)
    ]
    code = np.empty(rows.size, np.int64)
    keys = np.empty(rows.size, np.uint64)
    missing = np.zeros(1000, np.uint8)
    _judge_us(compiled, columns, _loaded_tables[-1], strictness, missing, code, keys)
    need = np.flatnonzero(code == _NEED)
    if need.size:
        tables = _load_codes(np.flatnonzero(missing).tolist())
        if tables is None:  # pragma: no cover - every pattern in the pinned metadata compiles
            return False
        again = [column[need] for column in columns]
        sub_code, sub_keys = np.empty(need.size, np.int64), np.empty(need.size, np.uint64)
        _judge_us(compiled, again, tables, strictness, missing, sub_code, sub_keys)
        if (sub_code == _NEED).any():  # pragma: no cover - loaded tables hold every code asked
            return False
        code[need], keys[need] = sub_code, sub_keys
    verdicts.code[rows] = code
    verdicts.keys[rows] = keys
    deferred = np.flatnonzero(code == _DEFER)
    if deferred.size:
        verdicts.code[rows[deferred]] = FALLBACK
        _judge_numpy(prepared, verdicts, rows, strictness, only=deferred)
    return True


def _judge_us(
    compiled: ModuleType,
    columns: list[npt.NDArray[np.generic]],
    tables: _CodeTables,
    strictness: Strictness,
    missing: npt.NDArray[np.uint8],
    code: Ints,
    keys: npt.NDArray[np.uint64],
) -> None:
    info, valid, general = tables
    compiled.judge_us(
        *columns,
        _calling_codes(),
        info,
        *(valid.moves, valid.valid, valid.starts, valid.length_result),
        *(general.moves, general.valid, general.starts, general.length_result),
        _REASON_BY_LENGTH,
        _POSSIBLE_BY_LENGTH,
        _KEEPS_PREFIX_BY_RESULT,
        strictness is Strictness.POSSIBLE,
        CODE[RejectReason.TOO_LONG],
        CODE[RejectReason.TOO_SHORT],
        CODE[RejectReason.INVALID_COUNTRY_CODE],
        _ACCEPT,
        FALLBACK,
        _DEFER,
        _NEED,
        missing,
        code,
        keys,
    )


def _load_codes(codes: list[int]) -> _CodeTables | None:
    """judge_us's tables with these calling codes added to the ones loaded before."""
    with _loaded_lock:
        known = set(_loaded_codes)
        wanted = sorted(known | set(codes))
        if len(wanted) == len(known):
            return _loaded_tables[-1]
        tables = _code_tables(wanted)
        if tables is not None:
            _loaded_codes[:] = wanted
            _loaded_tables.append(tables)
            del _loaded_tables[:-1]
        return tables


def _code_tables(codes: list[int]) -> tuple[Ints, _Judges, _Judges] | None:
    """judge_us's tables for these calling codes: the per-code facts, validity DFAs, and the
    general DFAs of codes with a literal national prefix."""
    valid = _judges(codes)
    if valid is None:  # pragma: no cover - every pattern in the pinned metadata compiles
        return None
    literal = [code for code in codes if _literal_prefix(code)[1] > 0]
    general = _judges(literal, "general") if literal else _tables_now["general"]
    info = np.full(5000, -1, np.int64)
    for code in codes:
        value, size = _literal_prefix(code)
        info[code] = _prefix_starts(code)
        info[1000 + code] = value
        info[2000 + code] = size
        info[3000 + code] = valid.slots[code]
        if general is not None and code in general.slots:
            info[4000 + code] = general.slots[code]
    return info, valid, general if general is not None else _EMPTY


def _judge_numpy(
    prepared: Prepared,
    verdicts: _Verdicts,
    all_rows: Ints,
    strictness: Strictness,
    only: Ints | None = None,
) -> None:
    """judge_prepared with numpy, for the prepared rows (or the `only` ones among them)."""
    rows, digit_values, counts = all_rows, prepared.digits, prepared.counts
    plus, leading = prepared.plus, prepared.leading
    if only is not None:
        rows, digit_values, counts = rows[only], digit_values[only], counts[only]
        plus, leading = plus[only], leading[only]
    ok = (counts >= 3) & (counts <= MAX_DIGITS)
    idd = ~plus & (counts >= 6) & (leading == 11) & (head_digits(digit_values, counts, 4) % 10 != 0)
    national = ok & ~plus & ~idd
    _national_us(verdicts, rows[national], digit_values[national], counts[national], strictness)
    if _US_AS_EXPECTED:
        # National digits past 19: at most three leading digits are ever stripped (country
        # code 1, national prefix 1 twice), leaving more than 17: parse() says TOO_LONG.
        long = (counts > MAX_DIGITS) & ~plus & (leading >= 0) & (leading != 11)
        verdicts.code[rows[long]] = CODE[RejectReason.TOO_LONG]
    intl = ok & (plus | idd)
    e_counts = np.where(idd, counts - 3, counts)
    e_values = np.where(idd, _suffix(digit_values, counts - 3), digit_values)
    _international(verdicts, rows[intl], e_values[intl], e_counts[intl], strictness)


def normalize_column(
    values: Sequence[str] | pa.StringArray, region: str, strictness: Strictness
) -> PhoneColumn:
    """Verdicts for a column of raw values: the fast path where proven, phonenumbers elsewhere."""
    if region != "US":
        column = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        column = column.fill_null("") if column.null_count else column
        none = np.zeros(len(column), bool)
        return _collect(column, _Verdicts(len(column)), none, none, region, strictness)
    return judge_prepared(prepare_column(values), region, strictness)


def _collect(
    values: pa.StringArray,
    verdicts: _Verdicts,
    extension: Mask,
    vanity_rows: Mask,
    region: str,
    strictness: Strictness,
) -> PhoneColumn:
    """Send what the fast path left to phonenumbers and build the batch's PhoneColumn."""
    code, keys = verdicts.code, verdicts.keys
    extensions = np.flatnonzero(extension & (code == _ACCEPT))
    vanity = np.flatnonzero(vanity_rows & (code == _ACCEPT))
    left = np.flatnonzero(code == FALLBACK)
    raw = values.take(pa.array(left)).to_pylist() if left.size else []
    more_extensions: list[int] = []
    more_vanity: list[int] = []
    for row, text in zip(left.tolist(), raw, strict=True):
        result = _per_row(text, region, strictness)
        if result.e164 is None:
            assert result.reject is not None
            code[row] = CODE[result.reject]
        else:
            code[row] = _ACCEPT
            keys[row] = int(result.e164[1:])
            if result.extension:
                more_extensions.append(row)
            if result.vanity:
                more_vanity.append(row)
    accepted = np.flatnonzero(code == _ACCEPT)
    rejected = np.flatnonzero(code != _ACCEPT)
    return PhoneColumn(
        accepted,
        keys[accepted],
        rejected,
        code[rejected].astype(np.int8),
        _with_rows(extensions, more_extensions),
        _with_rows(vanity, more_vanity),
    )


def _with_rows(rows: npt.NDArray[np.intp], more: list[int]) -> npt.NDArray[np.intp]:
    """Row indices and a few more, in order."""
    if not more:
        return rows.astype(np.intp, copy=False)
    return np.sort(np.concatenate((rows, np.array(more, np.intp)))).astype(np.intp)


_CACHE_SIZE = 65_536


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _per_row(raw: str | None, region: str, strictness: Strictness) -> PhoneResult:
    """phonenumbers' verdict on one value; junk repeats ("N/A", "#VALUE!"), so it is cached."""
    return normalize(raw or "", region, strictness)
