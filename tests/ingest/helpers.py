"""Small helpers for the ingest tests: write a source, ingest it, look at the entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from dncsync.ingest import IngestResult, ingest
from dncsync.model import Entry
from dncsync.policy import DEFAULT_POLICY
from dncsync.rejects import RejectList
from dncsync.sources import SourceSpec

TODAY = date(2026, 11, 22)


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def run(path: Path | str, *, name: str = "src", **options: Any) -> tuple[IngestResult, RejectList]:
    rejects = RejectList()
    spec = SourceSpec(name=name, url=str(path), **options)
    return ingest([spec], DEFAULT_POLICY, today=TODAY, rejects=rejects), rejects


def by_phone(result: IngestResult) -> dict[str, Entry]:
    return {entry.phone: entry for entry in result.entries()}
