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
def national_us(
    values: Buffer, counts: Buffer, rows: int, nsn: Buffer, nsn_len: Buffer, handled: Buffer
) -> None: ...
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
