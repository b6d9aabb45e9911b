"""Bytes from a source, hashed as stored and decompressed when gzip, whatever the transport."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Callable
from typing import BinaryIO, Protocol

from dncsync.errors import InputError

ProgressHook = Callable[[str, int, int | None], None]  # (source name, bytes read, total or None)
_GZIP_MAGIC = b"\x1f\x8b"
BUFFER = 1 << 20


class Readable(Protocol):
    """Anything with `read(size)`: files, stdin, botocore's StreamingBody."""

    def read(self, size: int = -1, /) -> bytes: ...


class HashingReader(io.RawIOBase):
    """Counts and hashes every byte as stored, before any decompression (evidence)."""

    def __init__(
        self, raw: Readable, name: str, total: int | None, progress: ProgressHook | None
    ) -> None:
        super().__init__()
        self._raw = raw
        self._name = name
        self._total = total
        self._progress = progress
        self._digest = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._raw.read(len(buffer))
        except Exception as error:  # the transport failed mid-stream (disk, network)
            raise InputError(f"{self._name}: reading failed ({error})") from None
        size = len(data)
        buffer[:size] = data
        if size:
            self._digest.update(data)
            self.bytes_read += size
            if self._progress is not None:
                self._progress(self._name, self.bytes_read, self._total)
        return size

    def drain(self) -> None:
        """Read what is left, so the digest covers the whole object."""
        while self._raw.read(BUFFER):
            pass  # pragma: no cover - readers consume to the end; this is a safety net

    def sha256(self) -> str:
        """The hex digest of the bytes read so far."""
        return self._digest.hexdigest()


class _GzipErrors(io.RawIOBase):
    """Turns a corrupt or truncated gzip stream into one clear InputError."""

    def __init__(self, inner: gzip.GzipFile, label: str) -> None:
        super().__init__()
        self._inner = inner
        self._label = label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            return self._inner.readinto(buffer)
        except (OSError, EOFError, zlib.error) as error:
            raise InputError(f"{self._label}: corrupt or truncated gzip data ({error})") from None


def decoded_stream(hashing: HashingReader, label: str) -> BinaryIO:
    """A buffered stream of the source's content: gunzipped when the bytes are gzip."""
    buffered = io.BufferedReader(hashing, BUFFER)
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        inner = gzip.GzipFile(fileobj=buffered, mode="rb")
        return io.BufferedReader(_GzipErrors(inner, label), BUFFER)
    return buffered
