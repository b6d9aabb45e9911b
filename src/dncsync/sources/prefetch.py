"""Run an iterator ahead in a worker thread, or a function over items on a few threads.

pyarrow's parser and kernels and numpy's array operations release the GIL, so on two cores the
next CSV block is read and parsed (or its phones judged) while this one is merged. Items come
out in order; an exception raised by the iterator is raised again where the items are taken.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()


class Prefetch(Generic[T]):
    """`with Prefetch(items) as ahead: for item in ahead: ...` (stops the worker on exit)."""

    def __init__(self, items: Iterator[T], depth: int = 1) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="dncsync-prefetch", daemon=True)

    def __enter__(self) -> Prefetch[T]:
        self._thread.start()
        return self

    def __iter__(self) -> Iterator[T]:
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # let a worker blocked on a full queue end
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _put(self, item: object, error: BaseException | None = None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put((item, error), timeout=0.05)
                return
            except queue.Full:
                continue

    def _work(self) -> None:
        try:
            for item in self._items:
                if self._stop.is_set():
                    return
                self._put(item)
        except BaseException as error:  # raised again in the consuming thread
            self._put(None, error)
            return
        self._put(_DONE)


R = TypeVar("R")


class OrderedMap(Generic[T, R]):
    """`function` over items on `workers` threads, results handed back in the items' order.

    `with OrderedMap(f, items) as results: for item, result in results: ...`; at most
    `workers` + 1 items are in flight, and leaving early cancels what has not started.
    """

    def __init__(self, function: Callable[[T], R], items: Iterable[T], workers: int = 2) -> None:
        self._function = function
        self._items = items
        self._workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="dncsync-work")

    def __enter__(self) -> OrderedMap[T, R]:
        return self

    def __iter__(self) -> Iterator[tuple[T, R]]:
        pending: deque[tuple[T, Future[R]]] = deque()
        for item in self._items:
            pending.append((item, self._pool.submit(self._function, item)))
            if len(pending) > self._workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
