"""The tamper-evident audit log: one JSON-lines file per run, each line chained to the last.

Line format (one JSON object per line, ASCII, no spaces):

    {"seq":1,"prev":"<64 hex>", ...event...,"hash":"<64 hex>"}

- `seq` counts lines from 1, so a deleted or reordered line shows at once;
- `prev` is the `hash` of the line before (the first line chains from `GENESIS`);
- `hash` is the SHA-256 of the line's own bytes up to the `,"hash":` suffix, closed by `}`.

Hashing the raw bytes (not re-serialised JSON) means any byte edit is caught, whitespace and
escapes included; the per-line hash names the edited line itself rather than the one after
it. The state store keeps each run's final hash and line count (the `AuditSeal`), so a cut
tail or a wholesale rewrite of the chain is caught too. `verify()` checks all of it and names
the first broken line, 1-based.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from dncsync.errors import AuditChainBroken
from dncsync.files import storage_error, writing

GENESIS = hashlib.sha256(b"dncsync audit log v1").hexdigest()
_HASH_KEY = b',"hash":"'
_SUFFIX_LENGTH = len(_HASH_KEY) + 64 + 2  # ,"hash":" + 64 hex + "}
_RESERVED = ("seq", "prev", "hash")

AUDIT_FILE = "audit.jsonl"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
WARNINGS_CSV = "warnings.csv"


@dataclass(frozen=True, slots=True)
class AuditSeal:
    """What the state store keeps to prove a run's audit file later: its last hash and length."""

    final_hash: str
    lines: int


@dataclass(frozen=True, slots=True)
class RunFiles:
    """Where one run's evidence lives: `<runs dir>/<run id>/` (config `[state] runs_dir`)."""

    directory: Path
    audit: Path
    report_json: Path
    report_html: Path

    @classmethod
    def for_run(cls, runs_dir: Path, run_id: str) -> RunFiles:
        """The evidence paths of `run_id` under the runs folder (nothing is created)."""
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise ValueError(f"not a run id: {run_id!r}")
        directory = runs_dir / run_id
        return cls(
            directory=directory,
            audit=directory / AUDIT_FILE,
            report_json=directory / REPORT_JSON,
            report_html=directory / REPORT_HTML,
        )

    @property
    def warnings(self) -> Path:
        """The run's warned rows (`source,line,kind,detail`, numbers masked), mode 0600."""
        return self.directory / WARNINGS_CSV

    def create_directory(self) -> None:
        """Create the run's folder, owner-only (it holds evidence about personal data)."""
        with writing(self.directory, "cannot create the run's evidence folder"):
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def _line_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _encode(seq: int, prev: str, event: Mapping[str, Any]) -> tuple[bytes, str]:
    """Serialise one event as a chained line; returns (line without newline, its hash)."""
    record: dict[str, Any] = {"seq": seq, "prev": prev}
    for key, value in event.items():
        # An event cannot forge the chain fields; keep its values under another name.
        record[f"event_{key}" if key in _RESERVED else key] = value
    body = json.dumps(record, ensure_ascii=True, separators=(",", ":"), default=str).encode()
    digest = _line_hash(body)
    return body[:-1] + _HASH_KEY + digest.encode() + b'"}', digest


