"""Keep the allocators from holding on to memory that large transient arrays leave behind.

glibc keeps freed heap memory, in one arena per thread, and pyarrow's pool keeps its own:
with ingest's reading, judging and merging threads each freeing megabytes per batch, that kept
memory would add up to more than the merge index itself. Ingest asks glibc for one shared
arena (so what one stage frees the next reuses) and hands freed pages back after the index's
large merges. Where glibc's functions do not exist, nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

import pyarrow as pa

_M_ARENA_MAX = -8  # glibc's mallopt parameter


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    library = ctypes.util.find_library("c")
    if library is None:  # pragma: no cover - no C library found
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    return function


@functools.cache
def share_one_arena() -> None:
    """Ask glibc for one malloc arena for all threads (before ingest starts its threads)."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, 1)


def release_free_memory() -> None:
    """Return freed heap pages to the system (glibc's malloc_trim, pyarrow's pool)."""
    pa.default_memory_pool().release_unused()
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)
