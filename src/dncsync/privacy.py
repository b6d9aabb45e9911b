"""Personal data and secrets: masking phone numbers, redacting credentials (DOMAIN.md 7).

Pure text functions, used by the logs, the reports and every message that may echo a number
or a credential back. The logs' processors (`dncsync.logs`) call `scrub` on every event.
`printable` makes text from elsewhere (a platform's error message, a file's content) safe to
echo on a terminal: no escape sequence, no line of its own.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "*"
REDACTED = "***"
SAMPLE_SIZE = 5  # masked examples shown per kind of number (plan, drift, late entries)


# --- phone numbers -------------------------------------------------------------------------

# E.164, possibly written with separators: a leading + and 7 to 15 digits. The plus sign makes
# false positives rare, so this form is masked wherever it appears.
_E164 = re.compile(r"\+\d(?:[ \-.()]{0,2}\d){6,14}(?![\d*])")
# (None of the patterns matches a number already masked: `+1415555****` stays as it is.)
# A bare run of 10 to 15 digits, not glued to letters or other digits (so hex digests, UUIDs
# and dates are left alone): national NANP numbers, 1+10 digits, CXone's 011-prefixed form.
_DIGIT_RUN = re.compile(r"(?<![\w.\-])\d{10,15}(?![\w*])")
# North American numbers written for people: (415) 555-2671, 415-555-2671, 415.555.2671.
_NANP_FORMATTED = re.compile(r"(?<![\w])(?:1[ \-.])?\(?\d{3}\)?[ \-.]\d{3}[ \-.]\d{4}(?![\w*])")
# A national number glued into a name by `_` or `-` (optouts-4155552671.csv, dnc_4155552671):
# exactly 10 or 11 digits, so a UUID's 12-digit group or a float's decimals are left alone.
_NANP_IN_NAME = re.compile(r"(?<![A-Za-z0-9.])\d{10,11}(?![A-Za-z0-9*])")
_PHONE_PATTERNS = (_E164, _NANP_FORMATTED, _DIGIT_RUN, _NANP_IN_NAME)
_PHONE_KEY = re.compile(r"phone|msisdn", re.IGNORECASE)


def _mask_last_digits(text: str, count: int = 4) -> str:
    """Replace the last `count` digits of `text` with the mask character, keeping separators."""
    chars = list(text)
    remaining = count
    for index in range(len(chars) - 1, -1, -1):
        if remaining == 0:
            break
        if chars[index].isdigit():
            chars[index] = MASK
            remaining -= 1
    return "".join(chars)


def mask_phone(phone: str) -> str:
    """Mask one phone number for logs and reports: `+14155552671` -> `+1415555****`."""
    if phone.endswith(MASK * 4):  # masked already: masking twice would hide the prefix too
        return phone
    return _mask_last_digits(phone)


def mask_text(text: str) -> str:
    """Mask every phone-number-looking run in free text, keeping everything else as is."""
    for pattern in _PHONE_PATTERNS:
        text = pattern.sub(lambda match: _mask_last_digits(match.group(0)), text)
    return text


# --- secrets -------------------------------------------------------------------------------

_SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
        "credentials",
    }
)
_SECRET_SUFFIXES = ("_token", "_secret", "_password", "_key_secret", "_api_key")
# Credentials that show up inside values: HTTP auth headers and signed or token-carrying URLs.
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
_URL_CREDENTIAL = re.compile(
    r"([?&](?:access_token|refresh_token|id_token|token|client_secret|password|signature|sig"
    r"|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s\"']+",
    re.IGNORECASE,
)
# `token=...`, `"client_secret": "..."` and the like inside free text (error bodies, reprs).
_KEY_VALUE_CREDENTIAL = re.compile(
    r"""(\b(?:access_token|refresh_token|id_token|token|client_secret|secret|password"""
    r"""|api_key|access_key_secret)\b["']?\s*[=:]\s*["']?)[^\s&"',;}]+""",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^/@\s:]+:[^/@\s]+@", re.IGNORECASE)

# Secret values known to this process (read from the environment by the configuration):
# scrubbed wherever they appear, whatever the key. Shorter values would mask too much text.
_MIN_SECRET_LENGTH = 6
_known_secrets: set[str] = set()
_known_secrets_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Remember secret values (tokens, client secrets) so no log line can carry them."""
    with _known_secrets_lock:
        _known_secrets.update(v for v in values if v and len(v) >= _MIN_SECRET_LENGTH)


def is_secret_key(key: str) -> bool:
    """True for keys whose values are credentials (`client_secret`, `Authorization`, ...)."""
    normalized = key.lower().replace("-", "_")
    return normalized in _SECRET_KEYS or normalized.endswith(_SECRET_SUFFIXES)


def redact_text(text: str) -> str:
    """Remove credentials from free text: auth headers, URL tokens and known secret values."""
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _URL_CREDENTIAL.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _KEY_VALUE_CREDENTIAL.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    with _known_secrets_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


# --- events ---------------------------------------------------------------------------------


def _clean(value: Any, key: str | None) -> Any:
    """Redact and mask one value, recursing through containers."""
    if key is not None and is_secret_key(key):
        return REDACTED if value not in (None, "") else value
    if isinstance(value, str):
        return mask_text(redact_text(value))
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        # Counts and byte sizes are ints too; only a key that names a phone marks a number.
        return mask_text(str(value)) if key is not None and _PHONE_KEY.search(key) else value
    if isinstance(value, Mapping):
        return {_clean_key(k): _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item, key) for item in value]
    return mask_text(redact_text(str(value)))


def _clean_key(key: object) -> str:
    """Dictionary keys can be numbers too (`{"+14155552671": "error"}`)."""
    return mask_text(str(key))


def scrub(event_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of an event with secrets redacted and phone numbers masked."""
    return {_clean_key(key): _clean(value, str(key)) for key, value in event_dict.items()}


# --- text echoed on a terminal ------------------------------------------------------------

# C0 and C1 controls and DEL (ESC starts terminal escape sequences; CR and BS overwrite what
# was printed), and the bidirectional overrides that reorder what a reader sees.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")


def printable(text: str) -> str:
    """Text safe to echo on one terminal line: control characters stripped, line breaks and
    tabs turned into one space (so platform text cannot forge a line or move the cursor)."""
    return _CONTROLS.sub("", _LINE_BREAKS.sub(" ", text))


def known_secret_values() -> Iterable[str]:
    """The secret values registered so far (for tests that assert they never leak)."""
    with _known_secrets_lock:
        return tuple(_known_secrets)


__all__ = [
    "MASK",
    "REDACTED",
    "SAMPLE_SIZE",
    "is_secret_key",
    "known_secret_values",
    "mask_phone",
    "mask_text",
    "printable",
    "redact_text",
    "register_secret",
    "scrub",
]
