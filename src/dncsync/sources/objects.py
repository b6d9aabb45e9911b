"""Many files as one source: an S3 prefix or glob, a local folder or glob, read in key order.

    s3://bucket/dnc/            every object under the prefix
    s3://bucket/dnc/*.csv.gz    the objects whose key matches, segment by segment
    ./drops/  ./drops/*.csv     the files of a folder (not its subfolders), or a glob's

Daily drop files under one prefix are one source: every object is read, in key order, each with
its own header, its own line numbers, and its own identity in the evidence (SHA-256, ETag,
VersionId). A listing that matches nothing stops the read (exit 2): an empty match is far more
likely a wrong prefix than an empty compliance source, and must not look like one.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os

from dncsync.errors import InputError
from dncsync.model import SourceInfo
from dncsync.privacy import mask_text
from dncsync.sources.spec import SourceSpec

_GLOB = "*?["


def is_multi(url: str) -> bool:
    """Whether a source URL names many objects (a prefix, a folder or a glob)."""
    if url == "-":
        return False
    if url.startswith("s3://"):
        key = url[len("s3://") :].partition("/")[2]
        return url.endswith("/") or any(c in key for c in _GLOB)
    return os.path.isdir(url) or any(c in url for c in _GLOB)


def expand(url: str, endpoint_url: str | None = None) -> list[str]:
    """The URLs of every object the source names, in key order; InputError when none."""
    found = _s3(url, endpoint_url) if url.startswith("s3://") else _local(url)
    if not found:
        raise InputError(f"{mask_text(url)}: no object matches (is the prefix or pattern right?)")
    return found


def _s3(url: str, endpoint_url: str | None) -> list[str]:
    from dncsync.sources.s3 import list_keys

    bucket, _, key = url[len("s3://") :].partition("/")
    cut = min((key.index(c) for c in _GLOB if c in key), default=len(key))
    prefix = key[:cut]
    keys = [k for k in list_keys(f"s3://{bucket}/{prefix}", endpoint_url) if not k.endswith("/")]
    if cut < len(key):
        keys = [k for k in keys if matches(key, k)]
    return [f"s3://{bucket}/{k}" for k in keys]


def _local(url: str) -> list[str]:
    if os.path.isdir(url):
        names = sorted(os.listdir(url))
        paths = [os.path.join(url, n) for n in names if not n.startswith(".")]
    else:
        paths = sorted(glob.glob(url, recursive="**" in url))
    return [p for p in paths if os.path.isfile(p)]


def matches(pattern: str, key: str) -> bool:
    """A key matches a glob segment by segment: `*` never crosses a `/` (as in a shell)."""
    wanted, parts = pattern.split("/"), key.split("/")
    return len(wanted) == len(parts) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=True)
    )


def many_objects(spec: SourceSpec, parts: list[SourceInfo]) -> SourceInfo:
    """The evidence of a source of many objects: each object's, and a digest over them all."""
    manifest = "".join(f"{part.uri} {part.sha256}\n" for part in parts)
    return SourceInfo(
        name=spec.name,
        uri=spec.url,
        sha256=hashlib.sha256(manifest.encode()).hexdigest(),
        bytes=sum(part.bytes for part in parts),
        rows=sum(part.rows for part in parts),
        kind=spec.kind,
        registry_date=spec.registry_date,
        objects=tuple(parts),
    )
