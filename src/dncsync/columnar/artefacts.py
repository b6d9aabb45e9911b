"""Phone values that went through a spreadsheet, read back as the digits they were.

A spreadsheet that took a phone column for numbers writes `4155552674.0` (an integral float),
`4.155552674E+9` (scientific notation) or, when told to keep it as text, `'4155552674` (a
leading apostrophe). Each is the number it stood for, and is read so. Scientific notation
that shows fewer digits than its exponent needs (`4.15555E+9`: the spreadsheet rounded the
number to six significant digits) has lost the number's last digits: nothing can restore them,
so the value is rejected as `scientific_digits_lost` rather than read as some other number.

Values of any other shape are left as they are, for phonenumbers to judge.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

# One pass over the column finds the values worth a second look (most columns have none).
_ARTEFACT = r"^\s*'|^\s*[0-9]+\.0+\s*$|^\s*[0-9](\.[0-9]*)?[eE]\+?[0-9]+\s*$"
_SCIENTIFIC = re.compile(r"\s*([0-9])(?:\.([0-9]*))?[eE]\+?([0-9]+)\s*")


def repair(values: pa.StringArray) -> tuple[pa.StringArray, npt.NDArray[np.intp]]:
    """The column with spreadsheet artefacts read as their digits, and the rows whose
    scientific notation lost digits (their value is then empty: they must be rejected)."""
    none = np.empty(0, np.intp)
    if len(values) == 0:
        return values, none
    found = pc.match_substring_regex(values, _ARTEFACT)
    if not pc.any(found).as_py():
        return values, none
    rows = np.flatnonzero(found.to_numpy(zero_copy_only=False))
    texts = values.take(pa.array(rows)).to_pylist()
    fixed: list[str] = []
    lost: list[int] = []
    for row, text in zip(rows.tolist(), texts, strict=True):
        digits, complete = read(text or "")
        fixed.append(digits)
        if not complete:
            lost.append(row)
    mask = np.zeros(len(values), bool)
    mask[rows] = True
    repaired = pc.replace_with_mask(values, pa.array(mask), pa.array(fixed, pa.string()))
    return repaired, np.array(lost, np.intp)


def read(text: str) -> tuple[str, bool]:
    """One artefact's value as text to judge, and False when its digits were lost."""
    stripped = text.strip()
    if stripped.startswith("'"):
        return text.replace("'", "", 1), True
    scientific = _SCIENTIFIC.fullmatch(stripped)
    if scientific is None:  # an integral float: the digits before the point
        return stripped.split(".", 1)[0], True
    lead, fraction, exponent = scientific.group(1), scientific.group(2) or "", scientific.group(3)
    places = int(exponent)
    if len(fraction) < places:
        return "", False  # padded with zeros the spreadsheet made up
    if len(fraction) > places and fraction[places:].strip("0"):
        return text, True  # not a whole number: not a spreadsheet's phone, judge as written
    return (lead + fraction)[: places + 1], True
