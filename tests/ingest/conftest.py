"""Fixtures of the ingest tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dncsync.columnar import kernels


@pytest.fixture(params=["compiled kernels", "numpy"])
def kernels_both_ways(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run a test with the compiled kernels, then on numpy alone (their fallback)."""
    if request.param == "numpy":
        with kernels.numpy_only():
            yield
    else:
        yield
