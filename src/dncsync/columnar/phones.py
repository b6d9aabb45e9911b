"""Phone verdicts for a whole column at once, identical to phonenumbers, value by value.

Most values are a few digits with punctuation. For those, phonenumbers' answer depends only on
whether a `+` leads and on the digit string, so the fast path strips punctuation with numpy on
the column's bytes, replays phonenumbers' parsing steps (IDD, country code, national prefix) as
array operations, and applies the validity patterns phonenumbers ships in its metadata (RE2-
compatible regular expressions) with pyarrow's regex kernels, a batch at a time. Any value whose
shape is not proven to behave this way (letters, odd punctuation, national numbers starting with
1 in unusual lengths, national-prefix transform rules...) goes to `dncsync.phone.normalize`, so
phonenumbers decides it. tests/ingest/test_fastpath.py holds the two paths to the same answers.
The fast path covers the default region US; other default regions use phonenumbers per row.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import _test_number_length

from dncsync.columnar.column import PhoneColumn
from dncsync.columnar.digitdfa import (
    MAX_NSN,
    Unsupported,
    first_digits,
    pattern_dfa,
    validity_dfa,
)
from dncsync.model import RejectReason, Strictness
from dncsync.phone import PhoneResult, normalize
from dncsync.rejects import REASON_CODES

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

# Digits with spaces, brackets, dots, dashes and slashes; one optional leading "+". Leading
# spaces/brackets and trailing spaces/brackets are what phonenumbers strips itself.
_PLAIN = r"[ (]*\+?[ (]*[0-9][0-9 ().\-/]*[0-9][ )]*"
_PLAIN_RE = f"^{_PLAIN}$"
# An extension phonenumbers recognises: " ext. 12", " x12", " #12", ", ext 12".
_EXTENSION_RE = rf"^(?P<core>{_PLAIN})[ ,]*(?i:ext\.?|x|#)[ .:]*(?P<ext>[0-9]{{1,7}})$"
_PLUS_RE = r"^[ (]*\+"
_MAX_DIGITS = 19  # keys are uint64
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
_CODE = {reason: index for index, reason in enumerate(REASON_CODES)}
_ACCEPT = -1
_FALLBACK = -2
_NO_DIGITS_RE = r"^[^0-9+]*$"
_VANITY_RE = r"^[ (]*\+?[ (]*(?:[0-9][ ().\-]*){3,}[A-Za-z][A-Za-z0-9 .\-]*[A-Za-z][ ]*$"
_KEYPAD = ("ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ")


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
    text = pc.cast(pa.array(values), pa.string())
    out = text
    for width in np.unique(lengths).tolist():
        out = pc.if_else(
            pa.array(lengths == width), pc.utf8_lpad(text, width=width, padding="0"), out
        )
    return out


def _digits(core: pa.StringArray) -> tuple[npt.NDArray[np.uint64], Ints]:
    """Each value's digits as an integer (last 19 digits) and how many digits it has."""
    core = core.combine_chunks() if isinstance(core, pa.ChunkedArray) else core
    offsets = np.frombuffer(core.buffers()[1], np.int32)[core.offset : core.offset + len(core) + 1]
    data = np.frombuffer(core.buffers()[2], np.uint8)[: offsets[-1]]
    is_digit = (data >= 48) & (data <= 57)
    before = np.zeros(data.size + 1, np.int64)
    np.cumsum(is_digit, out=before[1:])
    row_digits = before[offsets]  # digits before each row start
    counts = np.diff(row_digits)
    ends = np.repeat(row_digits[1:], np.diff(offsets))[is_digit]
    after = ends - before[1:][is_digit]  # digits after this one in its row
    weight = np.where(after < 20, _POW10[np.minimum(after, 19)], 0).astype(np.uint64)
    contributions = (data[is_digit] - 48).astype(np.uint64) * weight
    values = np.zeros(len(core), np.uint64)
    nonempty = counts > 0
    values[nonempty] = np.add.reduceat(contributions, row_digits[:-1][nonempty])
    return values, counts


