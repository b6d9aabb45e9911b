"""Which character separates fields: named by the operator, or found from the first lines.

Exports come comma-, tab-, semicolon- (European spreadsheets) or pipe-separated. The header and
the first records are read with each candidate: a candidate that splits the header into
several columns and every sampled record into as many is consistent. One consistent candidate
is the delimiter; several are told apart by which one gives a header with a phone column;
otherwise the file is ambiguous and the operator must say (guessing could read a phone number
across two columns, or a whole line as one junk value).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from dncsync.errors import InputError

DELIMITERS = (",", "\t", ";", "|")
# Names accepted for a delimiter where a tab is awkward to type (a shell, a TOML file).
_NAMES = {
    ",": ",", "comma": ",",
    "\t": "\t", "\\t": "\t", "tab": "\t",
    ";": ";", "semicolon": ";",
    "|": "|", "pipe": "|",
}  # fmt: skip
SAMPLE_BYTES = 64 << 10  # the header and the first records, for detection
SAMPLE_RECORDS = 50


def delimiter_of(text: str) -> str:
    """The delimiter a `delimiter` option names; InputError for anything else."""
    found = _NAMES.get(text) or _NAMES.get(text.strip().lower())
    if found is None:
        raise InputError(
            f"unknown delimiter {text!r}: use one of ',', tab ('\\t' or tab), ';' or '|'"
        )
    return found


def shown(delimiter: str) -> str:
    """A delimiter as messages show it."""
    return "tab" if delimiter == "\t" else repr(delimiter)


def detect(
    sample: str, complete: bool, has_phone: Callable[[list[str]], bool] | None, label: str
) -> str:
    """The delimiter of a source whose first bytes decode to `sample`.

    `complete`: the sample is the whole source (else its last record may be cut short).
    `has_phone(header_fields) -> bool` tells whether a header has a phone column.
    """
    found: dict[str, list[list[str]]] = {}
    for delimiter in DELIMITERS:
        records = _records(sample, delimiter, complete)
        if records and len(records[0]) > 1:
            found[delimiter] = records
    if not found:
        return ","  # one column: any delimiter reads it alike
    consistent = [d for d, records in found.items() if _even(records)]
    candidates = consistent or list(found)
    if len(candidates) > 1 and has_phone is not None:
        with_phone = [d for d in candidates if has_phone(found[d][0])]
        if with_phone:
            candidates = with_phone
    if len(candidates) == 1:
        return candidates[0]
    names = " and ".join(shown(d) for d in candidates)
    raise InputError(
        f"{label}: cannot tell the delimiter ({names} both split the first lines into columns); "
        'name it with --delimiter (or delimiter = "..." in the source\'s configuration)'
    )


def _records(sample: str, delimiter: str, complete: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=False)
    records: list[list[str]] = []
    try:
        for record in reader:
            if record and any(field.strip() for field in record):
                records.append(record)
            if len(records) > SAMPLE_RECORDS:
                break
    except csv.Error:
        pass  # a field longer than csv's limit: judge on what came before
    if not complete and len(records) > 1 and len(records) <= SAMPLE_RECORDS:
        records.pop()  # the sample may end inside the last record
    return records


def _even(records: list[list[str]]) -> bool:
    width = len(records[0])
    return all(len(record) == width for record in records[1:])
