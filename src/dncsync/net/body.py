"""Answers read within a size: a platform's body is never taken into memory unbounded.

An answer's body is read chunk by chunk, counting the bytes after decoding (so a compressed
answer cannot expand past the cap), and refused as soon as it passes its cap, or before a
byte of it is read when its `Content-Length` already says it would (`read_capped`,
`read_into`). A body written to a file (an export) has its own cap; every other body is held
to `MAX_BODY_BYTES`.

Answers httpx reads itself (a token answer inside the OAuth flow, a 401 before the request is
sent again) are capped on the wire instead (`CappedStream`): their raw bytes, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO

import httpx

MAX_BODY_BYTES = 16 * 1024 * 1024  # any answer but an export: 16 MiB
# A token answer or a refusal is a few kilobytes; httpx decodes each raw chunk (at most 64 KiB
# off the socket) as it comes, so even a compressed one stays within a few megabytes.
SMALL_BODY_BYTES = 64 * 1024


class AnswerTooLarge(Exception):
    """An answer's body passed its cap; it was not read further."""

    def __init__(self, url: httpx.URL, limit: int, declared: int | None = None) -> None:
        self.url = url
        self.limit = limit
        self.declared = declared
        size = f"{declared:,} bytes" if declared is not None else f"more than {limit:,} bytes"
        where = url.netloc.decode("ascii", "replace") + url.path
        super().__init__(f"{where} answered {size}, above the {_size(limit)} cap")


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    if mib >= 1 and mib == int(mib):
        return f"{int(mib)} MiB"
    return f"{limit:,}-byte"


def declared_length(response: httpx.Response) -> int | None:
    """The body's length the answer declares, if it declares a readable one."""
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def _refuse_declared(response: httpx.Response, limit: int) -> None:
    declared = declared_length(response)
    if declared is not None and declared > limit:
        raise AnswerTooLarge(response.request.url, limit, declared)


async def read_capped(response: httpx.Response, limit: int = MAX_BODY_BYTES) -> bytes:
    """A streamed answer's decoded body; `AnswerTooLarge` as soon as it passes `limit`."""
    _refuse_declared(response, limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise AnswerTooLarge(response.request.url, limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_into(response: httpx.Response, sink: IO[bytes], limit: int) -> int:
    """Write a streamed answer's decoded body to `sink` from its start (an earlier attempt's
    bytes dropped); the bytes written. `AnswerTooLarge` as soon as it passes `limit`."""
    _refuse_declared(response, limit)
    sink.seek(0)
    sink.truncate()
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise AnswerTooLarge(response.request.url, limit)
        sink.write(chunk)
    sink.flush()
    return total


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A read answer: the same status and headers, `body` as its (decoded) content."""
    headers = [
        (key, value)
        for key, value in response.headers.multi_items()
        if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


class CappedStream(httpx.AsyncByteStream):
    """A response stream that raises `AnswerTooLarge` once its raw bytes pass `limit`."""

    def __init__(self, inner: httpx.AsyncByteStream, url: httpx.URL, limit: int) -> None:
        self._inner = inner
        self._url = url
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self._inner:
            total += len(chunk)
            if total > self._limit:
                raise AnswerTooLarge(self._url, self._limit)
            yield chunk

    async def aclose(self) -> None:
        """Close the stream underneath."""
        await self._inner.aclose()


def cap_stream(response: httpx.Response, limit: int = SMALL_BODY_BYTES) -> None:
    """Cap an answer httpx will read itself: refused at once when its declared length is above
    `limit`, else when its raw bytes pass it."""
    _refuse_declared(response, limit)
    if isinstance(response.stream, httpx.AsyncByteStream):
        response.stream = CappedStream(response.stream, response.request.url, limit)


__all__ = [
    "MAX_BODY_BYTES",
    "SMALL_BODY_BYTES",
    "AnswerTooLarge",
    "CappedStream",
    "cap_stream",
    "declared_length",
    "read_capped",
    "read_into",
    "with_body",
]
