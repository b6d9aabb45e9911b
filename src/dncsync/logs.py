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
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO

# Masking and redaction live in `dncsync.privacy`; the names stay importable from here.
from dncsync.privacy import (
    is_secret_key,
    known_secret_values,
    mask_phone,
    mask_text,
    redact_text,
    register_secret,
    scrub,
)

if TYPE_CHECKING:
    from structlog.typing import EventDict, Processor, WrappedLogger

    from dncsync.audit import AuditLog


class LogFormat(StrEnum):
    """How events are printed on the console."""

    JSON = "json"  # one JSON object per line, the same events as the audit file
    CONSOLE = "console"  # aligned, human-readable lines


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
