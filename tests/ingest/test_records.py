"""The block reader gives exactly the exact reader's records, lines, blanks and warnings."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import read_records

pytestmark = pytest.mark.usefixtures("kernels_both_ways")  # the block reader's byte facts

ODD_LINES = (
    "",
    "   ",
    "\t",
    ",,,",
    '"(415) 555\n2671",litigator,crm,2026-01-01',
    '"unterminated,litigator',
    'a"b,"c""d",e,f',
    '"ab"cd,e,f,g',
    "415 555 2671,only two",
    "415 555 2671,a,b,c,d,e",
    "(212) 555-0123,opt-out,Caf\u00e9,",
    "lone\rcr,x,y,z",
    '"",,,',
    '"  ",x,y,z',
)


def _read(data: bytes, blocks: bool, block_bytes: int, **options: object) -> tuple[object, ...]:
    shape, used, _ = read_records(data, blocks, block_bytes, **options)
    return shape, used


def _source(rng: random.Random, rows: int, odd: float, cp1252: bool) -> bytes:
    out = [b"\xef\xbb\xbf" if rng.random() < 0.5 else b"", b"phone,reason,source,date\r\n"]
    for _ in range(rows):
        if rng.random() < odd:
            line = rng.choice(ODD_LINES).encode()
            if cp1252 and rng.random() < 0.3:
                line = "(212) 555-0123,Caf\u00e9,x,y".encode("cp1252")
        else:
            phone = f"({rng.randint(200, 999)}) 555-{rng.randint(0, 9999):04d}"
            if rng.random() < 0.1:
                phone = f'"{phone}, ext. 12"'
            line = f"{phone},opt-out,crm,2025-01-0{rng.randint(1, 9)}".encode()
        out.append(line + rng.choice((b"\n", b"\r\n")))
    data = b"".join(out)
    return data if rng.random() < 0.8 else data.rstrip(b"\r\n")


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 10**6),
    st.sampled_from([0.0, 0.01, 0.2]),
    st.booleans(),
    st.sampled_from([64, 300, 4096]),
)
def test_block_reader_reads_as_the_exact_reader(
    seed: int, odd: float, cp1252: bool, block_bytes: int
) -> None:
    data = _source(random.Random(seed), 120, odd, cp1252)
    exact, _ = _read(data, False, block_bytes)
    fast, _ = _read(data, True, block_bytes)
    assert fast == exact


def test_clean_blocks_take_the_block_reader_and_odd_ones_do_not_spoil_the_rest() -> None:
    rng = random.Random(5)
    clean = _source(rng, 2_000, 0.0, False)
    exact, _ = _read(clean, False, 4096)
    fast, used = _read(clean, True, 4096)
    assert fast == exact
    assert used > 10
    messy = clean.replace(b"opt-out", "Caf\u00e9".encode("cp1252"), 1)
    exact, _ = _read(messy, False, 4096)
    fast, used_messy = _read(messy, True, 4096)
    assert fast == exact
    assert exact[2] == {"cp1252_line": 1}  # type: ignore[index]
    assert used_messy == used - 1


def test_no_header_and_single_column_sources() -> None:
    data = b'(415) 555-2671\n   \n\n212 555 0123\r\n"  "\n'
    assert _read(data, True, 8, no_header=True)[0] == _read(data, False, 8, no_header=True)[0]
    data = b"phone\n(415) 555-2671\n \n2125550123\n"
    assert _read(data, True, 8)[0] == _read(data, False, 8)[0]
