"""The shapes and digits of raw phone values, a whole column at once, whatever the region.

A plain value (digits with spaces, brackets, dots, dashes and slashes, one leading `+`) is found
from byte classes summed per row with numpy, and its digits are gathered and cast by pyarrow.
Values with letters, extensions or no digits go through pyarrow's regex kernels, once per
distinct value: empty and wordy values are decided here, vanity letters mapped, extensions cut.
`dncsync.columnar.phones` then judges the digits for a region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from dncsync.columnar import kernels
from dncsync.columnar.arrow import string_offsets
from dncsync.model import RejectReason
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
MAX_DIGITS = 19  # keys are uint64
_POW10 = np.array([10**power for power in range(20)], dtype=np.uint64)
CODE = {reason: index for index, reason in enumerate(REASON_CODES)}
FALLBACK = -2  # a verdict code: phonenumbers decides
_NO_DIGITS_RE = r"^[^0-9+]*$"
_VANITY_RE = r"^[ (]*\+?[ (]*(?:[0-9][ ().\-]*){3,}[A-Za-z][A-Za-z0-9 .\-]*[A-Za-z][ ]*$"
_KEYPAD = ("ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ")

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
_LANE_ARRAY = pa.array(_LANE, pa.uint32())


def lane(totals: npt.NDArray[np.uint32], lane: int) -> Ints:
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
    """Find the rows matching _PLAIN_RE (at most 250 bytes) and read their digits."""
    compiled = kernels.compiled()
    if compiled is None:
        return _plain_numpy(column)
    size = len(column)
    offsets = string_offsets(column)
    data = column.buffers()[2]
    rows = np.empty(size, np.int64)
    values = np.empty(size, np.uint64)
    counts = np.empty(size, np.int64)
    plus = np.empty(size, np.uint8)
    leading = np.empty(size, np.int64)
    found = compiled.plain(
        offsets, b"" if data is None else data, size, rows, values, counts, plus, leading
    )
    return _Plain(
        rows[:found], values[:found], counts[:found], plus[:found].view(bool), leading[:found]
    )


def _plain_numpy(column: pa.StringArray) -> _Plain:
    """_plain with numpy: the reference for the compiled kernel, and its fallback.

    Equivalent to the regex for values without other bytes: before the first digit only
    spaces, "(" and at most one "+"; after the last digit only spaces and ")"; at least two
    digits. Each row's digits are contiguous once gathered, so they become a string column
    that pyarrow casts to integers.
    """
    size = len(column)
    offsets = string_offsets(column).astype(np.int64)
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
    # pyarrow's take reads the uint8 indices as they are (numpy would widen them to intp).
    lanes = _LANE_ARRAY.take(pa.array(data, pa.uint8())).to_numpy(zero_copy_only=False)
    np.cumsum(lanes, dtype=np.uint32, out=sums[1:])
    del lanes
    totals = sums[offsets[1:]] - sums[offsets[:-1]]
    digit_at = np.flatnonzero((data - np.uint8(48)) < 10)
    starts = np.searchsorted(digit_at, offsets)  # digits before each row
    digits = np.diff(starts)
    candidate = (lengths <= 250) & (lane(totals, 0) == 0) & (digits >= 2) & (lane(totals, 3) <= 1)
    rows = np.flatnonzero(candidate)
    counts = digits[rows]
    first_digit = starts[rows]
    last_digit = first_digit + counts - 1
    first, last = digit_at[first_digit], digit_at[last_digit]
    before = sums[first] - sums[offsets[rows]]
    after = sums[offsets[rows + 1]] - sums[last + 1]
    plus = lane(totals[rows], 3)
    shaped = (lane(before, 1) == 0) & (lane(before, 3) == plus) & (lane(after, 2) == 0)
    rows, counts, first_digit = rows[shaped], counts[shaped], first_digit[shaped]
    digit_bytes = data[digit_at]
    strings = pa.StringArray.from_buffers(
        size, pa.py_buffer(starts.astype(np.int32)), pa.py_buffer(digit_bytes)
    ).take(pa.array(rows))
    values = np.zeros(rows.size, np.uint64)
    short = counts <= MAX_DIGITS
    values[short] = _as_integers(strings.filter(pa.array(short)))
    if not short.all():  # keep the last 19 digits of longer ones
        long = pc.utf8_slice_codeunits(strings.filter(pa.array(~short)), start=-MAX_DIGITS)
        values[~short] = _as_integers(long)
    leading = np.zeros(rows.size, np.int64)
    for ahead in range(3):
        at = first_digit + np.minimum(ahead, counts - 1)
        leading = leading * 10 + (digit_bytes[at] - np.uint8(48)).astype(np.int64)
    return _Plain(rows, values, counts, plus[shaped] == 1, leading)


@dataclass(slots=True)
class Prepared:
    """A column's shapes and digits, read without regard to region (prepare_column)."""

    values: pa.StringArray
    code: Ints  # per row: a REASON_CODES index for empty and wordy values, else FALLBACK
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
    code = np.full(size, FALLBACK, np.int64)
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
        code[odd] = found.code[which]
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
        more_leading = np.where(more_counts > 19, -1, head_digits(more_values, more_counts, 3))
        rows = np.concatenate((rows, odd[more]))
        digit_values = np.concatenate((digit_values, more_values))
        counts = np.concatenate((counts, more_counts))
        plus = np.concatenate((plus, found.plus[at]))
        leading = np.concatenate((leading, more_leading))
    return Prepared(values, code, extension, vanity, rows, digit_values, counts, plus, leading)


