"""The compiled kernels of the fast path, when they were built; numpy gives the same answers.

`dncsync.columnar._kernels` (C, built by `pip install` where a compiler is at hand) runs the
fast path's per-row loops in one pass each, without the GIL: the byte facts and the column
split of a CSV block (sources.records), the shape and digits of each phone value
(shapes._plain), the US verdicts (phones.judge_prepared) and the DFA walk, and the lines of
the entries and rejects files. The numpy and pyarrow code beside each stays the reference and
the fallback: tests/ingest/test_kernels.py holds the two to the same answers, and
`numpy_only()` makes a block of code use numpy (the tests run the fast path both ways).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType


def _load() -> ModuleType | None:
    try:
        from dncsync.columnar import _kernels
    except ImportError:  # pragma: no cover - built wherever the tests run
        return None
    return _kernels


_compiled = _load()

_numpy_only = False


def compiled() -> ModuleType | None:
    """The compiled kernels, or None when they were not built (or numpy_only() is on)."""
    return None if _numpy_only else _compiled


def built() -> bool:
    """Whether the compiled kernels were built with this install."""
    return _compiled is not None


@contextlib.contextmanager
def numpy_only() -> Iterator[None]:
    """Within the block the fast path runs on numpy alone, in every thread (for tests)."""
    global _numpy_only
    before, _numpy_only = _numpy_only, True
    try:
        yield
    finally:
        _numpy_only = before
