"""dncsync: keep contact-center do-not-call lists exactly in sync with compliance sources."""

import importlib.metadata as _metadata

from dncsync.errors import (
    AlreadyRunning,
    AuthError,
    ConfigError,
    DncsyncError,
    DriftFound,
    ExitCode,
    InputError,
    PartialFailure,
    SafetyStop,
)
from dncsync.model import (
    Accounting,
    Entry,
    ExpirationPolicy,
    Reason,
    Reject,
    RejectReason,
    SourceInfo,
    Strictness,
)

try:
    __version__ = _metadata.version("dncsync")
except _metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "Accounting",
    "AlreadyRunning",
    "AuthError",
    "ConfigError",
    "DncsyncError",
    "DriftFound",
    "Entry",
    "ExitCode",
    "ExpirationPolicy",
    "InputError",
    "PartialFailure",
    "Reason",
    "Reject",
    "RejectReason",
    "SafetyStop",
    "SourceInfo",
    "Strictness",
    "__version__",
]
