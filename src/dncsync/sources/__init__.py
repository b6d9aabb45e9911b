"""Where DNC rows come from: local files (plain or gzip), stdin and S3, read as CSV.

open_source(spec)  ->  Opened (a decompressed byte stream + evidence about the bytes)
CsvRecords(opened.stream, spec).batches()  ->  RowBatch (columns of text + physical lines)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from dncsync.errors import InputError
from dncsync.model import SourceInfo
from dncsync.sources.records import CsvRecords, RowBatch
from dncsync.sources.spec import SourceSpec
from dncsync.sources.streams import HashingReader, ProgressHook, decoded_stream


@dataclass(slots=True)
class Opened:
    """An open source: its content stream and what evidence needs about its stored bytes."""

    spec: SourceSpec
    stream: BinaryIO
    hashing: HashingReader
    total_bytes: int | None
    s3_version_id: str | None = None
    s3_etag: str | None = None

    def info(self, rows: int) -> SourceInfo:
        """Evidence for this source once it has been read to the end."""
        self.hashing.drain()
        return SourceInfo(
            name=self.spec.name,
            uri=self.spec.url,
            sha256=self.hashing.sha256(),
            bytes=self.hashing.bytes_read,
            rows=rows,
            kind=self.spec.kind,
            registry_date=self.spec.registry_date,
            s3_version_id=self.s3_version_id,
            s3_etag=self.s3_etag,
        )


@contextmanager
def open_source(spec: SourceSpec, progress: ProgressHook | None = None) -> Iterator[Opened]:
    """Open a source for streaming; unreadable sources raise InputError with one clear line."""
    if spec.url.startswith("s3://"):
        from dncsync.sources.s3 import open_object

        obj = open_object(spec.url, spec.s3_endpoint_url)
        hashing = HashingReader(obj.body, spec.name, obj.size, progress)
        try:
            yield Opened(
                spec, decoded_stream(hashing, spec.url), hashing, obj.size, obj.version_id, obj.etag
            )
        finally:
            obj.body.close()
        return
    if spec.url == "-":
        hashing = HashingReader(sys.stdin.buffer, spec.name, None, progress)
        yield Opened(spec, decoded_stream(hashing, "stdin"), hashing, None)
        return
    try:
        handle = open(spec.url, "rb")  # noqa: SIM115 - closed below, after the caller is done
    except FileNotFoundError:
        raise InputError(f"{spec.url}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{spec.url}: is a directory, not a file") from None
    except PermissionError:
        raise InputError(f"{spec.url}: permission denied") from None
    except OSError as error:
        raise InputError(f"{spec.url}: cannot open ({error.strerror})") from None
    with handle:
        if os.path.isdir(spec.url):  # pragma: no cover - some platforms open directories
            raise InputError(f"{spec.url}: is a directory, not a file")
        total = os.fstat(handle.fileno()).st_size
        hashing = HashingReader(handle, spec.name, total, progress)
        yield Opened(spec, decoded_stream(hashing, spec.url), hashing, total)


__all__ = ["CsvRecords", "Opened", "ProgressHook", "RowBatch", "SourceSpec", "open_source"]