@dataclass(slots=True)
class _Odd:
    """What the regex kernels found in distinct values outside the plain shape."""

    code: Ints  # a REASON_CODES index for empty and wordy values, else FALLBACK
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
    code = np.full(size, FALLBACK, np.int64)
    short_ascii = pc.and_(pc.string_is_ascii(column), pc.less_equal(pc.utf8_length(column), 250))
    no_digits = as_bools(pc.and_(short_ascii, pc.match_substring_regex(column, _NO_DIGITS_RE)))
    blank = as_bools(pc.match_substring_regex(column, r"^\s*$"))
    code[no_digits] = CODE[RejectReason.NOT_A_NUMBER]
    code[blank] = CODE[RejectReason.EMPTY]
    vanity = as_bools(pc.and_(short_ascii, pc.match_substring_regex(column, _VANITY_RE)))
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
    marked = np.flatnonzero(as_bools(pc.match_substring_regex(column, "[xX#]|[eE][xX][tT]")))
    core = column
    if marked.size:
        found = pc.extract_regex(column.take(pa.array(marked)), pattern=_EXTENSION_RE)
        has = as_bools(found.is_valid())
        extension[marked[has]] = True
        spread = np.full(size, -1, np.int64)
        spread[marked[has]] = np.flatnonzero(has)
        cores = pc.struct_field(found, [0]).take(pa.array(np.maximum(spread, 0)))
        core = pc.if_else(pa.array(spread >= 0), cores, column)
    plain = np.flatnonzero(
        as_bools(pc.match_substring_regex(core, _PLAIN_RE))
        & (np.asarray(pc.utf8_length(column).to_numpy(zero_copy_only=False)) <= 250)
    )
    fast = core.take(pa.array(plain))
    digit_values, counts = read_digits(fast) if plain.size else (np.empty(0, np.uint64), plain)
    plus = as_bools(pc.match_substring_regex(fast, _PLUS_RE)) if plain.size else np.zeros(0, bool)
    return _Odd(code, extension, vanity, plain, digit_values, counts, plus)


def _as_integers(digits: pa.StringArray) -> npt.NDArray[np.uint64]:
    """Digit strings (1 to 19 digits) as unsigned integers."""
    return np.asarray(pc.cast(digits, pa.uint64()).to_numpy(zero_copy_only=False), np.uint64)


def read_digits(core: pa.StringArray) -> tuple[npt.NDArray[np.uint64], Ints]:
    """Each value's digits as an integer (last 19 digits) and how many digits it has."""
    core = core.combine_chunks() if isinstance(core, pa.ChunkedArray) else core
    offsets = string_offsets(core)
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


def head_digits(values: npt.NDArray[np.uint64], counts: Ints, size: int) -> Ints:
    """The first `size` digits of each value (as an integer; meaningless past 19 digits)."""
    shift = np.clip(counts - size, 0, 19)
    return (values // _POW10[shift]).astype(np.int64)


def as_bools(array: pa.Array) -> Mask:
    """A pyarrow boolean or integer array as numpy, nulls as False/0."""
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False))
