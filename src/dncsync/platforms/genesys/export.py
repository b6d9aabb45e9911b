"""Genesys Cloud's export, taken with care: where its link may lead, and how its CSV is read.

- **Where.** The export's link (and every redirect from it) is followed only over https to
  Genesys Cloud's own hosts for the target's region (the region's domain and its subdomains,
  e.g. `*.mypurecloud.com`), or to `base_url`'s own origin when one is set. A loopback
  `base_url` (the emulator) allows nothing else: TLS is not verified for it, so no other
  host may be reached through its client. A link that is not a URL is refused at once.
- **How much.** The file may hold at most `EXPORT_BYTES_PER_NUMBER` bytes per number the
  list can hold (its capacity): 256 MB for a million numbers.
- **Which columns.** Column 0 the number, column 2 the expiration, by position as Genesys'
  terraform provider reads them, unless the header names them elsewhere (`columns`); a
  number column that holds something else fails the read (`phone_of`).
- **How.** Lines are read from the file one at a time, each at most `MAX_LINE_BYTES`, and
  decoded as strict UTF-8; a field longer than a number's is refused. Whatever fails, the
  read fails with the line it failed on, rather than taking a damaged list as the truth.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import httpx

from dncsync.net.client import is_loopback
from dncsync.privacy import mask_text, printable, redact_text

EXPORT_BYTES_PER_NUMBER = 256  # a line is some 40 bytes: room for longer columns, not for junk
MAX_LINE_BYTES = 64 * 1024
MAX_NUMBER_CHARS = 64  # the number column: E.164 is at most 16 characters
MAX_REDIRECTS = 5


class ExportUnreadable(Exception):
    """The export's CSV cannot be read; the message says where and why."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(f"line {line:,}: {why}")
        self.line = line


def link_of(value: object) -> httpx.URL | None:
    """The export's link as an absolute http(s) URL; None when it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        url = httpx.URL(value.strip())
    except (httpx.InvalidURL, ValueError):
        return None
    if url.scheme not in ("https", "http") or not url.host:
        return None
    return url


def shown(value: object, limit: int = 80) -> str:
    """A value from the platform as a message may quote it: printable, short, and with any
    number masked and credential redacted."""
    text = printable(redact_text(mask_text(repr(value))))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def allowed(url: httpx.URL, domain: str, base_url: str | None) -> bool:
    """Whether an export link may be followed: https on the region's own hosts (`domain` and
    its subdomains), or `base_url`'s own origin; a loopback `base_url` allows only itself."""
    if base_url is not None:
        base = httpx.URL(base_url)
        if url.scheme == base.scheme and url.netloc == base.netloc:
            return True
        if is_loopback(base_url):
            return False
    host = url.host.lower().rstrip(".")
    return url.scheme == "https" and (host == domain or host.endswith("." + domain))


def rows(raw: IO[bytes]) -> Iterator[list[str]]:
    """The CSV rows of the export file (header included); `ExportUnreadable` on bad UTF-8,
    a line longer than `MAX_LINE_BYTES`, a field the csv module refuses, or a number column
    longer than a number can be."""
    reader = csv.reader(_lines(raw))
    try:
        for row in reader:
            if row and len(row[0]) > MAX_NUMBER_CHARS:
                raise ExportUnreadable(
                    reader.line_num,
                    f"a number column of {len(row[0]):,} characters, which no number has",
                )
            yield row
    except csv.Error as error:
        raise ExportUnreadable(max(1, reader.line_num), printable(str(error))) from None


@dataclass(frozen=True, slots=True)
class Columns:
    """Where an export's number and expiration are, and how that was decided."""

    phone: int = 0
    expiration: int = 2
    by_header: bool = False  # the header named a column elsewhere than the usual place

    def describe(self) -> str:
        """The fingerprint's words for it."""
        how = "by header" if self.by_header else "by position"
        return f"{how}: number in column {self.phone}, expiration in column {self.expiration}"


def _name(cell: str) -> str:
    return "".join(ch for ch in cell.lower() if ch.isalnum())


def columns(header: list[str]) -> Columns:
    """Where to read the number and the expiration: by position (0 and 2, as Genesys'
    terraform provider does), unless the header names them elsewhere (a cell with `phone`, or
    else `number`, in its name; a cell with `expir` in its name)."""
    names = [_name(cell) for cell in header]
    phone = next((i for i, n in enumerate(names) if "phone" in n), None)
    if phone is None:
        phone = next((i for i, n in enumerate(names) if "number" in n), None)
    expiration = next((i for i, n in enumerate(names) if "expir" in n and i != phone), None)
    chosen = Columns(
        phone if phone is not None else 0,
        expiration if expiration is not None else 2,
    )
    if chosen.phone == chosen.expiration:  # a header naming both in one place names nothing
        return Columns()
    return Columns(chosen.phone, chosen.expiration, (chosen.phone, chosen.expiration) != (0, 2))


_PHONE_CELL = re.compile(r"^\s*\+?[0-9][0-9 ().\-]*$")


def phone_of(row: list[str], where: Columns, line: int) -> str:
    """The number of one row, formatting stripped; `ExportUnreadable` when the column holds
    something that is not a number (columns moved under headers dncsync cannot read): a
    date or a name read as digits would be a number nobody asked to block."""
    cell = row[where.phone] if len(row) > where.phone else ""
    if not cell.strip():
        return ""
    if len(cell) > MAX_NUMBER_CHARS or not _PHONE_CELL.match(cell):
        raise ExportUnreadable(
            line, f"column {where.phone} holds something that is not a phone number"
        )
    return "".join(ch for ch in cell.strip() if ch.isdigit() or ch == "+")


def _lines(raw: IO[bytes]) -> Iterator[str]:
    number = 0
    while True:
        line = raw.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise ExportUnreadable(number, f"a line longer than {MAX_LINE_BYTES:,} bytes")
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise ExportUnreadable(
                number, f"not UTF-8 (byte {error.start + 1} of the line)"
            ) from None


__all__ = [
    "EXPORT_BYTES_PER_NUMBER",
    "MAX_LINE_BYTES",
    "MAX_NUMBER_CHARS",
    "MAX_REDIRECTS",
    "Columns",
    "ExportUnreadable",
    "allowed",
    "columns",
    "link_of",
    "phone_of",
    "rows",
    "shown",
]
