"""The compiled kernels give the numpy code's answers, array for array (they replace its loops)."""

from __future__ import annotations

import random
from datetime import date
from types import ModuleType

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dncsync.columnar import kernels, phones, shapes
from dncsync.columnar.index import DC_NONE, DC_SHIFT, EXP_NEVER, EXP_SHIFT, REASON_SHIFT
from dncsync.columnar.phones import normalize_column
from dncsync.entryfile import write_columns
from dncsync.model import Reason, Strictness
from dncsync.rejects import REASON_CODES, RejectsCsv
from dncsync.sources import records

from .messy import load_bench

FIELDS = ("rows", "values", "counts", "plus", "leading")


def test_the_kernels_are_built() -> None:
    # pip builds them wherever a C compiler is at hand, as on every machine the tests run on;
    # without them dncsync still works (numpy), about twice as slowly.
    assert kernels.built(), "dncsync.columnar._kernels was not built: is a C compiler installed?"


def assert_same_plain(column: pa.StringArray) -> None:
    compiled = shapes._plain(column)
    with kernels.numpy_only():
        reference = shapes._plain(column)
    for name in FIELDS:
        got, want = getattr(compiled, name), getattr(reference, name)
        assert np.array_equal(got, want), (name, got[:10], want[:10])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 +()-./xé#\t", max_size=40), max_size=40))
def test_plain_shapes_and_digits_match(values: list[str]) -> None:
    assert_same_plain(pa.array(values, pa.string()))


def test_plain_handles_slices_long_values_and_many_digits() -> None:
    rng = random.Random(3)
    values = []
    for _ in range(5_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 30)))
        pad = " " * rng.choice([0, 1, 240])
        values.append(rng.choice(["{}", "+{}", "({}) ", "{}-", " + {}"]).format(digits) + pad)
    column = pa.array(values, pa.string())
    assert_same_plain(column)
    assert_same_plain(column.slice(777, 3_000))  # an array that starts at an offset
    assert_same_plain(pa.array([], pa.string()))


def test_verdicts_match_on_the_bench_values_both_strictnesses() -> None:
    values = list(load_bench().messy_values(seed=31, count=20_000))
    for strictness in Strictness:
        compiled = normalize_column(values, "US", strictness)
        with kernels.numpy_only():
            reference = normalize_column(values, "US", strictness)
        for name in ("accepted", "keys", "rejected", "codes"):
            assert np.array_equal(getattr(compiled, name), getattr(reference, name)), name
        assert (compiled.extensions, compiled.vanity) == (reference.extensions, reference.vanity)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(alphabet='a,"\r\n\x00é', max_size=200).map(str.encode))
def test_block_facts_match_the_byte_counts(block: bytes) -> None:
    with kernels.numpy_only():
        counted = records._facts(block)  # bytes.count and friends
    assert _compiled().block_facts(block) == counted


def _compiled() -> ModuleType:
    compiled = kernels.compiled()
    assert compiled is not None
    return compiled


_ordinals = st.integers(date(1, 1, 1).toordinal(), date(9999, 12, 31).toordinal())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(10**6, 10**19 - 1),  # keys: E.164 digits
            st.sampled_from(list(Reason)),
            st.one_of(st.none(), st.tuples(st.booleans(), _ordinals)),  # (relative, expiry)
            st.one_of(st.none(), _ordinals),  # date collected
            st.integers(0, 2),  # source id
        ),
        max_size=50,
    )
)
def test_entry_lines_match_the_numpy_writer(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, Reason, tuple[bool, int] | None, int | None, int]],
) -> None:
    keys = np.array(sorted({row[0] for row in rows}), np.uint64)
    by_key = {row[0]: row for row in rows}
    meta = []
    for key in keys.tolist():
        _, reason, expiry, collected, source = by_key[key]
        packed_expiry = EXP_NEVER if expiry is None else expiry[1] * 2 + expiry[0]
        packed_collected = DC_NONE if collected is None else collected
        meta.append(
            (reason.strength << REASON_SHIFT)
            | (packed_expiry << EXP_SHIFT)
            | (packed_collected << DC_SHIFT)
            | source
        )
    chunks = [(keys, np.array(meta, np.int64))]
    names = ["crm", "=registry", "legal opt-outs"]
    folder = tmp_path_factory.mktemp("entries")
    write_columns(chunks, names, str(folder / "compiled.csv"))
    with kernels.numpy_only():
        write_columns(chunks, names, str(folder / "numpy.csv"))
    assert (folder / "compiled.csv").read_bytes() == (folder / "numpy.csv").read_bytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**19 - 1), st.integers(1, 19)), max_size=40))
