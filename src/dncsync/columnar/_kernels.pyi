"""Types of the compiled kernels (src/dncsync/columnar/_kernels.c)."""

from typing_extensions import Buffer

def plain(
    offsets: Buffer,
    data: Buffer,
    size: int,
    rows: Buffer,
    values: Buffer,
    counts: Buffer,
    plus: Buffer,
    leading: Buffer,
) -> int: ...
def judge(
    cc: Buffer,
    nsn: Buffer,
    nsn_len: Buffer,
    slot_by_code: Buffer,
    length_result: Buffer,
    moves: Buffer,
    valid: Buffer,
    starts: Buffer,
    reason_by_length: Buffer,
    possible_by_length: Buffer,
    possible_only: bool,
    too_long: int,
    accept: int,
    fallback: int,
    code: Buffer,
    keys: Buffer,
) -> None: ...
def block_facts(block: Buffer) -> tuple[int, int, int, int, bool, bool]: ...
def entry_lines(
    keys: Buffer,
    meta: Buffer,
    reasons: tuple[bytes, ...],
    policies: tuple[bytes, ...],
    sources: tuple[bytes, ...],
) -> bytes: ...
def judge_us(
    digits: Buffer,
    counts: Buffer,
    plus: Buffer,
    leading: Buffer,
    known: Buffer,
    code_info: Buffer,
    valid_moves: Buffer,
    valid_states: Buffer,
    valid_starts: Buffer,
    valid_length_result: Buffer,
    general_moves: Buffer,
    general_states: Buffer,
    general_starts: Buffer,
    general_length_result: Buffer,
    reason_by_length: Buffer,
    possible_by_length: Buffer,
    keeps_prefix: Buffer,
    possible_only: bool,
    too_long: int,
    too_short: int,
    invalid_country_code: int,
    accept: int,
    fallback: int,
    defer: int,
    need: int,
    missing: Buffer,
    code: Buffer,
    keys: Buffer,
) -> None: ...
def walk(
    moves: Buffer, valid: Buffer, start: int, nsn: Buffer, lengths: Buffer, out: Buffer
) -> None: ...
def digit_strings(values: Buffer, lengths: Buffer, offsets: Buffer) -> bytes: ...
def reject_lines(
    lines: Buffer, offsets: Buffer, data: Buffer, codes: Buffer, ends: tuple[bytes, ...]
) -> bytes: ...
def split_block(
    block: bytes,
    width: int,
    wanted: tuple[int, ...],
    encoded: tuple[bool, ...],
    max_rows: int,
    delimiter: str,
) -> tuple[int, list[tuple[bytes, ...]], int, int, int, bytes] | None: ...
