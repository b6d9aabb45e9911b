"""dncsync's one error tree: each class carries its exit code and whether it is worth a retry.

    DncsyncError                 1  a bug: should not happen
    ├── InputError               2  bad usage or unreadable input (missing file, no bucket, not CSV)
    ├── ConfigError              3  invalid configuration                             fatal
    │   ├── AuthError            3  the platform refused the credentials              fatal
    │   └── ListNotFound         3  the list or group the target names does not exist fatal
    ├── PartialFailure           4  a batch or record not acknowledged after retries
    │   ├── RequestRefused       4  the platform refused one request (other 4xx)      skippable
    │   ├── PlatformUnavailable  4  429, 5xx, a timeout or a dropped connection       retriable
    │   │   └── PlatformUnreachable 4  no answer at all for a whole retry budget    fatal
    │   ├── AnswerRefused        4  an answer not taken (too large, unreadable, a     skippable
    │   │                           link elsewhere, pages that do not advance)
    │   ├── NumberNotSendable    4  a number the platform's form cannot carry         skippable
    │   └── RunIncomplete        4  the run ended with numbers not acknowledged
    ├── RunFailed            1..6  targets ended differently: the most severe code wins
    ├── RunInterrupted   130, 143  SIGINT or SIGTERM: no new batch, what was in flight settled
    ├── SafetyStop               5  a run stopped before any write (mass removal, empty source)
    │   ├── AlreadyRunning       5  another run of the same target holds the lock
    │   └── RunStopped           5  the run ended with a target stopped for safety
    └── DriftFound               6  reconcile found the platform differs from what it should hold
        ├── RunDrifted           6  `sync --verify` read back a platform that differs
        └── AuditChainBroken     6  an audit file no longer matches what was recorded

    Interrupted (BaseException) 130, 143  the signal itself, on its way to the run's end

`fatal`: every request to the target would fail the same way, so the target stops.
`retriable`: the same request may succeed later, within the retry budget.
Neither (skippable): this request or number failed; the batch is reported and the run goes on.

`error_for_status` is the one table from an HTTP status (and the platform's error code) to a
class of this tree; `net.retry.classify` reads its answer. `Failure` is how one number's
failure travels from the platform's answer to the journal and the report: a value with its
code and message that prints as the one line an operator reads.

The messages are meant for an operator: one line that says what is wrong and what to do.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from enum import IntEnum
from typing import Any, ClassVar


class ExitCode(IntEnum):
    """The process exit codes, the same for every command (docs/exit-codes.md)."""

    OK = 0
    INTERNAL = 1
    USAGE_OR_INPUT = 2
    CONFIG_OR_AUTH = 3
    PARTIAL_FAILURE = 4
    SAFETY_STOP = 5
    DRIFT = 6
    INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
    TERMINATED = 143  # SIGTERM: 128 + 15


# When targets end differently, the run exits with the most severe: an interrupt first, then
# a bug, configuration, input, unacknowledged numbers, a safety stop, drift.
SEVERITY: tuple[ExitCode, ...] = (
    ExitCode.TERMINATED,
    ExitCode.INTERRUPTED,
    ExitCode.INTERNAL,
    ExitCode.CONFIG_OR_AUTH,
    ExitCode.USAGE_OR_INPUT,
    ExitCode.PARTIAL_FAILURE,
    ExitCode.SAFETY_STOP,
    ExitCode.DRIFT,
    ExitCode.OK,
)


def most_severe(codes: Iterable[ExitCode]) -> ExitCode:
    """The exit code that wins among targets' (`SEVERITY` order); OK when there are none."""
    found = set(codes)
    return next((code for code in SEVERITY if code in found), ExitCode.OK)


