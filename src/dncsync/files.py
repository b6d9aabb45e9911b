"""Files that hold phone numbers: created owner-read/write only, safe to open in a spreadsheet.

And what a failed write means to an operator: `storage_error` turns an OSError (a full disk,
a read-only or missing folder) into one InputError line that names the path and what to do;
`writing(path)` does it for a block of writes.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self, TextIO

from dncsync.errors import InputError

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# What to do about the storage failures an operator can fix; others print their own text.
_REMEDIES = {
    errno.ENOSPC: "no space left on the device: free some space, or write elsewhere",
    errno.EDQUOT: "disk quota exceeded: free some space, or write elsewhere",
    errno.EROFS: "the file system is read-only: write elsewhere, or remount it read-write",
    errno.EACCES: "permission denied: make the folder writable by this user, or write elsewhere",
    errno.EPERM: "not permitted: make the folder writable by this user, or write elsewhere",
    errno.ENOTDIR: "a part of the path is a file, not a folder: fix the path",
    errno.EEXIST: "a part of the path is a file, not a folder: fix the path",  # mkdir's
    errno.ENOENT: "its folder does not exist: create it, or fix the path",
    errno.EISDIR: "it is a folder: give a file name",
    errno.EIO: "the device reported an I/O error: check the disk",
}


def storage_error(path: Path | str, error: OSError, doing: str = "cannot write") -> InputError:
    """One line for a failed read or write of `path`: the path, the reason, what to do."""
    reason = _REMEDIES.get(error.errno or 0) or error.strerror or str(error)
    return InputError(f"{path}: {doing}: {reason}")


@contextmanager
def writing(path: Path | str, doing: str = "cannot write") -> Iterator[None]:
    """Writes to `path` in the block: an OSError becomes `storage_error`'s InputError."""
    try:
        yield
    except OSError as error:
        raise storage_error(path, error, doing) from None


def open_private(path: str) -> TextIO:
    """Open `path` for writing text, mode 0600 even when it already existed (personal data).

    A device or a pipe (`/dev/stdout`, `/dev/full`) is written to as it is, never re-moded.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise storage_error(path, error) from None
    if stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline="")


class PrivateCsv:
    """A 0600 CSV file written a batch at a time: its header first, every write's OSError one
    line naming the path (`writing`). The rejects and warned-rows files build on it."""

    def __init__(self, path: str, header: Sequence[str]) -> None:
        self._path = path
        self._text = open_private(path)
        with writing(path):
            self._text.write(",".join(header) + "\n")
            self._text.flush()

    def close(self) -> None:
        """Flush and close the file."""
        with writing(self._path):
            self._text.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def spreadsheet_safe(text: str) -> str:
    """Prefix `'` to text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_field(text: str) -> str:
    """One CSV field: quoted (quotes doubled) when it holds a comma, a quote, CR or LF."""
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def spreadsheet_unescape(text: str) -> str:
    """Undo spreadsheet_safe, so a file dncsync wrote reads back to the same text."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text