def _prefix(values: npt.NDArray[np.uint64], counts: Ints, size: int) -> Ints:
    """The first `size` digits of each value (as an integer; meaningless past 19 digits)."""
    shift = np.clip(counts - size, 0, 19)
    return (values // _POW10[shift]).astype(np.int64)


def _suffix(values: npt.NDArray[np.uint64], size: Ints) -> npt.NDArray[np.uint64]:
    return values % _POW10[np.clip(size, 0, 19)]


class _Verdicts:
    """Per-row outcome codes: _ACCEPT, _FALLBACK, or a REASON_CODES index; plus keys."""

    def __init__(self, size: int) -> None:
        self.code = np.full(size, _FALLBACK, np.int64)
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
    first = _prefix(values, counts, 1)
    second = _prefix(values, counts, 2) % 10
    third = _prefix(values, counts, 3) % 10
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
    _judge_all(
        verdicts, picked, np.ones(picked.size, np.int64), nsn[handled], nsn_len[handled], strictness
    )


def _international(
    verdicts: _Verdicts,
    rows: Ints,
    values: npt.NDArray[np.uint64],
    counts: Ints,
    strictness: Strictness,
) -> None:
    """Numbers after + or 011: country code, then the region's national prefix rules."""
    short = counts <= 2
    verdicts.code[rows[short]] = _CODE[RejectReason.TOO_SHORT]  # TOO_SHORT_AFTER_IDD
    zero = ~short & (_prefix(values, counts, 1) == 0)
    # "+0...": phonenumbers retries without the +; unless an IDD follows, no country code.
    retry_idd = zero & (_prefix(values, counts, 3) == 11)
    verdicts.code[rows[zero & ~retry_idd]] = _CODE[RejectReason.INVALID_COUNTRY_CODE]
    usable = ~short & ~zero
    rows, values, counts = rows[usable], values[usable], counts[usable]
    known = _calling_codes()
    cc = np.zeros(rows.size, np.int64)
    cc_len = np.zeros(rows.size, np.int64)
    for size in (3, 2, 1):  # the shortest known code wins, as _extract_country_code does
        candidate = _prefix(values, counts, size)
        hit = (counts >= size) & known[candidate]
        cc = np.where(hit, candidate, cc)
        cc_len = np.where(hit, size, cc_len)
    verdicts.code[rows[cc == 0]] = _CODE[RejectReason.INVALID_COUNTRY_CODE]
    rest_len = counts - cc_len
    rest = _suffix(values, rest_len)
    too_short = (cc != 0) & (rest_len < 2)
    verdicts.code[rows[too_short]] = _CODE[RejectReason.TOO_SHORT]  # TOO_SHORT_NSN
    keep = (cc != 0) & ~too_short
    rows, cc, rest, rest_len = rows[keep], cc[keep], rest[keep], rest_len[keep]
    nsn, nsn_len = rest.copy(), rest_len.copy()
    judged = np.ones(rows.size, bool)
    # Only numbers starting with a digit their region's national prefix can start with may
    # have one to strip: the regex kernels see those few, per calling code.
    codes, slot = np.unique(cc, return_inverse=True)
    starts = np.array([_prefix_starts(code) for code in codes.tolist()], np.int64)
    tried = np.flatnonzero((starts[slot] >> _prefix(rest, rest_len, 1)) & 1)
    for index in np.unique(slot[tried]).tolist():
        group = tried[slot[tried] == index]
        code = int(codes[index])
        region = region_rules(code, phonenumbers.region_code_for_country_code(code))
        assert region is not None
        _strip(region, group, rest, rest_len, nsn, nsn_len, judged)
    _judge_all(verdicts, rows[judged], cc[judged], nsn[judged], nsn_len[judged], strictness)


@functools.cache
def _prefix_starts(code: int) -> int:
    """Digits (bit set) a national prefix of the code's main region can start with."""
    region = region_rules(code, phonenumbers.region_code_for_country_code(code))
    if region is None or region.prefix_for_parsing is None:
        return 0
    try:
        starts = first_digits(region.prefix_for_parsing)
    except Unsupported:
        starts = None
    return (1 << 10) - 1 if starts is None else starts


def _strip(
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
    try:
        general_match = pattern_dfa(general.pattern)
    except Unsupported:  # pragma: no cover - every general pattern in the metadata compiles
        judged[group] = False
        return
    if prefix_text.isdigit():  # a literal national prefix ("0", "8"): compared as digits
        size = len(prefix_text)
        hit = (rest_len[group] > size) & (
            _prefix(rest[group], rest_len[group], size) == int(prefix_text)
        )
        prefix = np.full(int(np.count_nonzero(hit)), size, np.int64)
    else:
        text = _strings(rest[group], rest_len[group])
        prefix_re = re.sub(r"(?<!\\)\((?!\?)", "(?:", prefix_text)  # no captures
        hit = _bools(pc.match_substring_regex(text, f"^(?:{prefix_re})"))
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
    verdicts.code[rows[too_long]] = _CODE[RejectReason.TOO_LONG]
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
    fits = digits <= _MAX_DIGITS
    reasons = np.array([_CODE[_LENGTH_REASONS[v]] for v in range(len(_LENGTH_REASONS))])
    verdicts.code[rows] = np.where(accepted, np.where(fits, _ACCEPT, _FALLBACK), reasons[length])
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

    def decide(self, slot: Ints, nsn: npt.NDArray[np.uint64], lengths: Ints) -> Mask:
        """is_valid_number for NSNs of the codes in `slot` (digit counts <= 17)."""
        result = np.zeros(nsn.size, bool)
        for length in np.unique(lengths).tolist():
            rows = np.flatnonzero(lengths == length)
            left = nsn[rows].astype(np.int64)
            digits = np.empty((length, rows.size), np.int64)
            for place in range(length - 1, -1, -1):
                digits[place] = left % 10
                left //= 10
            at = self.starts[slot[rows]]
            for place in range(length):
                at = self.moves[at + digits[place]]
            result[rows] = self.valid[at // 10]
        return result


_judges_lock = threading.Lock()
_judges_now = _Judges(
    {},
    np.zeros(10, np.int64),
    np.zeros(1, bool),
    np.zeros(0, np.int64),
    np.zeros((0, 21), np.int64),
)


def _judges(codes: Sequence[int]) -> _Judges | None:
    """The side-by-side tables holding `codes` (None if one's patterns do not compile)."""
    global _judges_now
    with _judges_lock:
        current = _judges_now
        missing = [code for code in codes if code not in current.slots]
        if not missing:
            return current
        dfas = [validity_dfa(code) for code in missing]
        if any(dfa is None for dfa in dfas):
            return None
        moves, valid, starts = [current.moves], [current.valid], [current.starts]
        lengths = [current.length_result]
        slots = dict(current.slots)
        offset = current.valid.size
        for code, dfa in zip(missing, dfas, strict=True):
            assert dfa is not None
            main = region_rules(code, phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code][0])
            assert main is not None
            slots[code] = len(slots)
            moves.append(dfa.moves + offset * 10)
            valid.append(dfa.valid)
            starts.append(np.array([(offset + dfa.start) * 10], np.int64))
            lengths.append(np.array([main.length_result], np.int64))
            offset += dfa.valid.size
        _judges_now = _Judges(
            slots,
            np.concatenate(moves),
            np.concatenate(valid),
            np.concatenate(starts),
            np.concatenate(lengths),
        )
        return _judges_now


_REASON_BY_LENGTH = np.array([_CODE[_LENGTH_REASONS[v]] for v in range(len(_LENGTH_REASONS))])
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
) -> None:
    """is_valid_number (or is_possible_number) and the reject reason, for any calling codes."""
    if rows.size == 0:
        return
    too_long = nsn_len > 17  # parse() refuses NSNs over 17 digits
    verdicts.code[rows[too_long]] = _CODE[RejectReason.TOO_LONG]
    keep = ~too_long
    rows, cc, nsn, nsn_len = rows[keep], cc[keep], nsn[keep], nsn_len[keep]
    codes = np.unique(cc).tolist()
    judges = _judges(codes)
    if judges is None:  # pragma: no cover - every pattern in the pinned metadata compiles
        for code in codes:
            group = np.flatnonzero(cc == code)
            _judge(verdicts, rows[group], code, nsn[group], nsn_len[group], strictness)
        return
    by_code = np.zeros(1000, np.int64)
    by_code[codes] = [judges.slots[code] for code in codes]
    slot = by_code[cc]
    length = judges.length_result[slot, np.minimum(nsn_len, 20)]
    if strictness is Strictness.POSSIBLE:
        accepted = _POSSIBLE_BY_LENGTH[length]
    else:
        accepted = judges.decide(slot, nsn, nsn_len)
    fits = 1 + (cc >= 10) + (cc >= 100) + nsn_len <= _MAX_DIGITS
    verdicts.code[rows] = np.where(
        accepted, np.where(fits, _ACCEPT, _FALLBACK), _REASON_BY_LENGTH[length]
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


# Byte classes for the plain shape, counted per row in 8-bit lanes of one uint32 cumulative
# sum: lane 0 other bytes, 1 ")" and separators, 2 "(" and separators, 3 "+". A row of at most
# 250 bytes cannot overflow a lane, and sums wrap harmlessly: differences stay exact per lane.
_LANE_BITS = 8
_LANE = np.zeros(256, np.uint32)
_LANE[:] = 1  # anything else: letters, "#", ",", tabs, bytes of non-ASCII characters
for _byte, _lanes in (
    (ord(" "), ()),
    (ord("("), (2,)),
    (ord(")"), (1,)),
    (ord("."), (1, 2)),
    (ord("-"), (1, 2)),
    (ord("/"), (1, 2)),
    (ord("+"), (3,)),
    *((_digit, ()) for _digit in range(ord("0"), ord("9") + 1)),
):
    _LANE[_byte] = sum(1 << (_LANE_BITS * lane) for lane in _lanes)
_LANE_MASK = np.uint32((1 << _LANE_BITS) - 1)


def _lane(totals: npt.NDArray[np.uint32], lane: int) -> Ints:
    return ((totals >> np.uint32(_LANE_BITS * lane)) & _LANE_MASK).astype(np.int64)


@dataclass(slots=True)
class _Plain:
    """Rows in the plain shape (digits, spaces, brackets, . - /, one leading +) and their digits."""

    rows: Ints
    values: npt.NDArray[np.uint64]  # the last 19 digits as an integer
    counts: Ints  # how many digits
    plus: Mask
    leading: Ints  # the first three digits as an integer (011 -> 11)


def _plain(column: pa.StringArray) -> _Plain:
    """Find the rows matching _PLAIN_RE (at most 250 bytes) with numpy, and read their digits.

    Equivalent to the regex for values without other bytes: before the first digit only
    spaces, "(" and at most one "+"; after the last digit only spaces and ")"; at least two
    digits. Each row's digits are contiguous once gathered, so they become a string column
    that pyarrow casts to integers.
    """
    size = len(column)
    offsets = np.frombuffer(column.buffers()[1], np.int32)[column.offset : column.offset + size + 1]
    offsets = offsets.astype(np.int64)
    base = int(offsets[0])
    offsets -= base
    buffer = column.buffers()[2]
    data = (
        np.frombuffer(buffer, np.uint8)[base : base + int(offsets[-1])]
        if buffer is not None
        else np.empty(0, np.uint8)
    )
    lengths = np.diff(offsets)
    sums = np.empty(data.size + 1, np.uint32)
    sums[0] = 0
    np.cumsum(_LANE[data], out=sums[1:])
    totals = sums[offsets[1:]] - sums[offsets[:-1]]
    digit_at = np.flatnonzero((data - np.uint8(48)) < 10)
    starts = np.searchsorted(digit_at, offsets)
    digits = np.diff(starts)
    candidate = (lengths <= 250) & (_lane(totals, 0) == 0) & (digits >= 2) & (_lane(totals, 3) <= 1)
    rows = np.flatnonzero(candidate)
    counts = digits[rows]
    first_digit = starts[rows]
    last_digit = first_digit + counts - 1
    first, last = digit_at[first_digit], digit_at[last_digit]
    before = sums[first] - sums[offsets[rows]]
    after = sums[offsets[rows + 1]] - sums[last + 1]
    plus = _lane(totals[rows], 3)
    shaped = (_lane(before, 1) == 0) & (_lane(before, 3) == plus) & (_lane(after, 2) == 0)
    rows, counts, first_digit = rows[shaped], counts[shaped], first_digit[shaped]
    digit_bytes = data[digit_at]
    strings = pa.StringArray.from_buffers(
        size, pa.py_buffer(starts.astype(np.int32)), pa.py_buffer(digit_bytes)
    ).take(pa.array(rows))
    if rows.size and int(counts.max()) > _MAX_DIGITS:
        strings = pc.utf8_slice_codeunits(strings, start=-_MAX_DIGITS)  # the last 19 digits
    values = np.asarray(pc.cast(strings, pa.uint64()).to_numpy(zero_copy_only=False), np.uint64)
    leading = np.zeros(rows.size, np.int64)
    for ahead in range(3):
        at = first_digit + np.minimum(ahead, counts - 1)
        leading = leading * 10 + (digit_bytes[at] - np.uint8(48)).astype(np.int64)
    return _Plain(rows, values, counts, plus[shaped] == 1, leading)


@dataclass(slots=True)
class Prepared:
    """A column's shapes and digits, read without regard to region (prepare_column)."""

    values: pa.StringArray
    verdicts: _Verdicts  # empty and wordy values already decided
    extension: Mask
    vanity: Mask
    rows: Ints  # rows whose digits could be read: parsed on the fast path
    digits: npt.NDArray[np.uint64]  # their last 19 digits
    counts: Ints  # how many digits
    plus: Mask  # written with a leading +
    leading: Ints  # their first three digits (011 -> 11), -1 past 19 digits


def prepare_column(values: Sequence[str] | pa.StringArray) -> Prepared:
    """The region-independent half of normalize_column: shapes, extensions, vanity, digits.

    Ingest runs it in the thread that reads the CSV, the judging in another.
    """
    if not isinstance(values, pa.Array):
        values = pa.array(values, pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.fill_null("") if values.null_count else values
    size = len(values)
    verdicts = _Verdicts(size)
    extension = np.zeros(size, bool)
    vanity = np.zeros(size, bool)
    plain = _plain(values)
    rest = np.ones(size, bool)
    rest[plain.rows] = False
    odd = np.flatnonzero(rest)
    rows, digit_values, counts, plus = plain.rows, plain.values, plain.counts, plain.plus
    leading = plain.leading
    if odd.size:
        encoded = values.take(pa.array(odd)).dictionary_encode()
        which = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
        found = _odd_shapes(encoded.dictionary)
        verdicts.code[odd] = found.code[which]
        extension[odd] = found.extension[which]
        vanity[odd] = found.vanity[which]
        place = np.full(found.code.size, -1, np.int64)
        place[found.plain] = np.arange(found.plain.size)
        at = place[which]
        more = at >= 0
        at = at[more]
        more_counts = found.counts[at]
        more_values = found.values[at]
        # past 19 digits the first ones are not kept: phonenumbers decides those
        more_leading = np.where(more_counts > 19, -1, _prefix(more_values, more_counts, 3))
        rows = np.concatenate((rows, odd[more]))
        digit_values = np.concatenate((digit_values, more_values))
        counts = np.concatenate((counts, more_counts))
        plus = np.concatenate((plus, found.plus[at]))
        leading = np.concatenate((leading, more_leading))
    return Prepared(values, verdicts, extension, vanity, rows, digit_values, counts, plus, leading)


def judge_prepared(prepared: Prepared, region: str, strictness: Strictness) -> PhoneColumn:
    """The verdicts for a prepared column (the fast path covers default region US)."""
    if region != "US":
        size = len(prepared.values)
        none = np.zeros(size, bool)
        return _collect(prepared.values, _Verdicts(size), none, none, region, strictness)
    verdicts = prepared.verdicts
    rows, digit_values, counts = prepared.rows, prepared.digits, prepared.counts
    plus, leading = prepared.plus, prepared.leading
    ok = (counts >= 3) & (counts <= _MAX_DIGITS)
    idd = ~plus & (counts >= 6) & (leading == 11) & (_prefix(digit_values, counts, 4) % 10 != 0)
    national = ok & ~plus & ~idd
    _national_us(verdicts, rows[national], digit_values[national], counts[national], strictness)
    if _US_AS_EXPECTED:
        # National digits past 19: at most three leading digits are ever stripped (country
        # code 1, national prefix 1 twice), leaving more than 17: parse() says TOO_LONG.
        long = (counts > _MAX_DIGITS) & ~plus & (leading >= 0) & (leading != 11)
        verdicts.code[rows[long]] = _CODE[RejectReason.TOO_LONG]
    intl = ok & (plus | idd)
    e_counts = np.where(idd, counts - 3, counts)
    e_values = np.where(idd, _suffix(digit_values, counts - 3), digit_values)
    _international(verdicts, rows[intl], e_values[intl], e_counts[intl], strictness)
    return _collect(
        prepared.values, verdicts, prepared.extension, prepared.vanity, region, strictness
    )


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


@dataclass(slots=True)
class _Odd:
    """What the regex kernels found in distinct values outside the plain shape."""

    code: Ints  # a REASON_CODES index for empty and wordy values, else _FALLBACK
    extension: Mask
    vanity: Mask
    plain: Ints  # values plain once the extension is cut and letters mapped
    values: npt.NDArray[np.uint64]  # their digits (last 19), parallel to plain
    counts: Ints
    plus: Mask


def _odd_shapes(column: pa.StringArray) -> _Odd:
    """Values not in the plain shape: no digits, vanity letters, extensions (regex kernels).

    Called on distinct values: junk repeats ("N/A", "#VALUE!"), so each is looked at once.
    """
    size = len(column)
    code = np.full(size, _FALLBACK, np.int64)
    short_ascii = pc.and_(pc.string_is_ascii(column), pc.less_equal(pc.utf8_length(column), 250))
    no_digits = _bools(pc.and_(short_ascii, pc.match_substring_regex(column, _NO_DIGITS_RE)))
    blank = _bools(pc.match_substring_regex(column, r"^\s*$"))
    code[no_digits] = _CODE[RejectReason.NOT_A_NUMBER]
    code[blank] = _CODE[RejectReason.EMPTY]
    vanity = _bools(pc.and_(short_ascii, pc.match_substring_regex(column, _VANITY_RE)))
    if vanity.any():
        picked = np.flatnonzero(vanity)
        letters = pc.count_substring_regex(column.take(pa.array(picked)), "[A-Za-z]")
        vanity[picked[np.asarray(letters) < 3]] = False
    if vanity.any():
        picked = np.flatnonzero(vanity)
        mapped = pc.utf8_upper(column.take(pa.array(picked)))
        for digit, group in enumerate(_KEYPAD, start=2):
            mapped = pc.replace_substring_regex(mapped, f"[{group}]", str(digit))
        spread = np.full(size, -1, np.int64)
        spread[picked] = np.arange(picked.size)
        column = pc.if_else(pa.array(vanity), mapped.take(pa.array(np.maximum(spread, 0))), column)
    extension = np.zeros(size, bool)
    # Only values with an extension marker can match the (slow, capturing) extension regex.
    marked = np.flatnonzero(_bools(pc.match_substring_regex(column, "[xX#]|[eE][xX][tT]")))
    core = column
    if marked.size:
        found = pc.extract_regex(column.take(pa.array(marked)), pattern=_EXTENSION_RE)
        has = _bools(found.is_valid())
        extension[marked[has]] = True
        spread = np.full(size, -1, np.int64)
        spread[marked[has]] = np.flatnonzero(has)
        cores = pc.struct_field(found, [0]).take(pa.array(np.maximum(spread, 0)))
        core = pc.if_else(pa.array(spread >= 0), cores, column)
    plain = np.flatnonzero(
        _bools(pc.match_substring_regex(core, _PLAIN_RE))
        & (np.asarray(pc.utf8_length(column).to_numpy(zero_copy_only=False)) <= 250)
    )
    fast = core.take(pa.array(plain))
    digit_values, counts = _digits(fast) if plain.size else (np.empty(0, np.uint64), plain)
    plus = _bools(pc.match_substring_regex(fast, _PLUS_RE)) if plain.size else np.zeros(0, bool)
    return _Odd(code, extension, vanity, plain, digit_values, counts, plus)


def _bools(array: pa.Array) -> Mask:
    """A pyarrow boolean or integer array as numpy, nulls as False/0."""
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False))


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
    extensions = int(np.count_nonzero(extension & (code == _ACCEPT)))
    vanity = int(np.count_nonzero(vanity_rows & (code == _ACCEPT)))
    left = np.flatnonzero(code == _FALLBACK)
    raw = values.take(pa.array(left)).to_pylist() if left.size else []
    for row, text in zip(left.tolist(), raw, strict=True):
        result = _per_row(text, region, strictness)
        if result.e164 is None:
            assert result.reject is not None
            code[row] = _CODE[result.reject]
        else:
            code[row] = _ACCEPT
            keys[row] = int(result.e164[1:])
            extensions += result.extension
            vanity += result.vanity
    accepted = np.flatnonzero(code == _ACCEPT)
    rejected = np.flatnonzero(code != _ACCEPT)
    return PhoneColumn(
        accepted, keys[accepted], rejected, code[rejected].astype(np.int8), extensions, vanity
    )


_CACHE_SIZE = 65_536


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _per_row(raw: str | None, region: str, strictness: Strictness) -> PhoneResult:
    """phonenumbers' verdict on one value; junk repeats ("N/A", "#VALUE!"), so it is cached."""
    return normalize(raw or "", region, strictness)
