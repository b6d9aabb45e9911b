"""Phone normalization with phonenumbers' exact verdicts: one raw value in, E.164 or a reason out.

This is the reference path: every value the columnar fast path cannot prove it handles the same
way comes here, and the differential tests hold the fast path to this function's answers.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from dncsync.model import RejectReason, Strictness

_PARSE_ERRORS: dict[int, RejectReason] = {
    NumberParseException.INVALID_COUNTRY_CODE: RejectReason.INVALID_COUNTRY_CODE,
    NumberParseException.NOT_A_NUMBER: RejectReason.NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: RejectReason.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: RejectReason.TOO_SHORT,
    NumberParseException.TOO_LONG: RejectReason.TOO_LONG,
}

# is_possible_number_with_reason's answers for a number that is not accepted.
_LENGTH_VERDICTS: dict[int, RejectReason] = {
    ValidationResult.IS_POSSIBLE: RejectReason.POSSIBLE_NOT_VALID,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: RejectReason.POSSIBLE_NOT_VALID,
    ValidationResult.INVALID_COUNTRY_CODE: RejectReason.INVALID_COUNTRY_CODE,
    ValidationResult.TOO_SHORT: RejectReason.TOO_SHORT,
    ValidationResult.INVALID_LENGTH: RejectReason.INVALID_LENGTH,
    ValidationResult.TOO_LONG: RejectReason.TOO_LONG,
}

_POSSIBLE = (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY)
_LETTER = re.compile(r"[A-Za-z]")


class PhoneResult(NamedTuple):
    """One value's verdict: `e164` when accepted, otherwise `reject`."""

    e164: str | None
    reject: RejectReason | None
    extension: bool = False  # an extension was present and dropped
    vanity: bool = False  # letters were converted to digits (1-800-FLOWERS)


def normalize(
    raw: str, region: str = "US", strictness: Strictness = Strictness.VALID
) -> PhoneResult:
    """Parse one raw phone value the way phonenumbers does and apply the strictness."""
    if not raw.strip():
        return PhoneResult(None, RejectReason.EMPTY)
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as error:
        return PhoneResult(None, _PARSE_ERRORS.get(error.error_type, RejectReason.NOT_A_NUMBER))
    extension = bool(number.extension)
    vanity = _has_vanity_letters(raw, number.extension)
    if strictness is Strictness.VALID:
        accepted = phonenumbers.is_valid_number(number)
        length = None
    else:
        length = phonenumbers.is_possible_number_with_reason(number)
        accepted = length in _POSSIBLE
    if accepted:
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        return PhoneResult(e164, None, extension, vanity)
    if length is None:
        length = phonenumbers.is_possible_number_with_reason(number)
    return PhoneResult(None, _LENGTH_VERDICTS[length], extension, vanity)


def _has_vanity_letters(raw: str, extension: str | None) -> bool:
    """True when letters in the number itself (not an `ext.` marker) became digits."""
    if extension:
        # Only look at the text before the extension's digits: "ext", "x" are not vanity.
        cut = raw.rfind(extension)
        raw = raw[:cut] if cut >= 0 else raw
        raw = re.sub(r"(?i)(?:e?xt(?:ension|n)?|x|int|#)[\s.:,-]*$", "", raw.rstrip())
    return len(_LETTER.findall(raw)) >= 3


def e164_key(e164: str) -> int:
    """The merge key of an E.164 number: its digits as an integer (unique: no leading zero)."""
    return int(e164[1:])


def key_e164(key: int) -> str:
    """The E.164 string of a merge key."""
    return f"+{key}"


def mask(e164: str) -> str:
    """A phone number as logs show it (`+1415555****`): personal data stays out of logs."""
    return e164[:-4] + "****" if len(e164) > 4 else "****"