def test_digit_strings_keep_leading_zeros_to_the_length(rows: list[tuple[int, int]]) -> None:
    values = np.array([value % 10**length for value, length in rows], np.uint64)
    lengths = np.array([length for _, length in rows], np.int64)
    compiled = phones._strings(values, lengths)
    with kernels.numpy_only():
        reference = phones._strings(values, lengths)
    assert compiled.to_pylist() == reference.to_pylist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**12),
            st.one_of(st.none(), st.text(alphabet='=+-@\t\r\n,"x1 é', max_size=12)),
            st.integers(0, len(REASON_CODES) - 1),
        ),
        max_size=30,
    ),
    st.booleans(),
)
def test_reject_lines_match_the_pyarrow_writer(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, str | None, int]],
    with_source: bool,
) -> None:
    lines = np.array([line for line, _, _ in rows], np.int64)
    raw = pa.array([text for _, text, _ in rows], pa.string())
    codes = np.array([code for _, _, code in rows], np.int8)
    folder = tmp_path_factory.mktemp("rejects")
    for name, numpy_alone in (("compiled.csv", False), ("numpy.csv", True)):
        with RejectsCsv(str(folder / name), with_source=with_source) as sink:
            if numpy_alone:
                with kernels.numpy_only():
                    sink.add('=crm, "web"', lines, raw.slice(0), codes)
            else:
                sink.add('=crm, "web"', lines, raw.slice(0), codes)
    assert (folder / "compiled.csv").read_bytes() == (folder / "numpy.csv").read_bytes()


_FIELD = st.one_of(
    st.text(alphabet="ab 1+é\t-", max_size=6),
    st.text(alphabet='ab ,"1é\t', max_size=6).map(lambda t: '"' + t.replace('"', '""') + '"'),
    st.sampled_from(['a"b', '"a"b', '"a\nb"', '"ab', "", " "]),  # shapes the kernel declines
)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda width: st.tuples(
            st.just(width),
            st.lists(
                st.one_of(
                    st.lists(_FIELD, min_size=width, max_size=width).map(",".join),
                    st.lists(_FIELD, min_size=1, max_size=width + 1).map(",".join),  # ragged
                    st.just(""),
                ),
                max_size=12,
            ),
            st.sampled_from(["\n", "\r\n"]),
            st.booleans(),
        )
    )
)
def test_split_block_reads_what_pyarrow_reads(case: tuple[int, list[str], str, bool]) -> None:
    width, lines, newline, last_newline = case
    block = (newline.join(lines) + (newline if last_newline else "")).encode()
    wanted = list(range(width))
    encoded = tuple(index % 2 == 1 for index in wanted)  # plain and dictionary columns
    split = _compiled().split_block(
        block, width, tuple(wanted), encoded, block.count(b"\n") + 1, ","
    )
    if split is None:
        return  # declined: pyarrow's parser and the exact reader take the block
    rows, pieces, consumed, _, _, _ = split
    if consumed < len(block):
        return  # a quoted line break runs past the block: pyarrow does not read those
    named = [(f"c{index}", index) for index in wanted]
    parsed = records._parse(block, width, named, frozenset({0}))
    if parsed is None and b'"' in block:
        return  # a quoted line break: pyarrow's parser does not read those (the exact reader does)
    assert parsed is not None, "the kernel read a block pyarrow calls ragged"
    table_rows, table = parsed
    assert rows == table_rows
    for index, piece in enumerate(pieces):
        got = records._column(rows, piece)
        assert pa.types.is_dictionary(got.type) == encoded[index]
        want = table[f"c{index}"]
        assert got.to_pylist() == want.to_pylist()
