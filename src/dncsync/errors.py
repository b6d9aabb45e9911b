"""dncsync's errors, each carrying the exit code the CLI maps it to.

    DncsyncError                 1  a bug: should not happen
    ├── InputError               2  bad usage or unreadable input (missing file, no bucket, not CSV)
    ├── ConfigError              3  invalid configuration
    │   └── AuthError            3  the platform refused the credentials
    ├── PartialFailure           4  a batch or record not acknowledged after retries
    ├── SafetyStop               5  a run stopped before any write (mass removal, empty source)
    │   └── AlreadyRunning       5  another run of the same target holds the lock
    └── DriftFound               6  reconcile found the platform differs from what it should hold

The messages are meant for an operator: one line that says what is wrong and what to do.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes, the same for every command (docs/exit-codes.md)."""

    OK = 0
    INTERNAL = 1
    USAGE_OR_INPUT = 2
    CONFIG_OR_AUTH = 3
    PARTIAL_FAILURE = 4
    SAFETY_STOP = 5
    DRIFT = 6


class DncsyncError(Exception):
    """Base of every error dncsync raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL


class InputError(DncsyncError):
    """Bad usage or an input that cannot be read."""

    exit_code = ExitCode.USAGE_OR_INPUT


class ConfigError(DncsyncError):
    """The configuration is invalid; the message names the key."""

    exit_code = ExitCode.CONFIG_OR_AUTH


class AuthError(ConfigError):
    """The platform refused the credentials."""


class PartialFailure(DncsyncError):
    """Some batch or record was not acknowledged after retries."""

    exit_code = ExitCode.PARTIAL_FAILURE


class SafetyStop(DncsyncError):
    """The run stopped before any write because it would be unsafe."""

    exit_code = ExitCode.SAFETY_STOP


class DriftFound(DncsyncError):
    """The platform's list differs from what it should hold."""

    exit_code = ExitCode.DRIFT


class AlreadyRunning(SafetyStop):
    """Another run of the same target holds the lock: overlapping scheduled runs stop at once."""
