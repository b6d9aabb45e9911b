"""Structured logs: one structlog setup for every command, masking numbers and secrets.

Every event goes through the same processors, in this order:

    contextvars (run_id) -> level -> UTC timestamp -> exception text
        -> redact secrets -> mask phone numbers -> audit file (when a run records one)
        -> console level filter -> JSON or console renderer (stderr)

Masking happens before the audit sink and the renderer, so neither the audit file nor the
console ever sees a full number or a secret (DOMAIN.md principle 7). The audit sink comes
before the console level filter: the audit file keeps every event of the run, whatever the
console shows. Logs go to stderr so that a command's own output (`--format json`) stays clean.

structlog (with rich, which its console renderer uses) costs a command about 0.13 s to import,
more than `dncsync validate` spends on many files. So it is imported on first use:
`configure_logging` only records the setup until structlog is loaded, and every module logs
through `logger()`, which loads structlog and applies the recorded setup first. Either order
(configure, then import a logging module; or the reverse) ends with the same configuration.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from structlog.typing import EventDict, Processor, WrappedLogger

    from dncsync.audit import AuditLog

MASK = "*"
REDACTED = "***"


class LogFormat(StrEnum):
    """How events are printed on the console."""

    JSON = "json"  # one JSON object per line, the same events as the audit file
    CONSOLE = "console"  # aligned, human-readable lines


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
_PHONE_PATTERNS = (_E164, _NANP_FORMATTED, _DIGIT_RUN)
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


# --- processors ----------------------------------------------------------------------------


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


def scrub_processor(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor form of `scrub`."""
    return scrub(event_dict)


_active_audit: ContextVar[AuditLog | None] = ContextVar("dncsync_audit", default=None)


def audit_sink(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Append the (already scrubbed) event to the run's audit file, if one is recording."""
    audit = _active_audit.get()
    if audit is not None and not audit.closed:
        audit.append(event_dict)
    return event_dict


class _ConsoleLevelFilter:
    """Drop events below the console level, after the audit file has kept them."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __call__(self, _logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        level = logging.getLevelNamesMapping().get(method.upper(), logging.INFO)
        if level < self.level:
            raise _structlog().DropEvent
        return event_dict


def shared_processors() -> list[Processor]:
    """Processors every event passes through before any output (tests capture after these)."""
    structlog = _structlog()
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub_processor,
    ]


def configure_logging(
    log_format: LogFormat | str = LogFormat.CONSOLE,
    *,
    level: str | int = "info",
    stream: TextIO | None = None,
    quiet: bool = False,
) -> None:
    """Set up structlog for a command: masking, run_id, audit sink, console rendering.

    Applied at once when structlog is loaded, else when it is first used (`logger()`).
    """
    fmt = LogFormat(log_format)
    out = stream if stream is not None else sys.stderr
    numeric = level if isinstance(level, int) else logging.getLevelNamesMapping()[level.upper()]
    console_level = logging.CRITICAL + 10 if quiet else numeric
    global _pending
    with _setup_lock:
        _pending = lambda structlog: _configure(structlog, fmt, out, console_level)  # noqa: E731
    if "structlog" in sys.modules:
        _structlog()


_setup_lock = threading.RLock()  # configuring calls shared_processors(), which asks again
_pending: Callable[[ModuleType], None] | None = None


def _structlog() -> ModuleType:
    """structlog, imported, with the last recorded setup applied."""
    global _pending
    import structlog

    with _setup_lock:
        apply, _pending = _pending, None
        if apply is not None:
            apply(structlog)
    return structlog


def _configure(structlog: ModuleType, fmt: LogFormat, out: TextIO, console_level: int) -> None:
    renderer: Processor
    if fmt is LogFormat.JSON:
        renderer = structlog.processors.JSONRenderer(sort_keys=False, default=str)
    else:
        colors = bool(getattr(out, "isatty", lambda: False)())
        renderer = structlog.dev.ConsoleRenderer(colors=colors)
    structlog.configure(
        processors=[
            *shared_processors(),
            audit_sink,
            _ConsoleLevelFilter(console_level),
            renderer,
        ],
        # Every level reaches the processors: the audit file keeps what the console hides.
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


@contextmanager
def recording(run_id: str, audit: AuditLog | None = None, **context: Any) -> Iterator[None]:
    """Bind `run_id` (and any context) to every event, and send events to `audit` if given.

    Contextvars follow asyncio tasks created inside the block, so events logged by a run's
    tasks carry the run id and reach its audit file.
    """
    structlog = _structlog()
    token = _active_audit.set(audit)
    try:
        with structlog.contextvars.bound_contextvars(run_id=run_id, **context):
            yield
    finally:
        _active_audit.reset(token)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; `name` becomes the `logger` key when given."""
    logger = _structlog().get_logger()
    return logger.bind(logger=name) if name else logger


def logger(*factory_args: Any) -> Any:
    """`structlog.get_logger(*factory_args)`, with the recorded setup applied first.

    Modules that log take their logger from here rather than from structlog, so importing
    them is what loads structlog (see the module docstring).
    """
    return _structlog().get_logger(*factory_args)


def known_secret_values() -> Iterable[str]:
    """The secret values registered so far (for tests that assert they never leak)."""
    with _known_secrets_lock:
        return tuple(_known_secrets)


__all__ = [
    "LogFormat",
    "audit_sink",
    "configure_logging",
    "get_logger",
    "is_secret_key",
    "known_secret_values",
    "logger",
    "mask_phone",
    "mask_text",
    "recording",
    "redact_text",
    "register_secret",
    "scrub",
    "shared_processors",
]
