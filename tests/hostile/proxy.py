"""A fault proxy: a TCP relay on a free 127.0.0.1 port between dncsync and the emulator.

It reads each HTTP/1.1 request on a client connection (keep-alive included), asks its `rule`
which fault the request meets, and relays it to the upstream server with that fault applied:

| fault          | what the client meets                                      | applied |
|----------------|------------------------------------------------------------|---------|
| `PASS`         | the answer                                                 | yes     |
| `LATENCY`      | the answer, `latency` seconds late                         | yes     |
| `RESET_BEFORE` | a TCP reset instead of an answer                           | no      |
| `RESET_AFTER`  | a TCP reset instead of an answer                           | yes     |
| `HALF_CLOSE`   | the proxy's side shut (FIN), no answer; it keeps reading   | no      |
| `TRICKLE`      | the answer one byte every `trickle_interval` seconds       | yes     |
| `TRUNCATE`     | the first half of the answer, then the connection closed   | yes     |
| `HANG`         | nothing at all, for as long as the connection stays        | no      |

("applied": the upstream server received the request and answered it.)

The rule is a function of (method, path, n), n counting earlier arrivals of the same method
and path, so a test decides deterministically which attempt meets what; `rule` may be
replaced while the proxy runs (a platform that dies mid-run, then comes back). Every
connection is bounded by `hold_seconds`, and `stop()` ends them all at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """What one request meets on its way through the proxy."""

    PASS = "pass"
    LATENCY = "latency"
    RESET_BEFORE = "reset_before"
    RESET_AFTER = "reset_after"
    HALF_CLOSE = "half_close"
    TRICKLE = "trickle"
    TRUNCATE = "truncate"
    HANG = "hang"


Rule = Callable[[str, str, int], Fault]


@dataclass(frozen=True, slots=True)
class Relayed:
    """One request that reached the proxy, and the fault it met."""

    method: str
    path: str
    body: bytes
    fault: Fault


def always(fault: Fault) -> Rule:
    """Every request meets `fault`."""
    return lambda method, path, n: fault


def passing(method: str, path: str, n: int) -> Fault:
    """No fault: an honest network."""
    return Fault.PASS


class FaultProxy:
    """The proxy; use as a context manager (`with FaultProxy(...) as proxy:`)."""

    def __init__(
        self,
        upstream: tuple[str, int],
        rule: Rule = passing,
        *,
        latency: float = 0.3,
        trickle_interval: float = 0.05,
        hold_seconds: float = 60.0,
    ) -> None:
        self.upstream = upstream
        self.rule = rule
        self.latency = latency
        self.trickle_interval = trickle_interval
        self.hold_seconds = hold_seconds
        self.port = 0
        self._lock = threading.Lock()
        self._relayed: list[Relayed] = []
        self._counts: Counter[tuple[str, str]] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The proxy's origin, to use as a target's `base_url`."""
        return f"http://127.0.0.1:{self.port}"

    def relayed(self) -> list[Relayed]:
        """Every request that reached the proxy so far, in arrival order."""
        with self._lock:
            return list(self._relayed)

    # --- lifetime ------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._connection, "127.0.0.1", 0)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as error:  # reported to the starting thread
                failure.append(error)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="fault-proxy", daemon=True)
        self._thread.start()
        if not started.wait(10) or failure:
            raise RuntimeError(f"the fault proxy did not start: {failure}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close the listening socket and every connection, then the loop (within seconds)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(close(), loop)
        thread.join(timeout=10)

    # --- one client connection -----------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            async with asyncio.timeout(self.hold_seconds):
                while True:
                    request = await _read_request(reader)
                    if request is None:
                        return
                    head, body, method, path = request
                    fault = self._decide(method, path, body)
                    if fault is Fault.RESET_BEFORE:
                        _reset(writer)
                        return
                    if fault is Fault.HALF_CLOSE:
                        writer.write_eof()
                        await reader.read()  # keep reading until the client gives up
                        return
                    if fault is Fault.HANG:
                        await reader.read()  # never answer; return when the client leaves
                        return
                    if upstream is None:
                        upstream = await asyncio.open_connection(*self.upstream)
                    upstream[1].write(head + body)
                    await upstream[1].drain()
                    answer, closes = await _read_response(upstream[0], method)
                    if fault is Fault.RESET_AFTER:
                        _reset(writer)
                        return
                    if fault is Fault.TRUNCATE:
                        writer.write(answer[: max(1, len(answer) // 2)])
                        await writer.drain()
                        return
                    if fault is Fault.LATENCY:
                        await asyncio.sleep(self.latency)
                    if fault is Fault.TRICKLE:
                        for index in range(len(answer)):
                            writer.write(answer[index : index + 1])
                            await writer.drain()
                            await asyncio.sleep(self.trickle_interval)
                    else:
                        writer.write(answer)
                        await writer.drain()
                    if closes:
                        return
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._tasks.discard(task)
            for stream in (writer, upstream[1] if upstream else None):
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()

    def _decide(self, method: str, path: str, body: bytes) -> Fault:
        with self._lock:
            n = self._counts[(method, path)]
            self._counts[(method, path)] += 1
            fault = self.rule(method, path, n)
            self._relayed.append(Relayed(method, path, body, fault))
            return fault


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (RST), not a FIN: the client meets ECONNRESET."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    found: dict[str, str] = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            found[name.strip().lower()] = value.strip()
    return found


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[bytes, bytes, str, str] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed the connection between requests
    method, target = head.split(b" ", 2)[:2]
    headers = _headers(head)
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    path = target.decode("latin-1").split("?", 1)[0]
    return head, body, method.decode("ascii"), path


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[bytes, bool]:
    """One whole response, as bytes, and whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = _headers(head)
    closes = headers.get("connection", "").lower() == "close"
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return head, closes
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = [head]
        while True:
            size_line = await reader.readuntil(b"\r\n")
            parts.append(size_line)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = await reader.readuntil(b"\r\n")
                    parts.append(line)
                    if line == b"\r\n":
                        return b"".join(parts), closes
            parts.append(await reader.readexactly(size + 2))
    if "content-length" in headers:
        return head + await reader.readexactly(int(headers["content-length"])), closes
    return head + await reader.read(), True  # delimited by the close


@contextlib.contextmanager
def fault_proxy(upstream_url: str, rule: Rule = passing, **options: float) -> Iterator[FaultProxy]:
    """A running proxy in front of `upstream_url` (http://127.0.0.1:PORT)."""
    host, port = upstream_url.removeprefix("http://").rsplit(":", 1)
    with FaultProxy((host, int(port)), rule, **options) as proxy:
        yield proxy


__all__ = ["Fault", "FaultProxy", "Relayed", "Rule", "always", "fault_proxy", "passing"]
