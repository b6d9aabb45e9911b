"""Files that hold phone numbers: created owner-read/write only, safe to open in a spreadsheet."""

from __future__ import annotations

import os
from typing import TextIO

from dncsync.errors import InputError

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def open_private(path: str) -> TextIO:
    """Open `path` for writing text, mode 0600 even when it already existed (personal data)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise InputError(f"{path}: cannot write ({error.strerror})") from None
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline="")


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
