"""A source's fingerprint: what tells a scheduled source changed, without reading its rows.

`dncsync serve` reads a scheduled source again only when its fingerprint differs from the one
its last successful sync saw, so an unchanged source costs no platform request at all.

- S3 (one key, a prefix or a glob): one listing, each object's key, ETag and size; a new,
  changed or removed object changes it. No object is downloaded.
- Local files (one file, a folder or a glob): each file's path and the SHA-256 of its bytes
  (a modification time can be equal for two writes within the clock's tick; the bytes cannot).
"""

from __future__ import annotations

import hashlib

from dncsync.errors import InputError
from dncsync.privacy import mask_text
from dncsync.sources.objects import expand, is_multi, matches

_CHUNK = 1 << 20


def fingerprint(url: str, endpoint_url: str | None = None) -> str:
    """The SHA-256 of what identifies the source's objects now; InputError when unreadable."""
    digest = hashlib.sha256()
    if url.startswith("s3://"):
        for key, etag, size in _s3(url, endpoint_url):
            digest.update(f"{key}\0{etag}\0{size}\n".encode())
        return digest.hexdigest()
    for path in expand(url) if is_multi(url) else [url]:
        digest.update(f"{path}\0{_file_sha256(path)}\n".encode())
    return digest.hexdigest()


def _s3(url: str, endpoint_url: str | None) -> list[tuple[str, str, int]]:
    from dncsync.sources.s3 import identities

    bucket, _, key = url[len("s3://") :].partition("/")
    glob_at = min((key.index(c) for c in "*?[" if c in key), default=len(key))
    if not is_multi(url):
        # One key: the listing of its own name (a key that is a prefix of others is not them).
        found = [item for item in identities(url, endpoint_url) if item[0] == key]
        if not found:
            raise InputError(f"{mask_text(url)}: no such S3 key")
        return found
    listed = identities(f"s3://{bucket}/{key[:glob_at]}", endpoint_url)
    if glob_at < len(key):
        listed = [item for item in listed if matches(key, item[0])]
    return [item for item in listed if not item[0].endswith("/")]


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as error:
        raise InputError(f"{mask_text(path)}: cannot read the source: {error.strerror}") from None
    return digest.hexdigest()


__all__ = ["fingerprint"]
