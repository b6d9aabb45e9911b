"""Prefetch hands items over in order, raises the producer's error, and stops when left early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from dncsync.errors import InputError
from dncsync.sources.prefetch import Prefetch


def test_items_arrive_in_order() -> None:
    with Prefetch(iter(range(1000)), depth=2) as ahead:
        assert list(ahead) == list(range(1000))


def test_an_error_in_the_worker_is_raised_where_items_are_taken() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise InputError("bad.csv: line 3: NUL byte, not a CSV text file")

    with pytest.raises(InputError, match="NUL byte"), Prefetch(failing()) as ahead:
        assert list(ahead) == [1]


def test_leaving_early_stops_the_worker() -> None:
    produced: list[int] = []
    started = threading.Event()

    def endless() -> Iterator[int]:
        number = 0
        while True:
            started.set()
            produced.append(number)
            yield number
            number += 1

    with Prefetch(endless()) as ahead:
        for item in ahead:
            if item == 5:
                break
    assert started.is_set()
    count = len(produced)
    assert count < 10  # the worker stayed at most a couple of items ahead, then stopped
    assert not any(t.name == "dncsync-prefetch" and t.is_alive() for t in threading.enumerate())