def write_private(path: Path, data: bytes) -> None:
    """Write a new evidence file owner-read/write only (0600), replacing an older one."""
    with writing(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


class AuditLog:
    """Appends chained events to one run's audit file; thread-safe; `close()` seals it."""

    def __init__(self, path: Path, fd: int, seq: int, last_hash: str) -> None:
        self.path = path
        self._fd: int | None = fd
        self._seq = seq
        self._last_hash = last_hash
        self._lock = threading.Lock()

    @classmethod
    def create(cls, path: Path) -> AuditLog:
        """Start a new audit file (mode 0600); an existing file is never overwritten."""
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except FileExistsError:
            raise  # a run id is never reused: a bug, not the operator's to fix
        except OSError as error:
            raise storage_error(path, error, "cannot create the audit log") from None
        return cls(path, fd, 0, GENESIS)

    @classmethod
    def resume(cls, path: Path) -> AuditLog:
        """Continue the chain of an existing file (a resumed run), after checking it."""
        verdict = verify(path)
        if not verdict.ok:
            raise AuditChainBroken(f"cannot resume {path}: {verdict.problem}")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        return cls(path, fd, verdict.lines, verdict.final_hash)

    @property
    def closed(self) -> bool:
        """True once sealed: later events are not part of this run's log."""
        return self._fd is None

    @property
    def seal(self) -> AuditSeal:
        """The chain's current end: what the state store keeps for `verify`."""
        with self._lock:
            return AuditSeal(self._last_hash, self._seq)

    def append(self, event: Mapping[str, Any]) -> str:
        """Write one event as the next line, flushed to the OS at once; returns its hash."""
        with self._lock:
            if self._fd is None:
                raise ValueError(f"audit log {self.path} is closed")
            line, digest = _encode(self._seq + 1, self._last_hash, event)
            data = memoryview(line + b"\n")
            # One write per line: a SIGKILL leaves whole lines (and at worst one cut line).
            # A full disk stops the run: evidence that cannot be written is no evidence.
            with writing(self.path, "cannot write the audit log"):
                while data:
                    data = data[os.write(self._fd, data) :]
            self._seq += 1
            self._last_hash = digest
            return digest

    def close(self) -> AuditSeal:
        """Flush to disk and close; returns the seal to store with the run."""
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                with writing(self.path, "cannot write the audit log"):
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            return AuditSeal(self._last_hash, self._seq)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    """The outcome of `verify`: intact, or the first broken line and what is wrong with it."""

    ok: bool
    lines: int  # whole lines found in the file
    final_hash: str  # the hash of the last good line (GENESIS for an empty file)
    broken_line: int | None = None  # 1-based
    problem: str | None = None


def _broken(lines: int, last: str, line: int, problem: str) -> AuditVerdict:
    return AuditVerdict(False, lines, last, line, f"line {line}: {problem}")


def verify(
    path: Path,
    expected_final_hash: str | None = None,
    expected_lines: int | None = None,
) -> AuditVerdict:
    """Check an audit file's chain, and its end against the seal the state store kept."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    cut = lines.pop() if lines else b""  # bytes after the last newline: a cut line, if any
    previous = GENESIS
    for number, line in enumerate(lines, start=1):
        problem = _check_line(line, number, previous)
        if problem is not None:
            return _broken(len(lines), previous, number, problem)
        previous = line[-_SUFFIX_LENGTH + len(_HASH_KEY) : -2].decode()
    count = len(lines)
    if cut:
        return _broken(
            count, previous, count + 1, "cut short (no line end): the file was truncated"
        )
    if expected_lines is not None and count < expected_lines:
        return _broken(
            count,
            previous,
            count + 1,
            f"missing: the file ends after {count} lines, {expected_lines} were recorded "
            "(the tail was cut)",
        )
    if expected_lines is not None and count > expected_lines:
        return _broken(
            count,
            previous,
            expected_lines + 1,
            f"unexpected: {expected_lines} lines were recorded, the file has {count}",
        )
    if expected_final_hash is not None and previous != expected_final_hash:
        return _broken(
            count,
            previous,
            max(count, 1),
            "the chain's end differs from the hash recorded in the state store "
            "(the file was rewritten)",
        )
    return AuditVerdict(True, count, previous)


def _check_line(line: bytes, number: int, previous: str) -> str | None:
    """What is wrong with one line, or None when it is intact and follows `previous`."""
    if len(line) <= _SUFFIX_LENGTH or not line.endswith(b'"}'):
        return "not an audit line (edited or cut)"
    suffix_start = len(line) - _SUFFIX_LENGTH
    if line[suffix_start : suffix_start + len(_HASH_KEY)] != _HASH_KEY:
        return "not an audit line (its hash field was edited)"
    stated = line[suffix_start + len(_HASH_KEY) : -2]
    body = line[:suffix_start] + b"}"
    if _line_hash(body).encode() != stated:
        return "edited: its content does not match its hash"
    try:
        record = json.loads(body)
    except ValueError:  # only reachable if the hash was forged along with the edit
        return "not valid JSON"
    seq = record.get("seq") if isinstance(record, dict) else None
    if seq != number:
        if isinstance(seq, int) and seq > number:
            return f"is event #{seq}, expected #{number}: lines before it were deleted or moved"
        return f"is event #{seq}, expected #{number}: lines were moved or duplicated"
    if record.get("prev") != previous:
        return "does not follow the line before it (lines removed, inserted or reordered)"
    return None


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of an audit file, in order (without checking the chain)."""
    events: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n"):
                events.append(json.loads(raw))
    return events


__all__ = [
    "AUDIT_FILE",
    "GENESIS",
    "REPORT_HTML",
    "REPORT_JSON",
    "AuditChainBroken",
    "AuditLog",
    "AuditSeal",
    "AuditVerdict",
    "RunFiles",
    "read_events",
    "verify",
    "write_private",
]
