"""Inbound SMS (`dncsync serve`'s webhook): what a text asks for, and its signature.

Pure: no I/O, no clock. A text whose whole body is an opt-out keyword (trimmed, any case,
punctuation dropped: "Stop.", "STOP!", "opt-out") revokes consent to be called (FCC 24-24:
STOP, QUIT, END, REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE; carriers treat STOPALL and OPTOUT so).
A longer text that contains one ("please stop calling me") may well be a revocation by
"any reasonable means", but reading intent is a person's job: it is kept for review rather
than acted on, or ignored, silently. START and UNSTOP give texting consent back, which is not
consent to be called: they are recorded and remove nothing.

The provider signs each webhook (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed by the
account's auth token, over the full URL it posted to followed by every form parameter's name
and value, sorted by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from enum import StrEnum
from xml.sax.saxutils import escape

# The FCC's list (24-24, 2024) and the two carriers honour as well.
DEFAULT_KEYWORDS = (
    "STOP",
    "QUIT",
    "END",
    "REVOKE",
    "OPT OUT",
    "CANCEL",
    "UNSUBSCRIBE",
    "STOPALL",
    "OPTOUT",
)
RESUME_KEYWORDS = ("START", "UNSTOP")
_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
MAX_BODY_CHARS = 1600  # the longest message the provider delivers (10 segments)


class TextKind(StrEnum):
    """What an inbound text asks for."""

    OPT_OUT = "opt_out"  # the body is a keyword: the sender's number is an opt-out
    REVIEW = "review"  # a longer text containing a keyword: a person reads it
    RESUME = "resume"  # START / UNSTOP: recorded; texting consent is not calling consent
    OTHER = "other"  # anything else: answered, not kept


def normalized(body: str) -> str:
    """Upper case, punctuation dropped (a hyphen or a dot is a space), spaces collapsed."""
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", body.upper())).strip()


def keyword_set(keywords: Iterable[str]) -> frozenset[str]:
    """Configured keywords as bodies are compared with them."""
    return frozenset(k for k in (normalized(w) for w in keywords) if k)


def classify(body: str, keywords: frozenset[str]) -> TextKind:
    """What a text asks for (`keywords` as `keyword_set` gives them)."""
    text = normalized(body)
    if text in keywords:
        return TextKind.OPT_OUT
    if text in RESUME_KEYWORDS:
        return TextKind.RESUME
    padded = f" {text} "
    if any(f" {keyword} " in padded for keyword in keywords):
        return TextKind.REVIEW
    return TextKind.OTHER


def signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The provider's signature of a form POST to `url` with `params`."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(
    token: str, url: str, params: Iterable[tuple[str, str]], given: str | None
) -> bool:
    """Whether `given` is the signature of this request (constant-time comparison)."""
    if not given:
        return False
    return hmac.compare_digest(signature(token, url, params).encode(), given.encode())


def twiml(reply: str | None) -> str:
    """The answer the provider expects: empty (send nothing back), or one reply text."""
    if not reply:
        return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Message>{escape(reply)}</Message></Response>"
    )


__all__ = [
    "DEFAULT_KEYWORDS",
    "MAX_BODY_CHARS",
    "RESUME_KEYWORDS",
    "TextKind",
    "classify",
    "keyword_set",
    "normalized",
    "signature",
    "signature_valid",
    "twiml",
]
