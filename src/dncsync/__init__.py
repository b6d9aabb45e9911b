"""dncsync: keep contact-center do-not-call lists exactly in sync with compliance sources."""

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


def __getattr__(name: str) -> str:
    # The version is read from the installed metadata on first use: importlib.metadata costs
    # every command about 0.05 s to import, and only reports and the User-Agent need it.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib.metadata

    try:
        version = importlib.metadata.version("dncsync")
    except importlib.metadata.PackageNotFoundError:  # a source tree, not installed
        version = "0.0.0"
    globals()["__version__"] = version
    return version


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