class DncsyncError(Exception):
    """Base of every error dncsync raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL
    retriable: ClassVar[bool] = False
    fatal: ClassVar[bool] = False


class InputError(DncsyncError):
    """Bad usage or an input that cannot be read."""

    exit_code = ExitCode.USAGE_OR_INPUT


class ConfigError(DncsyncError):
    """The configuration is invalid; the message names the key."""

    exit_code = ExitCode.CONFIG_OR_AUTH
    fatal = True


class AuthError(ConfigError):
    """The platform refused the credentials (or denied the permissions)."""


class ListNotFound(ConfigError):
    """The list or group the target names does not exist on the platform."""


class PartialFailure(DncsyncError):
    """Some batch or record was not acknowledged after retries."""

    exit_code = ExitCode.PARTIAL_FAILURE


class RequestRefused(PartialFailure):
    """The platform refused one request; the others may still succeed."""


class PlatformUnavailable(PartialFailure):
    """The platform did not answer usefully (429, 5xx, a timeout, a dropped connection)."""

    retriable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after: str | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class PlatformUnreachable(PlatformUnavailable):
    """No answer at all (refused, dropped or stalled connections) for a whole retry budget:
    every other request to the target would wait as long for nothing, so the target stops.
    The message names the host, the target and what to check."""

    retriable = False
    fatal = True


class AnswerRefused(PartialFailure):
    """An answer dncsync will not take: larger than its cap, unreadable (not UTF-8, a giant
    field), a link that is not a URL or leads elsewhere than the platform, or paging that does
    not advance. A batch answered so is failed; a read answered so fails its target."""


class NumberNotSendable(PartialFailure):
    """A number the platform's form cannot carry; `code` is what it is reported failed under."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.args[0]}"


class SafetyStop(DncsyncError):
    """The run stopped before any write because it would be unsafe."""

    exit_code = ExitCode.SAFETY_STOP


class AlreadyRunning(SafetyStop):
    """Another run of the same target holds the lock: overlapping scheduled runs stop at once."""


class LockLost(AlreadyRunning):
    """A list's lock was lost mid-push (the database ended the session holding it): another
    process may own the list now, so this one writes nothing more for it and tries later."""


class DriftFound(DncsyncError):
    """The platform's list differs from what it should hold."""

    exit_code = ExitCode.DRIFT


class AuditChainBroken(DriftFound):
    """An audit file no longer matches what was recorded (exit 6, like other drift)."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so no handler of
    errors catches it on its way to the run's end, which records the run as interrupted."""

    def __init__(self, signum: int) -> None:
        name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
        super().__init__(f"interrupted by {name}")
        self.signum = signum
        self.exit_code = ExitCode.INTERRUPTED if signum == signal.SIGINT else ExitCode.TERMINATED


class RunEnded(DncsyncError):
    """A run that ended short of success but still has a summary and evidence to show."""

    def __init__(self, message: str, result: Any, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.result = result  # the run's result (`outcome.RunResult`)
        if exit_code is not None:
            self.exit_code = exit_code


class RunFailed(RunEnded):
    """Some target failed outright (configuration, credentials, the platform, a bug): the
    others ran; the exit code is the most severe of the targets'."""


class RunInterrupted(RunEnded):
    """The run was interrupted: no new batch was sent, what was in flight was settled."""


class RunIncomplete(RunEnded, PartialFailure):
    """Some numbers were not acknowledged after retries."""


class RunStopped(RunEnded, SafetyStop):
    """A target's plan was refused for safety; the other targets ran."""


class RunDrifted(RunEnded, DriftFound):
    """`sync --verify` read a platform back and it does not hold what it should."""


# --- from an HTTP answer to the tree -----------------------------------------------------------

# Codes that mean the list itself cannot take numbers: every batch would fail the same way.
FATAL_CODES = frozenset({"dnc.source.operation.not.supported"})

_STATUS_ERRORS: dict[int, type[DncsyncError]] = {
    401: AuthError,  # after one fresh token
    403: AuthError,
    404: ListNotFound,
    429: PlatformUnavailable,
    500: PlatformUnavailable,
    502: PlatformUnavailable,
    503: PlatformUnavailable,
    504: PlatformUnavailable,
}


def error_for_status(status: int, code: str | None = None) -> type[DncsyncError] | None:
    """The class of error an HTTP answer means; None for a success (2xx)."""
    if 200 <= status < 300:
        return None
    if code is not None and code in FATAL_CODES:
        return ConfigError
    return _STATUS_ERRORS.get(status, RequestRefused)


class Failure(str):
    """One number's failure: the platform's (or dncsync's) code and message, as a value.

    It prints as `code: message`, the line the journal, the console and the report show, and
    keeps both parts, so nothing downstream parses the line back apart.
    """

    __slots__ = ("code", "message")
    code: str
    message: str

    def __new__(cls, code: str, message: str = "") -> Failure:
        text = f"{code}: {message}" if message else code
        failure = super().__new__(cls, text)
        failure.code = code
        failure.message = message
        return failure

    def __reduce__(self) -> tuple[Any, ...]:
        return (Failure, (self.code, self.message))
